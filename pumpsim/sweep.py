"""Monte Carlo sweeps: many runs of one scenario over seeds and parameter distributions.

``pumpsim sweep SCENARIO --runs N --vary KEY=DIST ...`` (see :mod:`pumpsim.cli`)
runs *N* simulations. For run *i*, ``SeedSequence([seed, i])`` spawns two
streams: one draws the varied parameters, the other seeds the simulation. A
run's inputs therefore depend only on (seed, i), and the aggregate is the same
whatever the number of workers, the chunk size, the scheduler, or how many times
the sweep was interrupted and resumed.

A varied value is written back into the scenario's TOML data as a quantity
string ("1.234 %", "19.5 mL") and the scenario is validated by
:func:`~pumpsim.scenario.loader.scenario_from_data`, exactly as a file would be;
a sample the loader rejects makes that run a recorded failure, not a crash.
The special key ``visit.at`` jitters every visit (including refill-plan visits)
by its own sampled offset.

Work goes through one :class:`concurrent.futures.Executor` code path: in
process (one worker), a fork-based :class:`~concurrent.futures.ProcessPoolExecutor`
(default), or a dask cluster through ``Client.get_executor()`` (dask is imported
only then). Runs are submitted in chunks, with at most two chunks per worker
in flight.

Outputs in the sweep directory: ``sweep.json`` (the configuration, written
first), ``runs.jsonl`` (one line per finished run, appended and flushed per
chunk), ``aggregate.json`` and ``aggregate.csv`` (written atomically at the end).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import copy
import csv
import hashlib
import io
import json
import math
import multiprocessing
import os
import re
import signal
import sys
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .results import write_json_atomic
from .scenario import units
from .scenario.loader import ScenarioError, parse_toml, scenario_from_data
from .scenario.model import Scenario

#: Format version of sweep.json / runs.jsonl / aggregate.json.
FORMAT = 1
#: Rough cost of one simulated device-year with trace=False, seconds (for the default chunk size).
EST_S_PER_DEVICE_YEAR = 0.05
#: Aim for tasks of about this many seconds: long enough that per-task overhead is noise.
TARGET_TASK_S = 1.0
#: Chunks in flight per worker.
IN_FLIGHT_PER_WORKER = 2
_MS_PER_DAY = 86_400_000
_Z95 = 1.959963984540054

#: Test hook: raise KeyboardInterrupt after this many runs have been written in a session.
_INTERRUPT_AFTER: int | None = None


class SweepError(ValueError):
    """A problem with what the user asked for (printed as one line, exit status 2)."""


class SweepInterrupted(Exception):
    """The sweep was stopped (Ctrl-C); everything finished so far is in ``out_dir``.

    *resumable* is False when a new sweep was stopped before its directory was
    started (while the workers were starting): nothing was written, so there
    is nothing to ``--resume``.
    """

    def __init__(self, out_dir: Path, done: int, total: int, *, resumable: bool = True) -> None:
        super().__init__(f"interrupted after {done} of {total} runs")
        self.out_dir = out_dir
        self.done = done
        self.total = total
        self.resumable = resumable


# ------------------------------------------------------------ unit families


def _scale_table(table: dict[str, Decimal]) -> Callable[[str], Decimal | None]:
    return lambda u: table.get(u)


def _scale_ratio(num: dict[str, Decimal], den: dict[str, Decimal]) -> Callable[[str], Decimal | None]:
    def scale(u: str) -> Decimal | None:
        if u.count("/") != 1:
            return None
        a, b = u.split("/")
        if a not in num or b not in den:
            return None
        return num[a] / den[b]
    return scale


@dataclass(frozen=True)
class _Family:
    name: str
    expected: str
    scale: Callable[[str], Decimal | None]


_FAMILIES = {
    f.name: f
    for f in (
        _Family("volume", units.VOLUME, _scale_table(units.VOLUME_NL)),
        _Family("mass", units.MASS, _scale_table(units.MASS_NG)),
        _Family("duration", units.DURATION, _scale_table(units.TIME_MS)),
        _Family("length", units.LENGTH, _scale_table(units.LENGTH_CM)),
        _Family("percent", units.PERCENT, _scale_table({"%": Decimal(1)})),
        _Family("concentration", units.CONCENTRATION, _scale_ratio(units.MASS_NG, units.VOLUME_NL)),
        _Family("dose rate", units.DOSE_RATE, _scale_ratio(units.MASS_NG, units.PER_DAY)),
        _Family("flow rate", units.VOLUME_RATE, _scale_ratio(units.VOLUME_NL, units.PER_DAY)),
        _Family("volume per length", units.VOLUME_PER_LENGTH, _scale_ratio(units.VOLUME_NL, units.LENGTH_CM)),
    )
}

_NUM = units.NUMBER  # the scenario loader's number syntax (ASCII digits)

_RX = {"dose": "dose rate", "rate": "flow rate", "bolus": "mass", "bolus_duration": "duration",
       "bolus_interval": "duration"}
_STEP = {"dose": "dose rate", "rate": "flow rate"}
#: Numeric keys a sweep may vary: table path -> key -> unit family.
VARIABLE_KEYS: dict[str, dict[str, str]] = {
    "": {"duration": "duration"},
    "pump": {
        "reservoir": "volume", "fill": "volume", "low_reservoir_alarm": "volume", "empty_floor": "volume",
        "stroke_volume": "volume", "calibration_error": "percent", "stroke_cv": "percent",
        "min_rate": "flow rate", "max_rate": "flow rate", "internal_volume": "volume",
        "unaspirated_volume": "volume", "non_critical_tone_interval": "duration",
        "critical_tone_interval": "duration",
    },
    "catheter": {"volume": "volume", "length": "length", "volume_per_cm": "volume per length"},
    "drug": {"concentration": "concentration"},
    "prescription": _RX,
    "prescription.step": _STEP,
    "refill_plan": {"every": "duration", "first": "duration", "until": "duration", "refill": "volume"},
    "visit": {"at": "duration", "refill": "volume", "concentration": "concentration", "dose": "dose rate",
              "rate": "flow rate", "low_reservoir_alarm": "volume"},
    "visit.prescription": _RX,
    "visit.prescription.step": _STEP,
}
#: Tables that are TOML arrays of tables: a key into one needs a 1-based index ("visit.2.refill").
_ARRAYS = {"visit", "prescription.step", "visit.prescription.step"}
#: Jitter every visit's time independently.
VISIT_AT = "visit.at"

_DISTS: dict[str, tuple[str, ...]] = {
    "normal": ("MEAN", "SD"),
    "uniform": ("LO", "HI"),
    "triangular": ("LO", "MODE", "HI"),
    "lognormal": ("MEDIAN", "GSD"),
    "choice": ("A", "B", "..."),
}
EXAMPLE = "pump.calibration_error=normal(0 %, 3 %)"


# ------------------------------------------------------------ --vary specs


@dataclass(frozen=True)
class VarySpec:
    """One ``--vary KEY=DIST`` argument, checked.

    ``values`` are the arguments in the first argument's ``unit`` (for
    lognormal the GSD is a plain number); ``path`` leads to the key in the TOML
    data, with 0-based list indices.
    """

    key: str
    dist: str
    args: tuple[str, ...]
    family: str
    unit: str
    values: tuple[float, ...]
    path: tuple[str | int, ...]
    #: ms (or other base unit) per one ``unit``: used for visit.at offsets.
    unit_scale: float = 1.0

    @property
    def text(self) -> str:
        """The normalised ``KEY=DIST(ARGS)`` (as stored in sweep.json)."""
        return f"{self.key}={self.dist}({', '.join(self.args)})"

    def center(self) -> float:
        """The distribution's central value (mean, mode, median, midpoint, first choice)."""
        v = self.values
        if self.dist == "uniform":
            return (v[0] + v[1]) / 2
        if self.dist == "triangular":
            return v[1]
        return v[0]

    def draw(self, rng: np.random.Generator, n: int | None = None) -> Any:
        """One sample (or *n*) in ``unit``; for choice, an index into ``args``."""
        v = self.values
        if self.dist == "normal":
            return rng.normal(v[0], v[1], n)
        if self.dist == "uniform":
            return rng.uniform(v[0], v[1], n)
        if self.dist == "triangular":
            return rng.triangular(v[0], v[1], v[2], n)
        if self.dist == "lognormal":
            return rng.lognormal(math.log(v[0]), math.log(v[1]), n)
        return rng.integers(len(v), size=n)

    def as_text(self, x: float) -> str:
        """A sampled number as a quantity string in ``unit``."""
        return f"{float(x):.10g} {self.unit}"

    def sample_text(self, rng: np.random.Generator) -> str:
        """Draw one value and return it as the quantity string written into the TOML data."""
        x = self.draw(rng)
        if self.dist == "choice":
            return self.args[int(x)]
        return self.as_text(x)


