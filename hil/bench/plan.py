"""What a bench run is about and what it expects: the station, the limits, the numbers derived from the scenario.

:class:`Station` holds what a run is about (the scenario, the clock, the port
settings, the output directory); every plug and phase of a run sees the same one.
:class:`Limits` holds every limit and phase parameter of the built-in phases,
each declared once with its unit and meaning (docs/hil-bench.md's table is
generated from these declarations; ``--limit KEY=VALUE`` overrides one).
:class:`Plan` is a run's limits plus what follows from its scenario: how many
strokes prime the catheter, and the reference run, ``pumpsim run`` of the same
scenario and seed over the same time, which the bench must reproduce. Its
:meth:`Plan.args` are the values OpenHTF substitutes into the phases'
measurement limits (``in_range(maximum="{rtt_p99_max_ms}")``), so the record
shows the numbers each measurement was held to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pumpsim.engine import simulate
from pumpsim.engine.ports import PlantParams
from pumpsim.plant.battery import Battery
from pumpsim.results.records import Summary
from pumpsim.scenario import Scenario
from pumpsim.units import MS_PER_DAY, MS_PER_H, MS_PER_S

from ..clock import BEHIND_MS
from ..link import RECONNECT_S, RETRIES, TIMEOUT_S


@dataclass(frozen=True)
class Station:
    """What one bench run is about, shared by its plugs and phases.

    *clock* ``virtual`` moves the bench's clock with ADVANCE as fast as the link
    allows; ``realtime`` paces it by the wall clock at *speed*. *deliver_ms* is
    how much of the scenario the ``deliver`` phase runs (None: all of it).
    *out_dir* receives the record and each phase's files (None: nowhere).
    """

    scenario: Scenario
    seed: int | None = None
    clock: str = "virtual"
    speed: float = 1.0
    deliver_ms: int | None = None
    out_dir: Path | None = None
    baudrate: int = 115200
    timeout_s: float = TIMEOUT_S
    retries: int = RETRIES
    reconnect_s: float = RECONNECT_S
    #: Settings for instrument plugs (``--setting KEY=VALUE``), e.g. {"balance_unit": "g"}.
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.clock not in ("virtual", "realtime"):
            raise ValueError(f"clock = {self.clock!r}: expected virtual or realtime")
        if not 0 < self.speed <= 1e9:
            raise ValueError(f"speed = {self.speed:g}: expected a factor above 0 and at most 1e9")

    @property
    def params(self) -> PlantParams:
        return PlantParams.of(self.scenario)

    @property
    def run_seed(self) -> int:
        return self.scenario.seed if self.seed is None else self.seed

_NEW_BATTERY = Battery()


def _limit(default: Any, unit: str, doc: str) -> Any:
    return field(default=default, metadata={"unit": unit, "doc": doc})


@dataclass(frozen=True)
class Limits:
    """Limits and parameters of the built-in phases (see the module docs); each field documents itself."""

    rtt_p99_max_ms: float = _limit(10.0, "ms", "connect, deliver: 99th percentile of a request's round trip. A "
                                               "PING and its reply take ~2.4 ms of wire time on a UART at 115200 "
                                               "baud; a pty ~0.3 ms.")
    battery_min_mv: int = _limit(_NEW_BATTERY.empty_mv, "mV", "self_test: lowest battery reading accepted "
                                                              "(the battery model's end of service, "
                                                              "pumpsim/plant/battery.py).")
    battery_max_mv: int = _limit(_NEW_BATTERY.full_mv, "mV", "self_test: highest battery reading accepted (the "
                                                             "battery model's new cell).")
    prime_period_ms: int = _limit(1000, "ms", "prime: time between priming strokes.")
    volume_tolerance: float = _limit(0.02, "fraction", "prime: pumped volume within this fraction of strokes x "
                                                       "stroke volume x (1 + calibration error).")
    delivery_tolerance: float = _limit(0.01, "fraction", "deliver: strokes and delivered volume within this "
                                                         "fraction of the reference run (`pumpsim run`, same "
                                                         "scenario and seed); over a lossless link they are equal.")
    alarm_tolerance_h: float = _limit(1.0, "h", "alarm_check: each alarm raised within this time of the "
                                                "reference run's.")
    lateness_p99_max_ms: float = _limit(BEHIND_MS, "ms", "deliver, `--clock realtime` only: 99th percentile of "
                                                         "the lateness of the run's stops.")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{f.name} = {value!r}: expected a number >= 0 ({f.metadata['unit']})")
        if self.battery_min_mv > self.battery_max_mv:
            raise ValueError(f"battery_min_mv = {self.battery_min_mv}: expected <= battery_max_mv "
                             f"= {self.battery_max_mv}")
        if self.prime_period_ms < 1:
            raise ValueError(f"prime_period_ms = {self.prime_period_ms}: expected >= 1 ms")

    def overridden(self, pairs: dict[str, str]) -> Limits:
        """These limits with *pairs* (``{"rtt_p99_max_ms": "5"}``) applied. Raises ValueError naming the key."""
        types = {f.name: f for f in fields(self)}
        values: dict[str, Any] = {}
        for key, text in pairs.items():
            f = types.get(key)
            if f is None:
                raise ValueError(f"{key}: not a limit (expected one of {', '.join(types)})")
            try:
                values[key] = int(text) if f.type in ("int", int) else float(text)
            except ValueError:
                raise ValueError(f"{key} = {text!r}: expected a number in {f.metadata['unit']}") from None
        return replace(self, **values)

    @staticmethod
    def docs() -> list[tuple[str, str, str, str]]:
        """(key, default, unit, meaning) of every limit, in order."""
        return [(f.name, f"{f.default:g}", str(f.metadata["unit"]), str(f.metadata["doc"])) for f in fields(Limits)]


def prime_strokes(station: Station) -> int:
    """Strokes that fill the pump's internal tubing and the catheter once: ceil(dead volume / stroke volume).

    ``analytic``: ceil(234,000 nL / 250 nL) = 936 strokes.
    """
    p = station.params
    return -(-p.dead_nl * 1000 // p.stroke_volume_pl)


@dataclass(frozen=True)
class Plan:
    """A run's station and limits, and what follows from them (see the module docs)."""

    station: Station
    limits: Limits
    prime_strokes: int
    #: ``pumpsim run`` of the scenario and seed over the ``deliver`` phase's time (no trace).
    reference: Summary

    @classmethod
    def of(cls, station: Station, limits: Limits | None = None) -> Plan:
        ref = simulate(station.scenario, seed=station.seed, duration_ms=station.deliver_ms, trace=False)
        return cls(station, limits or Limits(), prime_strokes(station), ref.summary)

    @property
    def prime_nominal_ul(self) -> float:
        """What the priming strokes pump with the pump's calibration error: N x stroke x (1 + error), µL."""
        p = self.station.params
        return self.prime_strokes * p.stroke_volume_pl * (1 + p.calibration_error) / 1e6

    @property
    def deliver_days(self) -> float:
        return self.reference["duration_s"] * MS_PER_S / MS_PER_DAY

    def args(self) -> dict[str, float]:
        """The values the phases' measurement limits name (``"{key}"``)."""
        lim, ref = self.limits, self.reference
        out = {f.name: float(getattr(lim, f.name)) for f in fields(lim)}
        tol, vol = lim.delivery_tolerance, lim.volume_tolerance
        out.update(prime_strokes=float(self.prime_strokes),
                   prime_ul_lo=self.prime_nominal_ul * (1 - vol), prime_ul_hi=self.prime_nominal_ul * (1 + vol),
                   strokes_lo=math.floor(ref["strokes"] * (1 - tol)), strokes_hi=math.ceil(ref["strokes"] * (1 + tol)),
                   delivered_ml_lo=ref["delivered_ml"] * (1 - tol), delivered_ml_hi=ref["delivered_ml"] * (1 + tol))
        return out

    def reference_alarms(self) -> list[tuple[str, float]]:
        """(alarm, raised at in hours) of the reference run, in order."""
        return [(a["alarm"], hours(a["t_s"])) for a in self.reference["alarms"]]


def hours(t_s: float) -> float:
    """Seconds to hours."""
    return t_s * MS_PER_S / MS_PER_H
