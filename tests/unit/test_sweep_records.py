"""The sweep's typed records are what the code writes and what docs/sweep.md documents, field for field."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, get_args, get_origin, is_typeddict

import pytest

import pumpsim
from pumpsim import sweep
from pumpsim.sweep import records
from pumpsim.sweep.store import new_session

DOC = Path(__file__).resolve().parents[2] / "docs" / "sweep.md"
#: The keys of a statistics object (count, min, percentiles, max, mean); documented in one row.
_STAT = re.compile(r"count|min|max|mean|p\d+")


def _fields(td: Any) -> dict[str, Any]:
    return typing.get_type_hints(td)


def _is_stats(td: Any) -> bool:
    return "count" in _fields(td)


def _paths(td: Any, prefix: str = "") -> set[str]:
    """The names the docs tables must list for *td*: dotted paths, ``name[].field`` for lists of objects.

    A nested object is listed by its fields; a statistics object by its own name (its statistic keys are
    checked separately), plus any other fields it has.
    """
    out: set[str] = set()
    for key, tp in _fields(td).items():
        name = f"{prefix}{key}"
        if is_typeddict(tp):
            if _is_stats(tp):
                out.add(name)
                out |= {f"{name}.{k}" for k in _fields(tp) if not _STAT.fullmatch(k)}
            else:
                out |= _paths(tp, f"{name}.")
        elif get_origin(tp) is list and is_typeddict(get_args(tp)[0]):
            out.add(name)
            out |= _paths(get_args(tp)[0], f"{name}[].")
        else:
            out.add(name)
    return out


def _table(heading: str) -> list[tuple[list[str], str]]:
    """(names in the first cell, the last cell) of each row of the first table under *heading*."""
    text = DOC.read_text(encoding="utf-8")
    lines = text[text.index(f"\n{heading}\n") + 1:].splitlines()[1:]
    rows: list[str] = []
    for line in lines:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
        elif line.startswith("#"):
            raise AssertionError(f"no table under {heading}")
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows[2:]]
    return [(re.findall(r"`([^`]+)`", c[0]), c[-1]) for c in cells]


def _documented(heading: str) -> set[str]:
    return {name for names, _ in _table(heading) for name in names}


@pytest.mark.parametrize(("heading", "td"), [
    ("### `sweep.json`", records.SweepConfig),
    ("### `run.json`", records.SweepRunMeta),
    ("### `runs.jsonl`", records.OkRun),
    ("### `aggregate.json`", records.Aggregate),
])
def test_docs_tables_list_exactly_the_typed_fields(heading: str, td: Any) -> None:
    """Every field of the typed record has a row in its docs table, and every row is a field."""
    assert _documented(heading) == _paths(td)


def test_docs_list_the_statistics_of_each_statistics_object() -> None:
    """The row of a statistics object (margin_h, ...) names exactly its statistic keys."""
    hints = _fields(records.Aggregate)
    stats = {"dry.without_drug_h": _fields(records.DryStats)["without_drug_h"],
             "margin_h": hints["margin_h"], "delivered_pct_of_prescribed": hints["delivered_pct_of_prescribed"]}
    rows = {names[0]: meaning for names, meaning in _table("### `aggregate.json`") if names}
    for name, td in stats.items():
        listed = [k for k in re.findall(r"`([^`]+)`", rows[name]) if _STAT.fullmatch(k)]
        assert listed == [k for k in _fields(td) if _STAT.fullmatch(k)], name


def test_a_failed_run_has_the_first_fields_of_an_ok_run() -> None:
    """FailedRun's fields are OkRun's first five (the docs table lists OkRun's)."""
    assert set(_fields(records.FailedRun)) == {"index", "seed", "params", "ok", "error"}
    assert set(_fields(records.FailedRun)) < set(_fields(records.OkRun))


def test_the_paths_check_catches_a_missing_row() -> None:
    """The check can fail: a documented set without one field differs from the typed fields."""
    assert _documented("### `runs.jsonl`") - {"dry_episodes[].cycle"} != _paths(records.OkRun)


# ------------------------------------------------------------------ the code writes the typed fields


def _assert_shape(value: Any, td: Any, where: str) -> None:
    """*value* has exactly the keys of TypedDict *td*, recursively (NotRequired keys may be absent)."""
    hints = _fields(td)
    optional = td.__optional_keys__
    assert set(value) <= set(hints) and set(hints) - optional <= set(value), (where, set(value) ^ set(hints))
    for key, tp in hints.items():
        if key not in value:
            continue
        if is_typeddict(tp):
            _assert_shape(value[key], tp, f"{where}.{key}")
        elif get_origin(tp) is list and is_typeddict(get_args(tp)[0]):
            for item in value[key]:
                _assert_shape(item, get_args(tp)[0], f"{where}.{key}[]")


def test_records_and_aggregate_have_the_typed_fields(analytic: pumpsim.Scenario) -> None:
    """Ok and failed runs, dry episodes, failure groups and every statistic have exactly the typed keys."""
    plan = sweep.make_plan(analytic, 8, days=60, vary=["pump.fill=uniform(15 mL, 25 mL)",
                                                       "pump.calibration_error=uniform(5 %, 15 %)"])
    recs = [sweep.run_one(plan, i) for i in range(8)]
    ok = [r for r in recs if r["ok"]]
    failed = [r for r in recs if not r["ok"]]
    assert ok and failed and any(r["dry_episodes"] for r in ok)
    for r in ok:
        _assert_shape(r, records.OkRun, "ok run")
        assert list(r)[:5] == ["index", "seed", "params", "ok", "error"]
    for r in failed:
        _assert_shape(r, records.FailedRun, "failed run")
    agg = sweep.aggregate(plan, recs)
    _assert_shape(agg, records.Aggregate, "aggregate")
    assert agg["failures"] and agg["margin_h"]["count"]
    _assert_shape(plan.config(), records.SweepConfig, "sweep.json")
    _assert_shape(new_session(runner="in-process", workers=1, scheduler=None, chunk=1), records.SweepSession,
                  "run.json session")


def test_the_shape_check_catches_an_extra_key() -> None:
    """The check can fail: an extra key in a nested object is reported."""
    episode = {"t_s": 1.0, "cycle": 0, "alarm_t_s": None, "margin_s": None, "before_next_visit": False,
               "next_visit_s": None, "without_drug_s": 2.0, "extra": 1}
    with pytest.raises(AssertionError, match="extra"):
        _assert_shape(episode, records.DryEpisode, "episode")
