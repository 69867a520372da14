"""The typed records are what the files hold, and the docs tables are generated from them."""

from __future__ import annotations

from typing import Any

import pytest

import pumpsim
from pumpsim.results import doctables
from pumpsim.results.records import AlarmEvent, RunInfo, Summary
from pumpsim.scenario import builtin_names
from pumpsim.testing.records import EVENT_TYPE_BY_KIND, check_record, check_records


def test_docs_tables_match_the_records() -> None:
    """docs/output-format.md's generated tables are up to date (fix: python -m pumpsim.results.doctables)."""
    text = doctables.DEFAULT_DOC.read_text(encoding="utf-8")
    assert doctables.render(text) == text


def test_docs_generator_replaces_a_stale_table_and_needs_every_block() -> None:
    """A stale row is rewritten; a document without a generated block is refused."""
    text = doctables.DEFAULT_DOC.read_text(encoding="utf-8")
    stale = text.replace("| `strokes` | integer | strokes |", "| `stroke_count` | integer | strokes |", 1)
    assert stale != text and doctables.render(stale) == text
    with pytest.raises(ValueError, match="summary"):
        doctables.render(text.replace("<!-- generated: summary", "<!-- gone: summary"))


def test_documented_names_are_the_record_keys() -> None:
    """Every key of every record appears in the docs as a table row, and every documented row is a key."""
    text = doctables.DEFAULT_DOC.read_text(encoding="utf-8")
    for record in (Summary, RunInfo, *EVENT_TYPE_BY_KIND.values()):
        for key, *_ in doctables.fields(record):
            assert f"| `{key}` |" in text or f"| `balance.{key}` |" in text or f"| `alarms[].{key}` |" in text, key
    assert "| `balance.in_ml` |" in text and "| `alarms[].cleared_t_s` |" in text


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_run_writes_exactly_the_typed_records(name: str) -> None:
    """Summary and events of each built-in scenario: known keys only, required ones present, declared order,
    declared types; every event kind of the union occurs in some built-in."""
    res = pumpsim.simulate(pumpsim.load_scenario(name), trace=False)
    check_records(res)


def test_the_builtins_cover_most_event_kinds() -> None:
    """The record checks above are not vacuous: the built-ins produce all kinds but the rare ones."""
    kinds = set()
    for name in builtin_names():
        kinds |= {e["kind"] for e in pumpsim.simulate(pumpsim.load_scenario(name), trace=False).events}
    # environment and fav need an environment timeline, which no built-in file can write yet (the faults'
    # fever/flight/hyperbaric/magnet entries will): tests/scenario/test_pump_types.py checks their records;
    # drug_limit needs a refused or overridden command: tests/scenario/test_therapy_limits.py checks it.
    assert set(EVENT_TYPE_BY_KIND) - kinds <= {"rejected", "log", "threshold", "environment", "fav", "drug_limit"}


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ({"t_s": 1.0, "t_ms": 1000, "kind": "alarm", "alarm": "low_reservoir", "state": "raised",
          "reservoir_estimated_ml": 2.0, "extra": 1}, "unknown key 'extra'"),
        ({"t_s": 1.0, "t_ms": 1000, "kind": "alarm", "alarm": "low_reservoir", "state": "raised"},
         "required key 'reservoir_estimated_ml' missing"),
        ({"t_ms": 1000, "t_s": 1.0, "kind": "alarm", "alarm": "low_reservoir", "state": "raised",
          "reservoir_estimated_ml": 2.0}, "order"),
        ({"t_s": 1.0, "t_ms": 1000.0, "kind": "alarm", "alarm": "low_reservoir", "state": "raised",
          "reservoir_estimated_ml": 2.0}, "t_ms = 1000.0: expected int"),
        ({"t_s": 1.0, "t_ms": 1000, "kind": "alarm", "alarm": "low_reservoir", "state": "up",
          "reservoir_estimated_ml": 2.0}, "expected one of"),
        ({"t_s": 1.0, "t_ms": True, "kind": "alarm", "alarm": "low_reservoir", "state": "raised",
          "reservoir_estimated_ml": 2.0}, "expected int"),
    ],
)
def test_check_record_names_what_is_wrong(obj: dict[str, Any], fragment: str) -> None:
    """Unknown, missing, misordered and mistyped keys each fail with a message naming them."""
    with pytest.raises(AssertionError, match="record: ") as e:
        check_record(obj, AlarmEvent)
    assert fragment in str(e.value)


def test_check_record_looks_into_nested_records() -> None:
    """A bad alarm episode inside a summary is found."""
    s = dict(pumpsim.simulate(pumpsim.load_scenario("analytic"), duration_ms=40 * 86_400_000).summary)
    check_record(s, Summary)
    s["alarms"] = [{"alarm": "low_reservoir", "t_s": "soon", "cleared_t_s": None}]
    with pytest.raises(AssertionError, match=r"alarms\[0\]\.t_s"):
        check_record(s, Summary)
