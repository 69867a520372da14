"""The field tables of docs/output-format.md, generated from the typed records and the trace columns.

Each table sits in the document between two markers::

    <!-- generated: NAME (python -m pumpsim.results.doctables) -->
    ...
    <!-- end generated: NAME -->

``python -m pumpsim.results.doctables [FILE]`` rewrites them in place;
``--check`` exits 1 if they are out of date (tests/unit/test_records.py runs
the same comparison).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints

from .records import EVENT_TYPES, AccuracyReport, Doc, EventBase, RunInfo, Summary
from .trace_columns import PK_COLUMNS, TRACE, TRIAL_COLUMNS, TRUMPET_COLUMNS, TraceColumn

#: docs/output-format.md in a source checkout.
DEFAULT_DOC = Path(__file__).resolve().parents[2] / "docs" / "output-format.md"


# ---------------------------------------------------------------- reading the records


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def json_type(tp: Any) -> str:
    """The JSON type of a field annotation, in words (``number``, ``string or null``, ``array of object``)."""
    origin = get_origin(tp)
    if origin is Annotated or origin is NotRequired:
        return json_type(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return " or ".join(json_type(a) for a in get_args(tp))
    if origin is list:
        return f"array of {json_type(get_args(tp)[0])}"
    if origin is dict:
        return "object"
    if origin is Literal or tp is str:
        return "string"
    if _is_typeddict(tp):
        return "object"
    names = {bool: "boolean", int: "integer", float: "number", type(None): "null"}
    if tp in names:
        return names[tp]
    raise TypeError(f"no JSON type for {tp!r}")


def fields(record: type) -> Iterator[tuple[str, Any, Doc, bool]]:
    """(key, annotation, doc, required) of a TypedDict's documented fields, in declaration order."""
    hints = get_type_hints(record, include_extras=True)
    for key, tp in hints.items():
        inner = get_args(tp)[0] if get_origin(tp) is NotRequired else tp
        docs = [m for m in getattr(inner, "__metadata__", ()) if isinstance(m, Doc)]
        if docs:
            yield key, inner, docs[0], get_origin(tp) is not NotRequired


def _element(tp: Any) -> Any:
    """The record type inside an annotation (``Balance``, ``list[AlarmEpisode]``), or None."""
    tp = get_args(tp)[0] if get_origin(tp) is Annotated else tp
    if get_origin(tp) is list:
        tp = get_args(tp)[0]
    return tp if _is_typeddict(tp) else None


def _text(s: str) -> str:
    return " ".join(s.split()).replace("|", "\\|")


def _row(*cells: str) -> str:
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


# ---------------------------------------------------------------- the tables


def record_table(record: type, *, header: str = "Key", skip: tuple[str, ...] = ()) -> str:
    """Markdown table of *record*'s fields; nested records follow their parent (``balance.in_ml``, ``alarms[].t_s``)."""
    rows = [f"| {header} | Type | Unit | Meaning |", "|---|---|---|---|"]

    def add(rec: type, prefix: str) -> None:
        for key, tp, doc, required in fields(rec):
            if key in skip and not prefix:
                continue
            name = prefix + key
            meaning = _text(doc.text) if required else "Optional: " + _text(doc.text)
            rows.append(_row(f"`{name}`", json_type(tp), doc.unit, meaning))
            inner = _element(tp)
            if inner is not None:
                add(inner, name + ("[]." if get_origin(get_args(tp)[0]) is list else "."))

    add(record, "")
    return "\n".join(rows)


def event_common_table() -> str:
    """The fields every event has."""
    table = record_table(EventBase, header="Field")
    return table + "\n" + _row("`kind`", "string", "", "One of the kinds below.")


def event_kinds_sections() -> str:
    """One subsection per event kind: its meaning and its own fields."""
    base = (*EventBase.__annotations__, "kind")
    parts = []
    for record in EVENT_TYPES:
        (kind,) = get_args(get_type_hints(record)["kind"])
        parts.append(f"#### `{kind}`\n\n{_text(inspect.getdoc(record) or '')}\n")
        parts.append(record_table(record, header="Field", skip=base) + "\n")
    return "\n".join(parts).rstrip("\n")


_WRITTEN = {"d": "integer", ".3f": "3 decimals", ".9g": "9 significant digits"}


def trace_table(columns: tuple[TraceColumn, ...] = TRACE) -> str:
    """The columns of a CSV output (trace.csv by default), in file order."""
    rows = ["| Column | Unit | Written as | Meaning |", "|---|---|---|---|"]
    rows += [_row(f"`{c.name}`", c.unit, _WRITTEN[c.fmt], _text(c.doc)) for c in columns]
    return "\n".join(rows)


#: Generated blocks by marker name.
TABLES: dict[str, Callable[[], str]] = {
    "summary": lambda: record_table(Summary),
    "event-fields": event_common_table,
    "event-kinds": event_kinds_sections,
    "trace": trace_table,
    "run": lambda: record_table(RunInfo),
    "accuracy": lambda: record_table(AccuracyReport),
    "trumpet-csv": lambda: trace_table(TRUMPET_COLUMNS),
    "pk-csv": lambda: trace_table(PK_COLUMNS),
    "trial-csv": lambda: trace_table(TRIAL_COLUMNS),
}


# ---------------------------------------------------------------- the document


def _block(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated: {re.escape(name)} [^>]*-->\n)(.*?)(<!-- end generated: {re.escape(name)} -->)", re.S
    )


def render(text: str) -> str:
    """*text* with every generated block replaced by its current content. Raises ValueError for a missing block."""
    for name, make in TABLES.items():
        m = _block(name).search(text)
        if m is None:
            raise ValueError(f"no generated block {name!r} in the document")
        text = text[: m.start(2)] + "\n" + make() + "\n\n" + text[m.end(2):]
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pumpsim.results.doctables", description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", type=Path, default=DEFAULT_DOC)
    ap.add_argument("--check", action="store_true", help="exit 1 if the file is out of date; change nothing")
    args = ap.parse_args(argv)
    old = args.file.read_text(encoding="utf-8")
    new = render(old)
    if args.check:
        if new != old:
            print(f"{args.file}: generated tables are out of date; run python -m pumpsim.results.doctables",
                  file=sys.stderr)
            return 1
        return 0
    if new != old:
        args.file.write_text(new, encoding="utf-8")
        print(f"{args.file}: tables updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
