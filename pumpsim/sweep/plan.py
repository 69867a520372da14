"""The plan of a sweep, and the inputs of each of its runs.

A :class:`SweepPlan` is everything the results depend on: the scenario text,
the number of runs, the base seed, the ``--vary`` specs and the run length.
For run *i*, ``SeedSequence([seed, i])`` spawns two streams: one draws the
varied parameters, the other seeds the simulation (:func:`run_seeds`). A run's
inputs (:func:`build_run`) therefore depend only on (seed, i), whatever the
number of workers, the chunk size, the scheduler, or how often the sweep was
interrupted and resumed.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from ..scenario.loader import ScenarioError, parse_toml, scenario_from_data
from ..scenario.model import Scenario
from ..units import MS_PER_DAY
from .errors import SweepError
from .records import FORMAT, Params, SweepConfig
from .variation import VISIT_AT, VarySpec, check_path, jitter_visits, parse_vary, set_sample

#: Longest run a sweep may ask for (--days), in days: 30 years.
MAX_DAYS = 30 * 365


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep computes: everything the aggregate depends on, and nothing else."""

    scenario_name: str
    source: str
    runs: int
    seed: int
    vary: tuple[VarySpec, ...] = ()
    days: float | None = None
    #: A short hash of :meth:`config` (the key of the per-process parse cache).
    digest: str = field(default="", compare=False)

    @property
    def duration_ms(self) -> int | None:
        """The run length asked for with --days, in ms (None: the scenario's duration)."""
        return None if self.days is None else round(self.days * MS_PER_DAY)

    def config(self) -> SweepConfig:
        """The plan as stored in sweep.json (and compared by --resume)."""
        return {
            "format": FORMAT,
            "scenario": self.scenario_name,
            "scenario_source": self.source,
            "runs": self.runs,
            "seed": self.seed,
            "days": self.days,
            "vary": [v.text for v in self.vary],
        }


def make_plan(scenario: Scenario, runs: int, *, seed: int | None = None, vary: Sequence[str] = (),
              days: float | None = None) -> SweepPlan:
    """Check the request and build a :class:`SweepPlan`.

    Raises :class:`SweepError` naming the argument: runs < 1, seed < 0, days
    outside (0, 10950], a scenario without TOML source, a malformed or repeated
    ``--vary``, or a key the scenario cannot take even at the distribution's
    central value (checked here so that it is one error, not N failed runs).
    """
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise SweepError(f"--runs {runs}: expected an integer >= 1")
    if seed is not None and seed < 0:
        raise SweepError(f"--seed {seed}: expected an integer >= 0")
    if days is not None and not (0 < days <= MAX_DAYS):
        raise SweepError(f"--days {days:g}: expected a number of days above 0 and at most {MAX_DAYS} (30 years)")
    if not scenario.source:
        raise SweepError(f"scenario {scenario.name!r} has no TOML source to vary")
    specs = [parse_vary(a) for a in vary]
    seen: dict[str, str] = {}
    for a, s in zip(vary, specs, strict=True):
        if s.key in seen:
            raise SweepError(f"--vary {a}: {s.key} is already varied by --vary {seen[s.key]}")
        seen[s.key] = a
    data = parse_toml(scenario.source)
    for a, s in zip(vary, specs, strict=True):
        if s.key == VISIT_AT:
            continue
        check_path(data, s, a)
        center = s.args[0] if s.dist == "choice" else s.as_text(s.center())
        set_sample(data, s.path, center)
        try:
            scenario_from_data(data)
        except ScenarioError as e:
            raise SweepError(f"--vary {a}: the scenario is invalid even at the central value {center}: {e}") from None
    plan = SweepPlan(scenario_name=scenario.name, source=scenario.source, runs=runs,
                     seed=scenario.seed if seed is None else seed, vary=tuple(specs),
                     days=None if days is None else float(days))  # 50 and 50.0 are one plan: one sweep.json
    digest = hashlib.sha256(json.dumps(plan.config(), sort_keys=True).encode()).hexdigest()[:16]
    return replace(plan, digest=digest)


# The plan's parsed TOML and base scenario, one plan per process: the parent fills it before the
# process pool forks, so workers inherit it; a dask worker fills it on its first task.
_PREPARED: dict[str, tuple[dict[str, Any], Scenario]] = {}


def prepare(plan: SweepPlan) -> tuple[dict[str, Any], Scenario]:
    """The plan's parsed TOML data and base scenario (with --days applied), cached per process."""
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


def run_days(plan: SweepPlan) -> float:
    """The length of each run in days (--days, or the scenario's duration)."""
    return plan.days if plan.days is not None else prepare(plan)[1].duration_ms / MS_PER_DAY


def run_seeds(seed: int, index: int) -> tuple[np.random.Generator, int]:
    """(parameter generator, simulation seed below 2**63) of run *index*: a function of (seed, index) only."""
    params_ss, sim_ss = np.random.SeedSequence([seed, index]).spawn(2)
    sim_seed = int(sim_ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
    return np.random.Generator(np.random.PCG64(params_ss)), sim_seed


class RunInputs(NamedTuple):
    """What run *index* of a plan simulates."""

    #: The sampled scenario, or None if the loader rejected a sample (then see ``error``).
    scenario: Scenario | None
    #: The simulation seed.
    seed: int
    #: The sampled values as written into the scenario, by --vary key.
    params: Params
    #: The loader's message for a rejected sample, else None.
    error: str | None


def build_run(plan: SweepPlan, index: int) -> RunInputs:
    """Draw run *index*'s parameters (in --vary order, visit.at last) and build its scenario.

    A sample the scenario loader rejects is not raised: it is returned as
    ``error`` with ``scenario`` None (a failed run of the sweep).
    """
    data, base = prepare(plan)
    rng, sim_seed = run_seeds(plan.seed, index)
    params: Params = {}
    scalar = [s for s in plan.vary if s.key != VISIT_AT]
    jitter = [s for s in plan.vary if s.key == VISIT_AT]
    scenario = base
    if scalar:
        d = copy.deepcopy(data)
        for s in scalar:
            params[s.key] = text = s.sample_text(rng)
            set_sample(d, s.path, text)
        try:
            scenario = scenario_from_data(d, source="")
        except ScenarioError as e:
            return RunInputs(None, sim_seed, params, str(e))
    for s in jitter:
        scenario, offsets = jitter_visits(scenario, s, rng)
        params[s.key] = offsets
    return RunInputs(scenario, sim_seed, params, None)