def _quantity(text: str, family: _Family) -> tuple[Decimal, str, Decimal] | None:
    """(number, unit as written, unit scale) if *text* is a quantity of *family*."""
    m = _NUM.match(text)
    if not m:
        return None
    try:
        value = Decimal(m.group(1))
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None
    if value and abs(value.adjusted()) > units.MAX_EXPONENT:
        return None  # reported as "not a quantity", like the scenario loader does
    unit = m.group(2).strip()
    scale = family.scale(unit.replace(" ", "").lower())
    if scale is None:
        return None
    return value, unit, scale


def _resolve_key(key: str, arg: str) -> tuple[str, tuple[str | int, ...]]:
    """(unit family, data path) of a dotted KEY; SweepError if it is not a variable numeric key."""
    if key == VISIT_AT:
        return "duration", ()
    parts = key.split(".")
    if any(p == "" for p in parts):
        raise SweepError(f"--vary {arg}: {key!r} is not a dotted TOML key such as pump.calibration_error")
    table: list[str] = []
    path: list[str | int] = []
    j = 0
    while j < len(parts) - 1:
        part = parts[j]
        if part.isdigit():
            raise SweepError(f"--vary {arg}: unexpected index {part} after {'.'.join(parts[:j]) or 'the top'}")
        table.append(part)
        path.append(part)
        tname = ".".join(table)
        if tname not in VARIABLE_KEYS:
            raise SweepError(f"--vary {arg}: no table [{tname}] with numeric keys; tables: "
                             + ", ".join(sorted(t for t in VARIABLE_KEYS if t)))
        j += 1
        if tname in _ARRAYS:
            idx = parts[j] if j < len(parts) - 1 else ""
            if not idx.isdigit() or int(idx) < 1:
                hint = " (or visit.at to jitter every visit)" if tname == "visit" else ""
                raise SweepError(f"--vary {arg}: [[{tname}]] is a list; name one entry with a 1-based index, "
                                 f"e.g. {tname}.1.{parts[-1]}{hint}")
            path.append(int(idx) - 1)
            j += 1
    tname, leaf = ".".join(table), parts[-1]
    keys = VARIABLE_KEYS[tname]
    if leaf not in keys:
        where = f"[{tname}]" if tname else "the top level"
        raise SweepError(f"--vary {arg}: {key} is not a numeric scenario key; numeric keys in {where}: "
                         + ", ".join(sorted(keys)))
    path.append(leaf)
    return keys[leaf], tuple(path)


