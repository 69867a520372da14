"""How much a scenario's run will write, estimated before running it.

A 30-year scenario with a 1-minute ``trace_interval`` is valid, and writes
about a gigabyte. ``pumpsim validate`` states the estimate and ``pumpsim run``
refuses above :data:`OUTPUT_LIMIT_BYTES` unless given ``--force``.

The estimate (:func:`estimate_output_bytes`) is::

    trace rows  = duration // trace_interval + 1 + event instants
    bytes       = trace rows x TRACE_ROW_BYTES + sum(events of each kind x its EVENT_BYTES)
                  + SUMMARY_BYTES + len(scenario source)
                  [+ trace rows x PK_ROW_BYTES + trial minutes x TRIAL_ROW_BYTES with a [patient] table]

Events are counted without running the engine: 3 at boot, 2 per bolus
window (periodic boluses every ``bolus_interval``, a single bolus, a
priming bolus), 4 per visit, and the alarm tones from a walk through the
firmware's reservoir *estimate*: between visits it falls at the
prescription's mean volume rate (daily dose / concentration, ``min_rate``
when stopped); from the low-reservoir threshold to the empty floor a tone
every ``non_critical_tone_interval``, at the floor a tone every
``critical_tone_interval`` until a refill. Stroke-level detail (flex steps,
bridges, the real reservoir running dry early) is left out: the estimate is
within 40 % of the real size for the built-in scenarios and the test
scenarios (tests/unit/test_sizing.py checks that against real runs), which
is what a guard against gigabytes needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_model import Prescription, PrescriptionMode, rate_pl_per_day_from_dose

from ..analysis.refill_plan import time_to_threshold
from ..units import MS_PER_DAY, MS_PER_MIN, NL_PER_ML, PL_PER_NL
from .model import Scenario, Visit

#: ``pumpsim run`` refuses to start a run whose outputs are estimated above this, unless ``--force``.
OUTPUT_LIMIT_BYTES = 200_000_000

#: Bytes per trace.csv row: measured 52-74 over the built-ins (wider as totals grow).
TRACE_ROW_BYTES = 70
#: Bytes per events.jsonl line, by kind (measured on the built-ins, rounded up).
EVENT_BYTES = {"boot": 60, "reprogram": 95, "prediction": 95, "visit": 240, "refill": 165, "bolus": 100,
               "alarm": 125, "tone": 120, "delivery_stopped": 90}
#: summary.json, trace.csv's header and slack.
SUMMARY_BYTES = 1_500
#: With a ``[patient]`` table: bytes per pk.csv row (one per trace row; measured 31) and per trial.csv row
#: (one a minute over the trial's dose and observation; measured 22).
PK_ROW_BYTES = 32
TRIAL_ROW_BYTES = 22


@dataclass(frozen=True)
class OutputEstimate:
    """What a run is expected to write."""

    trace_rows: int
    events: int
    bytes: int

    def describe(self) -> str:
        """'about 1.1 GB (trace.csv 15,768,001 rows, 12 events)'."""
        return f"about {format_bytes(self.bytes)} (trace.csv {self.trace_rows:,} rows, {self.events:,} events)"


def format_bytes(n: int) -> str:
    """A byte count in kB / MB / GB (powers of 1000), three significant digits."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def estimate_output_bytes(sc: Scenario) -> int:
    """Estimated size in bytes of the files ``pumpsim run`` writes for *sc* (see the module docstring)."""
    return estimate_output(sc).bytes


def estimate_output(sc: Scenario) -> OutputEstimate:
    """The estimate with its parts: trace rows, events, bytes."""
    counts = dict.fromkeys(EVENT_BYTES, 0)
    counts.update(boot=1, reprogram=1, prediction=1)
    instants = 1
    end = sc.duration_ms
    visits = [v for v in sc.visits if v.at_ms <= end]
    for v in visits:
        counts["visit"] += 1
        counts["prediction"] += 1
        counts["refill"] += v.refill_nl is not None
        counts["reprogram"] += v.prescription is not None
        instants += 1
    boluses = _bolus_windows(sc, visits)
    counts["bolus"] += 2 * boluses
    instants += 2 * boluses
    alarms, tones = _alarm_walk(sc, visits)
    counts["alarm"] += alarms
    counts["tone"] += tones
    instants += tones + alarms
    rows = end // sc.trace_interval_ms + 1 + instants
    events = sum(counts.values())
    size = rows * TRACE_ROW_BYTES + sum(n * EVENT_BYTES[k] for k, n in counts.items())
    if sc.patient is not None:
        size += rows * PK_ROW_BYTES
        trial = sc.patient.trial
        if trial is not None:
            size += (trial.duration_ms + trial.observe_ms) // MS_PER_MIN * TRIAL_ROW_BYTES
    return OutputEstimate(trace_rows=rows, events=events, bytes=size + SUMMARY_BYTES + len(sc.source))


