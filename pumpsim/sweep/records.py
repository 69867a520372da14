"""The records a sweep writes, typed: one line of runs.jsonl, aggregate.json, sweep.json and run.json.

These definitions are the file formats; docs/sweep.md describes exactly these
fields (tests/unit/test_sweep_records.py checks the names). Each file carries
:data:`FORMAT`.

What a sweep computes (runs.jsonl, aggregate.json, aggregate.csv, sweep.json)
depends only on the plan, so two sweeps of the same plan write the same bytes.
What varies from session to session (times, host, versions, the runner) is in
run.json, a list of :class:`SweepSession`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

#: Format version of sweep.json, runs.jsonl, aggregate.json and run.json.
#: 2: sweep.json holds only the plan; pumpsim_version, created and execution moved to run.json.
FORMAT = 2
#: Formats this pumpsim can --resume (a format-1 directory is converted when it is resumed).
RESUMABLE_FORMATS = (1, 2)

#: Sampled values by ``--vary`` key: a quantity string, or for ``visit.at`` one offset per visit.
Params = dict[str, str | list[str]]


# ------------------------------------------------------------ runs.jsonl


class DryEpisode(TypedDict):
    """One time the real reservoir ran dry, within one run."""

    t_s: float
    cycle: int
    alarm_t_s: float | None
    margin_s: float | None
    before_next_visit: bool
    next_visit_s: float | None
    without_drug_s: float


class RunMetrics(TypedDict):
    """What a completed run measured (see :func:`pumpsim.sweep.run_metrics`)."""

    simulated_s: float
    delivered_mg: float
    prescribed_mg: float
    delivered_ratio: float | None
    dry_count: int
    dry_total_s: float
    dry_t_s: float | None
    refill_cycles: int
    dry_cycles: int
    dry_episodes: list[DryEpisode]


class _RunHead(TypedDict):
    index: int
    seed: int
    params: Params


class FailedRun(_RunHead):
    """A run whose sampled scenario was rejected, or whose simulation raised."""

    ok: Literal[False]
    error: str


class OkRun(_RunHead, RunMetrics):
    """A completed run: its inputs and :class:`RunMetrics`."""

    ok: Literal[True]
    error: None


#: One line of runs.jsonl.
RunRecord = FailedRun | OkRun


# ------------------------------------------------------------ aggregate.json


class RunCounts(TypedDict):
    requested: int
    done: int
    ok: int
    failed: int


class FailureGroup(TypedDict):
    error: str
    count: int
    first_index: int
    example: str


class WithoutDrugStats(TypedDict):
    count: int
    min: float | None
    p50: float | None
    p95: float | None
    max: float | None
    mean: float | None


class DryStats(TypedDict):
    runs_with_dry: int
    runs: int
    p_run: float | None
    p_run_ci95: list[float] | None
    cycles_with_dry: int
    cycles: int
    p_cycle: float | None
    p_cycle_ci95: list[float] | None
    episodes: int
    without_drug_h: WithoutDrugStats


class MarginStats(TypedDict):
    count: int
    min: float | None
    p5: float | None
    p50: float | None
    p95: float | None
    max: float | None
    mean: float | None
    episodes: int
    no_alarm_before: int
    no_alarm_in_cycle: int
    zero_or_negative: int


class DeliveredStats(TypedDict):
    count: int
    min: float | None
    p1: float | None
    p5: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    mean: float | None


class Aggregate(TypedDict):
    """aggregate.json (and, flattened, aggregate.csv)."""

    format: int
    scenario: str
    seed: int
    vary: list[str]
    runs: RunCounts
    device_years: float
    failures: list[FailureGroup]
    dry: DryStats
    margin_h: MarginStats
    delivered_pct_of_prescribed: DeliveredStats


# ------------------------------------------------------------ sweep.json and run.json


class SweepConfig(TypedDict):
    """sweep.json: the plan, everything the results depend on (compared by --resume)."""

    format: int
    scenario: str
    scenario_source: str
    runs: int
    seed: int
    days: float | None
    vary: list[str]


#: How a session ended ("running" until it does, or if the process was killed).
SessionOutcome = Literal["running", "complete", "interrupted", "failed"]


class SweepSession(TypedDict):
    """One session of a sweep (the first, or a --resume): what varies from session to session."""

    started_utc: str
    wall_s: float | None
    host: str
    pumpsim_version: str
    python_version: str
    argv: list[str]
    runner: str
    workers: int | None
    scheduler: str | None
    chunk: int | None
    ran: int
    outcome: SessionOutcome


class SweepRunMeta(TypedDict):
    """run.json of a sweep directory."""

    format: int
    sessions: list[SweepSession]
    #: Only in a directory started by a format-1 pumpsim: the keys its sweep.json had and format 2 moved here.
    format_1: NotRequired[dict[str, Any]]
