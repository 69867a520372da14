"""One run of a sweep, and what it measured: the record written to runs.jsonl.

:func:`run_one` builds run *i* of a plan, simulates it without a trace and
measures it with :func:`run_metrics`. It runs in a worker (a forked process, a
dask worker or this process); :func:`run_chunk` is the unit of work submitted
to an executor. A run that fails (a sample the loader rejects, an exception in
the simulation) is a :class:`~pumpsim.sweep.records.FailedRun` record, not an
exception.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from ..results.records import Event, Summary
from .plan import SweepPlan, build_run
from .records import DryEpisode, FailedRun, OkRun, Params, RunMetrics, RunRecord


def run_metrics(summary: Summary, events: Sequence[Event]) -> RunMetrics:
    """Per-run metrics from a run's summary and events.

    Refill cycles are the refill visits + 1; a dry episode belongs to the cycle
    of the refills strictly before it (a refill at the very instant of the dry
    comes after it). Its alarm is the latest raise of a low-reservoir alarm
    still active at the dry; if none, the first raised after it and before the
    next refill; else None. ``margin_s`` is dry time - alarm time (negative if
    the alarm came only after the dry, None if none came in the cycle).

    Worked case (tests/scenario/test_sweep.py): alarms at 10 s (cleared at 40 s)
    and 75 s, dries at 20 s and 70 s, a refill at 40 s, end at 100 s: margins
    20 - 10 = 10 s and 70 - 75 = -5 s; without drug 40 - 20 = 20 s and
    100 - 70 = 30 s; 2 cycles, both with a dry.
    """
    refills = [e["t_s"] for e in events if e["kind"] == "visit" and "refill_ml" in e]
    drys = [e["t_s"] for e in events if e["kind"] == "dry"]
    lows = [(a["t_s"], a["cleared_t_s"]) for a in summary["alarms"] if a["alarm"] == "low_reservoir"]
    end_s = summary["simulated_s"]
    episodes: list[DryEpisode] = []
    for t in drys:
        cycle = bisect_left(refills, t)
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


def run_one(plan: SweepPlan, index: int) -> RunRecord:
    """Run *index* of *plan* and return its record for runs.jsonl (docs/sweep.md, "runs.jsonl").

    Never raises for a run that fails: the record has ``ok`` false and the
    loader's message (a rejected sample) or ``"ExceptionType: message"`` (an
    error in the simulation) as ``error``.
    """
    from ..engine import simulate  # the engine (simpy) is loaded only where runs happen

    inputs = build_run(plan, index)
    if inputs.scenario is None:
        return _failed(index, inputs.seed, inputs.params, str(inputs.error))
    try:
        res = simulate(inputs.scenario, seed=inputs.seed, duration_ms=plan.duration_ms, trace=False)
    except Exception as e:  # a run that fails is a result of the sweep, not the end of it
        return _failed(index, inputs.seed, inputs.params, f"{type(e).__name__}: {e}")
    ok: OkRun = {"index": index, "seed": inputs.seed, "params": inputs.params, "ok": True, "error": None,
                 **run_metrics(res.summary, res.events)}
    return ok


def _failed(index: int, seed: int, params: Params, error: str) -> FailedRun:
    return {"index": index, "seed": seed, "params": params, "ok": False, "error": error}


def run_chunk(plan: SweepPlan, indices: Sequence[int]) -> list[RunRecord]:
    """Run several indices of *plan*, in order: one task for an executor."""
    return [run_one(plan, i) for i in indices]