def parse_vary(arg: str) -> VarySpec:
    """Parse one ``KEY=DIST`` argument (SweepError naming the argument if it is malformed)."""
    if "=" not in arg:
        raise SweepError(f"--vary {arg}: expected KEY=DISTRIBUTION, e.g. {EXAMPLE}")
    key, _, dist_text = arg.partition("=")
    key = key.strip()
    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*\((.*)\)\s*", dist_text)
    if not key:
        raise SweepError(f"--vary {arg}: expected KEY=DISTRIBUTION, e.g. {EXAMPLE}")
    if not m or m.group(1).lower() not in _DISTS:
        raise SweepError(f"--vary {arg}: expected a distribution normal(MEAN, SD), uniform(LO, HI), "
                         "triangular(LO, MODE, HI), lognormal(MEDIAN, GSD) or choice(A, B, ...)")
    dist = m.group(1).lower()
    args = tuple(" ".join(a.split()) for a in m.group(2).split(","))
    names = _DISTS[dist]
    if dist == "choice":
        if not args or any(not a for a in args):
            raise SweepError(f"--vary {arg}: choice takes one or more quantities, e.g. choice(17 d, 21 d)")
    elif len(args) != len(names) or any(not a for a in args):
        got = 0 if args == ("",) else len(args)
        raise SweepError(f"--vary {arg}: {dist} takes {len(names)} arguments ({', '.join(names)}), got {got}")
    family_name, path = _resolve_key(key, arg)
    fam = _FAMILIES[family_name]
    quantity_args = args[:1] if dist == "lognormal" else args
    arg_names = ("value",) * len(args) if dist == "choice" else names
    parsed = []
    for name, a in zip(arg_names, quantity_args, strict=False):
        q = _quantity(a, fam)
        if q is None:
            raise SweepError(f"--vary {arg}: {name} {a!r} is not {fam.expected}, as {key} needs")
        parsed.append(q)
    unit, scale0 = parsed[0][1], parsed[0][2]
    values = [float(v * s / scale0) for v, _, s in parsed]
    if dist == "lognormal":
        try:
            gsd = Decimal(args[1])
        except InvalidOperation:
            gsd = Decimal("NaN")
        if not gsd.is_finite() or gsd < 1:
            raise SweepError(f"--vary {arg}: GSD {args[1]!r} must be a plain number >= 1 (no unit), e.g. 1.1")
        if values[0] <= 0:
            raise SweepError(f"--vary {arg}: MEDIAN must be above 0")
        values.append(float(gsd))
    if dist == "normal" and values[1] < 0:
        raise SweepError(f"--vary {arg}: SD must be >= 0")
    if dist == "uniform" and not values[0] <= values[1]:
        raise SweepError(f"--vary {arg}: expected LO <= HI")
    if dist == "triangular" and not (values[0] <= values[1] <= values[2] and values[0] < values[2]):
        raise SweepError(f"--vary {arg}: expected LO <= MODE <= HI and LO < HI")
    return VarySpec(key=key, dist=dist, args=args, family=family_name, unit=unit, values=tuple(values),
                    path=path, unit_scale=float(scale0))


def _set_in(data: dict[str, Any], path: tuple[str | int, ...], value: str) -> None:
    node: Any = data
    for p in path[:-1]:
        node = node[p] if isinstance(p, int) else node.setdefault(p, {})
    node[path[-1]] = value


def _check_path(data: dict[str, Any], spec: VarySpec, arg: str) -> None:
    """The tables on the way to *spec*'s key exist (or can be created) in *data*."""
    node: Any = data
    shown: list[str] = []
    for p in spec.path[:-1]:
        if isinstance(p, int):
            if not isinstance(node, list) or p >= len(node):
                n = len(node) if isinstance(node, list) else 0
                raise SweepError(f"--vary {arg}: the scenario has {n} [[{'.'.join(shown)}]] entries, "
                                 f"not {p + 1}")
            node = node[p]
        else:
            shown.append(p)
            nxt = node.get(p) if isinstance(node, dict) else None
            if nxt is None:
                nxt = {}
            if ".".join(shown) in _ARRAYS and not isinstance(nxt, list):
                raise SweepError(f"--vary {arg}: the scenario has no [[{'.'.join(shown)}]] entries")
            node = nxt