def _bolus_windows(sc: Scenario, visits: list[Visit]) -> int:
    """Bolus windows over the run: periodic ones every interval, single ones and priming boluses once."""
    n = int(sc.priming_bolus)
    programs: list[tuple[int, Prescription]] = [(0, sc.prescription)]
    for v in visits:
        n += v.priming_bolus + v.bridge_bolus
        if v.prescription is not None:
            programs.append((v.at_ms, v.prescription))
    ends = [t for t, _ in programs[1:]] + [sc.duration_ms]
    for (t0, rx), t1 in zip(programs, ends, strict=True):
        if rx.mode == PrescriptionMode.PERIODIC_BOLUS:
            n += -(-(t1 - t0) // rx.bolus_interval_ms)
        elif rx.mode == PrescriptionMode.SINGLE_BOLUS:
            n += 1
    return n


def _rate_nl_per_day(rx: Prescription, conc: int, min_rate_pl_per_day: int) -> float:
    """Mean volume rate of *rx* at *conc* over a day (min_rate for stopped and after a single bolus)."""
    if rx.mode in (PrescriptionMode.STOPPED, PrescriptionMode.SINGLE_BOLUS):
        return min_rate_pl_per_day / PL_PER_NL
    return max(rate_pl_per_day_from_dose(rx.daily_dose_ng(), conc), min_rate_pl_per_day) / PL_PER_NL


def _alarm_walk(sc: Scenario, visits: list[Visit]) -> tuple[int, int]:
    """(alarm events, tones) from the firmware's estimate falling between visits at the mean rate."""
    p = sc.pump
    est = float(p.fill_nl)
    low, floor = p.low_reservoir_alarm_nl, p.empty_floor_nl
    conc, rx = sc.drug.conc_ng_per_ml, sc.prescription
    dead = p.internal_volume_nl + sc.catheter.volume_nl
    if sc.priming_bolus:
        est -= dead
    alarms = tones = 0
    t = 0
    stops: list[Visit | None] = [*visits, None]
    for v in stops:
        t1 = sc.duration_ms if v is None else v.at_ms
        rate = _rate_nl_per_day(rx, conc, p.min_rate_pl_per_day) / MS_PER_DAY  # nL per ms
        if rx.mode == PrescriptionMode.SINGLE_BOLUS:
            est -= rx.bolus_ng * NL_PER_ML / conc
        t_low = t + time_to_threshold(est, low, rate)
        t_empty = t + time_to_threshold(est, floor, rate)
        if t_low < t1:
            alarms += 1
            tones += _ticks(min(t_empty, t1) - t_low, p.non_critical_tone_interval_ms)
        if t_empty < t1:
            alarms += 2  # the empty alarm, and delivery stopped
            tones += _ticks(t1 - t_empty, p.critical_tone_interval_ms)
        est = max(float(floor), est - rate * (t1 - t))
        t = t1
        if v is not None:
            if v.conc_ng_per_ml is not None:
                conc = v.conc_ng_per_ml
            if v.prescription is not None:
                rx = v.prescription
            if v.low_reservoir_alarm_nl is not None:
                low = v.low_reservoir_alarm_nl
            if v.refill_nl is not None:
                alarms += (est <= low) + (est <= floor)  # alarms cleared by the refill
                est = min(float(v.refill_nl if v.aspirate else est + v.refill_nl), float(p.reservoir_nl))
            if v.priming_bolus:
                est -= dead
    return alarms, tones


def _ticks(span_ms: float, every_ms: int) -> int:
    """Tones in a span: one at its start, then one every *every_ms*."""
    return 0 if span_ms <= 0 else int(-(-span_ms // every_ms))
