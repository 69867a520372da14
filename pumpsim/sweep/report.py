"""Aggregating a sweep's run records, and reporting the aggregate (JSON, CSV, a table).

:func:`aggregate` depends on the set of records only, not on their order, so
it is the same whatever the workers, chunks or resumes. Statistics are over the
runs that completed; failed runs are counted and grouped by their message with
the numbers masked (:func:`error_pattern`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np

from ..units import MS_PER_H, MS_PER_S, S_PER_DAY
from .plan import SweepPlan
from .records import (
    FORMAT,
    Aggregate,
    DeliveredStats,
    FailedRun,
    MarginStats,
    OkRun,
    RunRecord,
    WithoutDrugStats,
)

#: Days in the year of a "device-year".
DAYS_PER_YEAR = 365
_S_PER_H = MS_PER_H // MS_PER_S
_Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution
#: Failure groups kept in aggregate.json (the table shows the first 5).
MAX_FAILURE_GROUPS = 20


def wilson(k: int, n: int) -> tuple[float, float] | None:
    """95 % Wilson score interval for *k* successes in *n* trials (None if n == 0).

    Worked case: 5 of 10 gives 0.5 +- 0.2634 = (0.2366, 0.7634); 0 of 10 gives (0, 0.2775).
    """
    if n <= 0:
        return None
    z2 = _Z95 * _Z95
    p = k / n
    den = 1 + z2 / n
    center = (p + z2 / (2 * n)) / den
    half = _Z95 / den * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (0.0 if k == 0 else max(0.0, center - half)), (1.0 if k == n else min(1.0, center + half))


def _stats(values: Sequence[float], pcts: Sequence[int]) -> dict[str, Any]:
    """count, min, the percentiles *pcts* (numpy's linear interpolation), max, mean; None for each if empty."""
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


def aggregate(plan: SweepPlan, records: Iterable[RunRecord]) -> Aggregate:
    """The sweep's aggregate (docs/sweep.md, "aggregate.json"): a function of the set of records, not their order."""
    recs = sorted(records, key=lambda r: r["index"])
    ok: list[OkRun] = []
    failed: list[FailedRun] = []
    for r in recs:
        if r["ok"]:
            ok.append(r)
        else:
            failed.append(r)
    # Group failures by message with the numbers masked: runs that fail for
    # the same reason at different sampled values are one line, not one each.
    errors: dict[str, list[FailedRun]] = {}
    for f in failed:
        errors.setdefault(error_pattern(f["error"]), []).append(f)
    runs_dry = sum(1 for r in ok if r["dry_count"] > 0)
    cycles = sum(r["refill_cycles"] for r in ok)
    cycles_dry = sum(r["dry_cycles"] for r in ok)
    episodes = [e for r in ok for e in r["dry_episodes"]]
    margins_h = [e["margin_s"] / _S_PER_H for e in episodes if e["margin_s"] is not None]
    ratios = [100 * r["delivered_ratio"] for r in ok if r["delivered_ratio"] is not None]
    ci_runs, ci_cycles = wilson(runs_dry, len(ok)), wilson(cycles_dry, cycles)
    margin = _stats(margins_h, (5, 50, 95))
    margin.update(
        episodes=len(episodes),
        no_alarm_before=sum(1 for e in episodes if e["margin_s"] is None or e["margin_s"] < 0),
        no_alarm_in_cycle=sum(1 for e in episodes if e["margin_s"] is None),
        zero_or_negative=sum(1 for e in episodes if e["margin_s"] is None or e["margin_s"] <= 0),
    )
    groups = sorted(errors.items(), key=lambda kv: (-len(kv[1]), kv[1][0]["index"]))[:MAX_FAILURE_GROUPS]
    return {
        "format": FORMAT,
        "scenario": plan.scenario_name,
        "seed": plan.seed,
        "vary": [v.text for v in plan.vary],
        "runs": {"requested": plan.runs, "done": len(recs), "ok": len(ok), "failed": len(failed)},
        "device_years": sum(r["simulated_s"] for r in ok) / (DAYS_PER_YEAR * S_PER_DAY),
        "failures": [{"error": e, "count": len(rs), "first_index": rs[0]["index"], "example": rs[0]["error"]}
                     for e, rs in groups],
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
            "without_drug_h": cast(WithoutDrugStats,
                                   _stats([e["without_drug_s"] / _S_PER_H for e in episodes], (50, 95))),
        },
        "margin_h": cast(MarginStats, margin),
        "delivered_pct_of_prescribed": cast(DeliveredStats, _stats(ratios, (1, 5, 50, 95, 99))),
    }


def _flatten(obj: object, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(obj, dict):
        return [row for k, v in obj.items() for row in _flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(obj, list):
        return [row for i, v in enumerate(obj) for row in _flatten(v, f"{prefix}.{i}")]
    return [(prefix, obj)]


def aggregate_csv(agg: Aggregate) -> str:
    """The aggregate as CSV rows ``name,value``: dotted names, one statistic a row, floats as ``repr``."""
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


def format_aggregate(agg: Aggregate, plan: SweepPlan | None = None) -> str:
    """A readable table of the aggregate (what ``pumpsim sweep`` prints)."""
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