# ------------------------------------------------------------ the plan


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep computes: everything the aggregate depends on, and nothing else."""

    scenario_name: str
    source: str
    runs: int
    seed: int
    vary: tuple[VarySpec, ...] = ()
    days: float | None = None
    digest: str = field(default="", compare=False)

    @property
    def duration_ms(self) -> int | None:
        return None if self.days is None else round(self.days * _MS_PER_DAY)

    def config(self) -> dict[str, Any]:
        """The comparable configuration (stored in sweep.json)."""
        from . import __version__

        return {
            "format": FORMAT,
            "pumpsim_version": __version__,
            "scenario": self.scenario_name,
            "scenario_source": self.source,
            "runs": self.runs,
            "seed": self.seed,
            "days": self.days,
            "vary": [v.text for v in self.vary],
        }


def make_plan(scenario: Scenario, runs: int, *, seed: int | None = None, vary: Sequence[str] = (),
              days: float | None = None) -> SweepPlan:
    """Check the request and build a :class:`SweepPlan` (SweepError naming the bad argument)."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise SweepError(f"--runs {runs}: expected an integer >= 1")
    if seed is not None and seed < 0:
        raise SweepError(f"--seed {seed}: expected an integer >= 0")
    if days is not None and not (0 < days <= 30 * 365):
        raise SweepError(f"--days {days:g}: expected a number of days above 0 and at most 10950 (30 years)")
    if not scenario.source:
        raise SweepError(f"scenario {scenario.name!r} has no TOML source to vary")
    specs = [parse_vary(a) for a in vary]
    seen: dict[str, str] = {}
    for a, s in zip(vary, specs, strict=True):
        if s.key in seen:
            raise SweepError(f"--vary {a}: {s.key} is already varied by --vary {seen[s.key]}")
        seen[s.key] = a
    data = parse_toml(scenario.source)
    # Validate once at the central values: a key the scenario cannot take (dose where it has rate, a
    # refill_plan key without a [refill_plan]) is an error now, not N failed runs later.
    for a, s in zip(vary, specs, strict=True):
        if s.key == VISIT_AT:
            continue
        _check_path(data, s, a)
        center = s.args[0] if s.dist == "choice" else s.as_text(s.center())
        _set_in(data, s.path, center)
        try:
            scenario_from_data(data)
        except ScenarioError as e:
            raise SweepError(f"--vary {a}: the scenario is invalid even at the central value {center}: {e}") from None
    plan = SweepPlan(scenario_name=scenario.name, source=scenario.source, runs=runs,
                     seed=scenario.seed if seed is None else seed, vary=tuple(specs), days=days)
    digest = hashlib.sha256(json.dumps(plan.config(), sort_keys=True).encode()).hexdigest()[:16]
    return replace(plan, digest=digest)


# ------------------------------------------------------------ one run (in a worker)

_PREPARED: dict[str, tuple[dict[str, Any], Scenario]] = {}


def _prepared(plan: SweepPlan) -> tuple[dict[str, Any], Scenario]:
    """The plan's parsed TOML data and base scenario, cached per process."""
    got = _PREPARED.get(plan.digest)
    if got is None:
        data = parse_toml(plan.source)
        base = scenario_from_data(copy.deepcopy(data), source=plan.source)
        if plan.duration_ms is not None and plan.duration_ms > base.duration_ms:
            # A longer run keeps its refill plan going (as pumpsim run --days does).
            data["duration"] = f"{plan.duration_ms} ms"
            base = scenario_from_data(copy.deepcopy(data), source=plan.source)
        got = (data, base)
        _PREPARED.clear()
        _PREPARED[plan.digest] = got
    return got


