"""Checks that a run's outputs are exactly the typed records of :mod:`pumpsim.results.records`.

:func:`check_record` compares one JSON-ready dict with its TypedDict: no
unknown key, every required key present, keys in the declared order (the
order of the files), each value of its declared type. :func:`check_records`
applies it to a run's summary and every event. Like the invariants, they raise
AssertionError naming the record, the key and the value.
"""

from __future__ import annotations

import types
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints

from pumpsim.results import SimulationResult
from pumpsim.results.records import EVENT_TYPES, Summary

#: The record type of each event kind.
EVENT_TYPE_BY_KIND: dict[str, type] = {get_args(get_type_hints(t)["kind"])[0]: t for t in EVENT_TYPES}


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _strip(tp: Any) -> Any:
    while get_origin(tp) is NotRequired or hasattr(tp, "__metadata__"):
        tp = get_args(tp)[0] if get_origin(tp) is NotRequired else tp.__origin__
    return tp


def type_problem(value: object, tp: Any, where: str) -> str | None:
    """Why *value* is not of annotation *tp* (None if it is). Integers are not numbers' bools, and vice versa."""
    tp = _strip(tp)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        problems = [type_problem(value, a, where) for a in get_args(tp)]
        return None if any(p is None for p in problems) else f"{where} = {value!r}: expected {tp}"
    if origin is Literal:
        return None if value in get_args(tp) else f"{where} = {value!r}: expected one of {get_args(tp)}"
    if origin is list:
        if not isinstance(value, list):
            return f"{where} = {value!r}: expected a list"
        for i, item in enumerate(value):
            problem = type_problem(item, get_args(tp)[0], f"{where}[{i}]")
            if problem:
                return problem
        return None
    if _is_record(tp):
        if not isinstance(value, dict):
            return f"{where} = {value!r}: expected an object"
        return record_problem(value, tp, where)
    if tp is type(None):
        return None if value is None else f"{where} = {value!r}: expected null"
    if tp in (int, float, str, bool):
        ok = isinstance(value, tp) and (tp is bool or not isinstance(value, bool))
        return None if ok else f"{where} = {value!r}: expected {tp.__name__}"
    raise TypeError(f"{where}: cannot check annotation {tp!r}")


def record_problem(obj: dict[str, Any], record: type, where: str) -> str | None:
    """Why *obj* is not a *record* (a TypedDict), or None."""
    hints = get_type_hints(record, include_extras=True)
    unknown = [k for k in obj if k not in hints]
    if unknown:
        return f"{where}: unknown key {unknown[0]!r} (a {record.__name__} has {', '.join(hints)})"
    # Every TypedDict class has __required_keys__; `type` does not declare it.
    missing = [k for k in record.__required_keys__ if k not in obj]  # type: ignore[attr-defined]
    if missing:
        return f"{where}: required key {sorted(missing)[0]!r} missing"
    declared = [k for k in hints if k in obj]
    if list(obj) != declared:
        return f"{where}: keys in the order {list(obj)}, declared {declared}"
    for key, value in obj.items():
        problem = type_problem(value, hints[key], f"{where}.{key}")
        if problem:
            return problem
    return None


def check_record(obj: dict[str, Any], record: type, where: str = "record") -> None:
    """Raise AssertionError unless *obj* is exactly a *record* (a TypedDict of :mod:`pumpsim.results.records`)."""
    problem = record_problem(obj, record, where)
    if problem:
        raise AssertionError(f"record: {problem}")


def check_records(result: SimulationResult) -> None:
    """The summary and every event of *result* are exactly their typed records."""
    check_record(dict(result.summary), Summary, "summary")
    for n, ev in enumerate(result.events):
        record = EVENT_TYPE_BY_KIND.get(ev["kind"])
        if record is None:
            raise AssertionError(f"record: event {n} has unknown kind {ev['kind']!r}")
        check_record(dict(ev), record, f"event {n} ({ev['kind']})")