def run_seeds(seed: int, index: int) -> tuple[np.random.Generator, int]:
    """(parameter generator, simulation seed) of run *index*: a function of (seed, index) only."""
    params_ss, sim_ss = np.random.SeedSequence([seed, index]).spawn(2)
    sim_seed = int(sim_ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
    return np.random.Generator(np.random.PCG64(params_ss)), sim_seed


def build_run(plan: SweepPlan, index: int) -> tuple[Scenario | None, int, dict[str, Any], str | None]:
    """(scenario or None, simulation seed, sampled params, error) for run *index*."""
    data, base = _prepared(plan)
    rng, sim_seed = run_seeds(plan.seed, index)
    params: dict[str, Any] = {}
    scalar = [s for s in plan.vary if s.key != VISIT_AT]
    jitter = [s for s in plan.vary if s.key == VISIT_AT]
    scenario = base
    if scalar:
        d = copy.deepcopy(data)
        for s in scalar:
            params[s.key] = text = s.sample_text(rng)
            _set_in(d, s.path, text)
        try:
            scenario = scenario_from_data(d, source="")
        except ScenarioError as e:
            return None, sim_seed, params, str(e)
    for s in jitter:
        scenario, offsets = _jitter_visits(scenario, s, rng)
        params[s.key] = offsets
    return scenario, sim_seed, params, None


def _jitter_visits(sc: Scenario, s: VarySpec, rng: np.random.Generator) -> tuple[Scenario, list[str]]:
    n = len(sc.visits)
    if n == 0:
        return sc, []
    x = s.draw(rng, n)
    if s.dist == "choice":
        off = [s.values[int(i)] for i in x]
        texts = [s.args[int(i)] for i in x]
    else:
        off = [float(v) for v in x]
        texts = [s.as_text(v) for v in off]
    visits = [replace(v, at_ms=min(max(v.at_ms + round(o * s.unit_scale), 0), sc.duration_ms))
              for v, o in zip(sc.visits, off, strict=True)]
    visits.sort(key=lambda v: v.at_ms)
    return replace(sc, visits=tuple(visits)), texts


def run_metrics(summary: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-run metrics from a run's summary and events (see docs of :func:`run_one`)."""
    refills = [e["t_s"] for e in events if e["kind"] == "visit" and "refill_ml" in e]
    drys = [e["t_s"] for e in events if e["kind"] == "dry"]
    lows = [(a["t_s"], a["cleared_t_s"]) for a in summary["alarms"] if a["alarm"] == "low_reservoir"]
    end_s = summary["simulated_s"]
    episodes = []
    for t in drys:
        cycle = bisect_left(refills, t)  # a refill at the very instant of the dry comes after it
        nxt = refills[cycle] if cycle < len(refills) else None
        active = [r for r, c in lows if r <= t and (c is None or c >= t)]
        if active:
            alarm_t: float | None = max(active)
        else:
            late = [r for r, _ in lows if t < r and (nxt is None or r < nxt)]
            alarm_t = min(late) if late else None
        episodes.append({
            "t_s": t,
            "cycle": cycle,
            "alarm_t_s": alarm_t,
            "margin_s": None if alarm_t is None else t - alarm_t,
            "before_next_visit": nxt is not None,
            "next_visit_s": nxt,
            "without_drug_s": (end_s if nxt is None else nxt) - t,
        })
    delivered, prescribed = summary["delivered_mg"], summary["prescribed_mg"]
    return {
        "simulated_s": end_s,
        "delivered_mg": delivered,
        "prescribed_mg": prescribed,
        "delivered_ratio": delivered / prescribed if prescribed > 0 else None,
        "dry_count": summary["dry_count"],
        "dry_total_s": summary["dry_total_s"],
        "dry_t_s": summary["dry_t_s"],
        "refill_cycles": len(refills) + 1,
        "dry_cycles": len({e["cycle"] for e in episodes}),
        "dry_episodes": episodes,
    }


def run_one(plan: SweepPlan, index: int) -> dict[str, Any]:
    """Run *index* of *plan*: its record for runs.jsonl.

    Fields: index, seed (the simulation's), params (sampled values as written
    into the scenario), ok, error, and on success :func:`run_metrics`:
    delivered/prescribed mg and their ratio, dry count/total/first time, refill
    cycles (refill visits + 1), cycles with a dry episode, and per dry episode
    its time, the low-reservoir alarm it is measured against, the margin
    (dry time - alarm raise: negative if the alarm came only after the dry,
    null if none came in that refill cycle), and whether a refill visit
    followed it within the run.
    """
    from .engine import simulate

    scenario, sim_seed, params, error = build_run(plan, index)
    rec: dict[str, Any] = {"index": index, "seed": sim_seed, "params": params, "ok": False, "error": error}
    if scenario is None:
        return rec
    try:
        res = simulate(scenario, seed=sim_seed, duration_ms=plan.duration_ms, trace=False)
    except Exception as e:  # a run that fails is a result of the sweep, not the end of it
        rec["error"] = f"{type(e).__name__}: {e}"
        return rec
    rec["ok"] = True
    rec.update(run_metrics(res.summary, res.events))
    return rec


def run_chunk(plan: SweepPlan, indices: Sequence[int]) -> list[dict[str, Any]]:
    """Run several indices (one task for an executor)."""
    return [run_one(plan, i) for i in indices]


# ------------------------------------------------------------ aggregate


def wilson(k: int, n: int) -> tuple[float, float] | None:
    """95 % Wilson score interval for *k* successes in *n* trials (None if n == 0)."""
    if n <= 0:
        return None
    z2 = _Z95 * _Z95
    p = k / n
    den = 1 + z2 / n
    center = (p + z2 / (2 * n)) / den
    half = _Z95 / den * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (0.0 if k == 0 else max(0.0, center - half)), (1.0 if k == n else min(1.0, center + half))


def _dist(values: Sequence[float], pcts: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"count": len(values)}
    keys = ["min", *(f"p{p}" for p in pcts), "max", "mean"]
    if not values:
        out.update(dict.fromkeys(keys))
        return out
    a = np.asarray(values, dtype=float)
    out["min"] = float(a.min())
    for p in pcts:
        out[f"p{p}"] = float(np.percentile(a, p))
    out["max"] = float(a.max())
    out["mean"] = float(a.mean())
    return out


# A sign counts only where it cannot be a hyphen (REQ-RX-008 -> REQ-RX-#, not REQ-RX#).
_NUMBER = re.compile(r"(?<![A-Za-z0-9_])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def error_pattern(message: str) -> str:
    """*message* with every number replaced by ``#`` (the key failures are grouped by)."""
    return _NUMBER.sub("#", message)


def aggregate(plan: SweepPlan, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sweep's aggregate (deterministic: depends on the set of records, not their order)."""
    recs = sorted(records, key=lambda r: r["index"])
    ok = [r for r in recs if r["ok"]]
    failed = [r for r in recs if not r["ok"]]
    # Group failures by message with the numbers masked: runs that fail for
    # the same reason at different sampled values are one line, not one each.
    errors: dict[str, list[dict[str, Any]]] = {}
    for r in failed:
        errors.setdefault(error_pattern(str(r["error"])), []).append(r)
    runs_dry = sum(1 for r in ok if r["dry_count"] > 0)
    cycles = sum(r["refill_cycles"] for r in ok)
    cycles_dry = sum(r["dry_cycles"] for r in ok)
    episodes = [e for r in ok for e in r["dry_episodes"]]
    margins_h = [e["margin_s"] / 3600 for e in episodes if e["margin_s"] is not None]
    ratios = [100 * r["delivered_ratio"] for r in ok if r["delivered_ratio"] is not None]
    ci_runs, ci_cycles = wilson(runs_dry, len(ok)), wilson(cycles_dry, cycles)
    margin = _dist(margins_h, (5, 50, 95))
    margin.update(
        episodes=len(episodes),
        no_alarm_before=sum(1 for e in episodes if e["margin_s"] is None or e["margin_s"] < 0),
        no_alarm_in_cycle=sum(1 for e in episodes if e["margin_s"] is None),
        zero_or_negative=sum(1 for e in episodes if e["margin_s"] is None or e["margin_s"] <= 0),
    )
    return {
        "format": FORMAT,
        "scenario": plan.scenario_name,
        "seed": plan.seed,
        "vary": [v.text for v in plan.vary],
        "runs": {"requested": plan.runs, "done": len(recs), "ok": len(ok), "failed": len(failed)},
        "device_years": sum(r["simulated_s"] for r in ok) / (365 * 86_400),
        "failures": [{"error": e, "count": len(rs), "first_index": rs[0]["index"], "example": str(rs[0]["error"])}
                     for e, rs in sorted(errors.items(), key=lambda kv: (-len(kv[1]), kv[1][0]["index"]))[:20]],
        "dry": {
            "runs_with_dry": runs_dry,
            "runs": len(ok),
            "p_run": runs_dry / len(ok) if ok else None,
            "p_run_ci95": list(ci_runs) if ci_runs else None,
            "cycles_with_dry": cycles_dry,
            "cycles": cycles,
            "p_cycle": cycles_dry / cycles if cycles else None,
            "p_cycle_ci95": list(ci_cycles) if ci_cycles else None,
            "episodes": len(episodes),
            "without_drug_h": _dist([e["without_drug_s"] / 3600 for e in episodes], (50, 95)),
        },
        "margin_h": margin,
        "delivered_pct_of_prescribed": _dist(ratios, (1, 5, 50, 95, 99)),
    }


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(obj, dict):
        return [row for k, v in obj.items() for row in _flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(obj, list):
        return [row for i, v in enumerate(obj) for row in _flatten(v, f"{prefix}.{i}")]
    return [(prefix, obj)]


def aggregate_csv(agg: dict[str, Any]) -> str:
    """The aggregate as CSV rows ``name,value`` (dotted names, one statistic a row)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "value"])
    for name, value in _flatten(agg):
        w.writerow([name, "" if value is None else repr(value) if isinstance(value, float) else value])
    return buf.getvalue()


def _f(x: float | None, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def _pct(p: float | None) -> str:
    if p is None:
        return "-"
    return f"{100 * p:.2f} %" if p < 0.1 else f"{100 * p:.1f} %"


def format_aggregate(agg: dict[str, Any], plan: SweepPlan | None = None) -> str:
    """A readable table of the aggregate."""
    r, d, m, dp = agg["runs"], agg["dry"], agg["margin_h"], agg["delivered_pct_of_prescribed"]
    days = f"{plan.days:g} d each" if plan is not None and plan.days is not None else "scenario duration"
    lines = [
        f"sweep  {agg['scenario']}   seed {agg['seed']}   {r['done']} runs ({r['ok']} ok, {r['failed']} failed)   "
        f"{days}   {agg['device_years']:.1f} device-years",
    ]
    for i, v in enumerate(agg["vary"]):
        lines.append(f"{'vary' if i == 0 else '':<6} {v}")
    ci = d["p_run_ci95"]
    cc = d["p_cycle_ci95"]
    lines += [
        "",
        "ran dry before the next visit                       fraction   95 % Wilson interval",
        f"  runs with a dry episode      {d['runs_with_dry']:>8} / {d['runs']:<8}  {_pct(d['p_run']):>9}   "
        + (f"{_pct(ci[0])} - {_pct(ci[1])}" if ci else "-"),
        f"  refill cycles that ran dry   {d['cycles_with_dry']:>8} / {d['cycles']:<8}  {_pct(d['p_cycle']):>9}   "
        + (f"{_pct(cc[0])} - {_pct(cc[1])}" if cc else "-"),
    ]
    if d["episodes"]:
        w = d["without_drug_h"]
        lines.append(f"  time without drug per episode: median {_f(w['p50'])} h, p95 {_f(w['p95'])} h, "
                     f"max {_f(w['max'])} h")
    lines += [
        "",
        "alarm-to-dry margin, h (dry time - low-reservoir alarm)   n      min      p5     p50     p95     max",
        f"  {'episodes with an alarm in their refill cycle':<54}{m['count']:>4} {_f(m['min']):>8} "
        f"{_f(m['p5']):>7} {_f(m['p50']):>7} {_f(m['p95']):>7} {_f(m['max']):>7}",
        f"  dry episodes {m['episodes']}; with no alarm before the dry: {m['no_alarm_before']} "
        f"(no alarm at all in the cycle: {m['no_alarm_in_cycle']}); margin <= 0 or none: {m['zero_or_negative']}",
        "",
        "delivered dose, % of prescribed      n       p1       p5      p50      p95      p99",
        f"  {'':<32}{dp['count']:>5} {_f(dp['p1'], '.2f'):>8} {_f(dp['p5'], '.2f'):>8} {_f(dp['p50'], '.2f'):>8} "
        f"{_f(dp['p95'], '.2f'):>8} {_f(dp['p99'], '.2f'):>8}",
    ]
    if agg["failures"]:
        lines += ["", f"failed runs: {r['failed']}"]
        for f in agg["failures"][:5]:
            lines.append(f"  {f['count']:>6} x  {f['error']}")
            lines.append(f"{'':>12}first: run {f['first_index']}: {f['example']}")
    return "\n".join(lines)


# ------------------------------------------------------------ executors


class InlineExecutor(cf.Executor):
    """Runs each task in this process at submit time (``--workers 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        fut: cf.Future[Any] = cf.Future()
        fut.set_running_or_notify_cancel()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as e:
            fut.set_exception(e)
        return fut


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: the parent decides what to do, workers carry on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class Runner:
    """An executor, how many workers it has, and how to close it."""

    executor: cf.Executor
    workers: int
    kind: str
    close: Callable[[], None]
    terminate: Callable[[], None] = lambda: None


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def make_runner(workers: int | None = None, scheduler: str | None = None) -> Runner:
    """The executor for *workers* / *scheduler* (``None``: process pool; ``local``; or an address)."""
    n = default_workers() if workers is None else workers
    if n < 1:
        raise SweepError(f"--workers {n}: expected an integer >= 1")
    if scheduler is not None:
        return _dask_runner(scheduler, n)
    if n == 1:
        ex1 = InlineExecutor()
        return Runner(ex1, 1, "in-process", lambda: ex1.shutdown())
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork"),
                                  initializer=_worker_init)

    def terminate() -> None:
        for p in list(getattr(pool, "_processes", {}).values()):
            p.terminate()

    return Runner(pool, n, f"process pool ({n} workers)", lambda: pool.shutdown(wait=True, cancel_futures=True),
                  terminate)


def _dask_runner(scheduler: str, workers: int) -> Runner:
    import logging

    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepError(f"--scheduler {scheduler}: needs dask[distributed] "
                         "(pip install -e '.[cluster]' in a checkout)") from None
    cluster: Any = None
    if scheduler == "local":
        # The nanny's MALLOC_TRIM_THRESHOLD_ costs ~10 % here (shared/reference/tooling.md).
        # Worker processes are spawned with SIGINT ignored (Python keeps an inherited SIG_IGN), so a
        # Ctrl-C, which reaches the whole process group, stops only this process, which then shuts
        # the cluster down in order instead of every worker printing a traceback.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
        finally:
            signal.signal(signal.SIGINT, old)
        client = Client(cluster)
        n, kind = workers, f"dask LocalCluster ({workers} workers)"
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise SweepError(f"--scheduler {scheduler}: cannot connect to a dask scheduler ({e})") from None
        n = max(1, sum(client.nthreads().values()))
        kind = f"dask cluster {scheduler} ({n} threads)"

    def close() -> None:
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        client.close()
        if cluster is not None:
            cluster.close()

    return Runner(client.get_executor(pure=False), n, kind, close)


def default_chunk(runs: int, workers: int, run_days: float) -> int:
    """Runs per task: about TARGET_TASK_S of work, and at least ~4 tasks per worker."""
    est = max(0.002, EST_S_PER_DEVICE_YEAR * run_days / 365)
    by_time = max(1, round(TARGET_TASK_S / est))
    by_balance = max(1, math.ceil(runs / (4 * workers)))
    return max(1, min(by_time, by_balance, 1000))


# ------------------------------------------------------------ the sweep directory


CONFIG_FILE = "sweep.json"
RUNS_FILE = "runs.jsonl"
COMPARED = ("format", "pumpsim_version", "scenario", "scenario_source", "runs", "seed", "days", "vary")


def read_config(out_dir: Path) -> dict[str, Any]:
    """sweep.json of an existing sweep directory (SweepError if absent or unreadable)."""
    p = out_dir / CONFIG_FILE
    if not p.is_file():
        raise SweepError(f"--out {out_dir}: no {CONFIG_FILE} there, so no sweep to resume")
    try:
        cfg = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SweepError(f"--out {out_dir}: cannot read {CONFIG_FILE} ({e})") from None
    if not isinstance(cfg, dict) or any(k not in cfg for k in COMPARED):
        raise SweepError(f"--out {out_dir}: {CONFIG_FILE} is not a pumpsim sweep configuration")
    return cfg


def config_mismatch(plan: SweepPlan, cfg: dict[str, Any]) -> str | None:
    """The first field in which *plan* differs from a stored configuration, as a message, or None."""
    mine = plan.config()
    for k in COMPARED:
        if mine[k] != cfg.get(k):
            if k == "scenario_source":
                return "the scenario's TOML differs from the one the sweep started with"
            return f"{k} = {json.dumps(mine[k])} here, but {json.dumps(cfg.get(k))} in the sweep"
    return None


def read_runs(path: Path, runs: int) -> dict[int, dict[str, Any]]:
    """Finished runs from runs.jsonl; a truncated last line (an interrupted write) is cut off the file."""
    done: dict[int, dict[str, Any]] = {}
    if not path.exists():
        return done
    raw = path.read_bytes()
    good_end = 0
    pos = 0
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        end = len(raw) if nl < 0 else nl + 1
        line = raw[pos:end].strip()
        pos = end
        if not line:
            good_end = end
            continue
        try:
            rec = json.loads(line)
            ok = isinstance(rec, dict) and isinstance(rec.get("index"), int) and nl >= 0
        except ValueError:
            ok = False
        if not ok:
            if end < len(raw):
                line_no = raw[:end].count(b"\n")
                raise SweepError(f"{path}: line {line_no} is not a run record; the file is damaged "
                                 "(only a cut-off last line is tolerated)")
            break  # the last line was cut off mid-write: drop it
        good_end = end
        if 0 <= rec["index"] < runs:
            done.setdefault(rec["index"], rec)
    if good_end < len(raw):
        with open(path, "r+b") as f:
            f.truncate(good_end)
    return done


@dataclass
class Outcome:
    """What :func:`run_sweep` did."""

    out_dir: Path
    aggregate: dict[str, Any]
    records: dict[int, dict[str, Any]]
    ran: int
    wall_s: float
    runner: str


def check_dir(plan: SweepPlan, out_dir: Path, *, resume: bool) -> dict[int, dict[str, Any]]:
    """Check the sweep directory (resuming: its configuration); return the runs already done there."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SweepError(f"--out {out_dir}: exists and is not a directory")
    if resume:
        cfg = read_config(out_dir)
        why = config_mismatch(plan, cfg)
        if why is not None:
            raise SweepError(f"--resume: the request does not match the sweep in {out_dir}: {why}")
        return read_runs(out_dir / RUNS_FILE, plan.runs)
    clash = [f for f in (CONFIG_FILE, RUNS_FILE) if (out_dir / f).exists()]
    if clash:
        raise SweepError(f"--out {out_dir}: already holds a sweep ({clash[0]}); add --resume to continue it, "
                         "or choose another directory")
    return {}


def init_dir(plan: SweepPlan, out_dir: Path, execution: dict[str, Any]) -> None:
    """Start a new sweep directory: sweep.json first, then an empty runs.jsonl."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = plan.config()
    cfg["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    cfg["execution"] = execution
    write_json_atomic(out_dir / CONFIG_FILE, cfg)
    (out_dir / RUNS_FILE).touch()


def run_sweep(
    plan: SweepPlan,
    out_dir: Path,
    *,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk: int | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
) -> Outcome:
    """Run (or resume) *plan* into *out_dir* and write the aggregate.

    Raises :class:`SweepInterrupted` on Ctrl-C after writing every finished run,
    and :class:`SweepError` for a bad request (before anything is written, for
    a new sweep, when the workers cannot be started).
    """
    from ._progress import Progress

    if chunk is not None and chunk < 1:
        raise SweepError(f"--chunk {chunk}: expected an integer >= 1")
    err = stream if stream is not None else sys.stderr
    records = check_dir(plan, out_dir, resume=resume)
    pending = [i for i in range(plan.runs) if i not in records]
    t0 = time.perf_counter()
    ran = 0
    kind = "nothing to run"
    runner: Runner | None = None
    if pending:
        _prepared(plan)  # parse once here: forked workers inherit it
        try:
            runner = make_runner(workers, scheduler)
        except KeyboardInterrupt:
            raise SweepInterrupted(out_dir, len(records), plan.runs, resumable=resume) from None
    if not resume:
        try:
            init_dir(plan, out_dir, {"workers": workers, "scheduler": scheduler, "chunk": chunk})
        except BaseException:
            if runner is not None:
                runner.close()
            raise
    if runner is not None:
        kind = runner.kind
        run_days = plan.days if plan.days is not None else _prepared(plan)[1].duration_ms / _MS_PER_DAY
        size = chunk or default_chunk(len(pending), runner.workers, run_days)
        chunks = [pending[k:k + size] for k in range(0, len(pending), size)]
        bar = Progress(plan.runs, already=len(records), stream=err, enabled=progress)
        try:
            ran = _execute(plan, runner, chunks, records, out_dir / RUNS_FILE, bar, err)
        finally:
            bar.close()
    agg = aggregate(plan, records.values())
    write_json_atomic(out_dir / "aggregate.json", agg)
    _write_text_atomic(out_dir / "aggregate.csv", aggregate_csv(agg))
    return Outcome(out_dir, agg, records, ran, time.perf_counter() - t0, kind)


def _execute(plan: SweepPlan, runner: Runner, chunks: list[list[int]], records: dict[int, dict[str, Any]],
             runs_path: Path, bar: Any, err: TextIO) -> int:
    """Submit *chunks*, append results as they finish; returns the number of runs written."""
    ex = runner.executor
    limit = max(1, IN_FLIGHT_PER_WORKER * runner.workers)
    in_flight: dict[cf.Future[list[dict[str, Any]]], list[int]] = {}
    todo = iter(chunks)
    written = 0
    interrupted = False

    def write(recs: list[dict[str, Any]]) -> None:
        nonlocal written
        f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs))
        f.flush()
        for r in recs:
            records.setdefault(r["index"], r)
        written += len(recs)
        bar.update(len(records))

    def fill() -> None:
        while len(in_flight) < limit:
            nxt = next(todo, None)
            if nxt is None:
                return
            in_flight[ex.submit(run_chunk, plan, nxt)] = nxt

    with open(runs_path, "a", encoding="utf-8") as f:
        try:
            try:
                fill()
                while in_flight:
                    finished, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
                    for fut in sorted(finished, key=lambda x: in_flight[x][0]):
                        in_flight.pop(fut)
                        write(_result(fut))
                        if _INTERRUPT_AFTER is not None and written >= _INTERRUPT_AFTER:
                            raise KeyboardInterrupt
                    fill()
            except KeyboardInterrupt:
                interrupted = True
                # Keep what is running (it is nearly done), drop what has not started.
                for fut in in_flight:
                    fut.cancel()
                running = [fu for fu in in_flight if not fu.cancelled()]
                if running:
                    err.write("\n" if bar.tty else "")
                    err.write(f"pumpsim: interrupted; finishing {len(running)} running chunk(s) "
                              "(Ctrl-C again to drop them)\n")
                    err.flush()
                    try:
                        for fut in cf.as_completed(running):
                            if not fut.cancelled() and fut.exception() is None:
                                write(fut.result())
                    except KeyboardInterrupt:
                        runner.terminate()
        finally:
            with contextlib.suppress(Exception):  # closing must not hide the real outcome
                runner.close()
    if interrupted:
        raise SweepInterrupted(runs_path.parent, len(records), plan.runs)
    return written


def _result(fut: cf.Future[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    try:
        return fut.result()
    except cf.BrokenExecutor as e:
        raise SweepError(f"a worker process died ({e}); the runs finished so far are kept: "
                         "continue with --resume") from None
    except Exception as e:  # a task that failed outside run_one's own handling (e.g. on a remote worker)
        raise SweepError(f"a task failed on a worker: {type(e).__name__}: {e}; the runs finished so far are "
                         "kept: continue with --resume") from None


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


__all__ = [
    "VARIABLE_KEYS",
    "VISIT_AT",
    "Outcome",
    "SweepError",
    "SweepInterrupted",
    "SweepPlan",
    "VarySpec",
    "aggregate",
    "format_aggregate",
    "make_plan",
    "parse_vary",
    "read_config",
    "run_metrics",
    "run_one",
    "run_seeds",
    "run_sweep",
    "wilson",
]
