"""The docs' key and unit tables, generated from the scenario schema.

Each generated block in a Markdown file sits between two marker lines::

    <!-- BEGIN GENERATED keys:pump -->
    ...
    <!-- END GENERATED keys:pump -->

Blocks: ``units`` (units of each quantity family), ``keys:PATH`` (the keys of
the table at dotted PATH, ``keys:`` for the top level), ``profiles`` (the
device profiles and the values they give), ``library`` (the built-in drug
library) and ``vary`` (the keys ``pumpsim
sweep --vary`` may vary). Everything outside the markers is prose and
is left alone. Regenerate with::

    python -m pumpsim.scenario.docgen --write docs/scenario-format.md docs/sweep.md

and check (as the tests do) with ``--check``, which exits 1 if a file differs.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from . import drug_library
from .quantities import FAMILIES, Family
from .reader import range_phrase, read
from .schema import SCENARIO, array_tables, variable_keys
from .spec import Computed, Fixed, Key, Ref, Required, SameAs, Schema, Table, Unset

#: The files that hold generated blocks, relative to the repository root.
DOC_FILES = ("docs/scenario-format.md", "docs/sweep.md")

_BLOCK = re.compile(r"(<!-- BEGIN GENERATED (\S*) -->\n)(.*?)(<!-- END GENERATED \2 -->)", re.S)


def _code(literal: object) -> str:
    if isinstance(literal, bool):
        return f"`{'true' if literal else 'false'}`"
    if isinstance(literal, str):
        return f'`"{literal}"`'
    return f"`{literal}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _bound_doc(b: object) -> str | None:
    if b is None:
        return None
    if isinstance(b, Ref):
        return f"`{b.name}`"
    return str(b)


def default_doc(k: Key) -> str:
    """The "Default" cell of key *k*: its default and, where the reference gives it, the source."""
    d = k.default
    if isinstance(d, Required):
        out = "**required**" + (" unless " + " or ".join(f"`{u}`" for u in d.unless) if d.unless else "")
    elif isinstance(d, Fixed):
        out = _code(d.literal)
    elif isinstance(d, SameAs):
        out = f"= `{d.path.rsplit('.', 1)[-1]}`"
    elif isinstance(d, Computed):
        out = _code(d.literal) if d.literal is not None else ""
    else:
        assert isinstance(d, Unset)
        out = d.doc
    if k.source is not None:
        out += " " + k.source.doc()
    if isinstance(d, Computed):
        out += ("; " if out else "") + d.doc
    return out


def allowed_doc(t: Table, k: Key) -> str:
    """The "Allowed" cell of key *k* in table *t*: range, options, and the rules between keys."""
    parts: list[str] = []
    if k.range is not None:
        parts.append(range_phrase(k.range, _bound_doc(k.range.lo), _bound_doc(k.range.hi)))
    elif k.kind.allowed:
        parts.append(k.kind.allowed)
    if k.requires is not None:
        prefix = "`true` needs " if k.kind.title == "boolean" else "needs "
        parts.append(prefix + " and ".join(f"`{n}`" for n in k.requires.keys))
    for ex in t.exclusive:
        for mine, other in ((ex.a, ex.b), (ex.b, ex.a)):
            if k.name in mine:
                parts.append("not with " + " or ".join(_member_doc(t, n) for n in other))
    if k.rule:
        parts.append(k.rule)
    return "; ".join(parts)


def _member_doc(t: Table, name: str) -> str:
    m = next((m for m in t.every_member() if m.name == name), None)
    if isinstance(m, Table):
        return f"`[{t.name}.{name}]`" if t.name else f"`[{name}]`"
    return f"`{name}`"


def key_table(schema: Schema, path: str) -> str:
    """The Markdown table of the keys of the table at dotted *path* ("" for the top level)."""
    table = dict(schema.tables())[path]
    cases = table.variants
    head = ["Key", "Kind", "Default", "Allowed", "Meaning"]
    if cases is not None:
        head.insert(2, cases.key.capitalize() + "s")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in table.every_member():
        sub = f"{path}.{m.name}" if path else m.name
        if isinstance(m, Table):
            count = f"{m.count[0]} to {m.count[1]} entries" if m.count else ""
            presence = "**required**" if m.presence == "required" else ("none" if m.array else "not given")
            row = [f"`{m.title(sub)}`", "tables" if m.array else "table", presence, count, m.doc]
        else:
            row = [f"`{m.name}`", m.kind.title, default_doc(m), allowed_doc(table, m), m.doc]
        if cases is not None:
            owners = cases.cases_of(m.name)
            row.insert(2, "all" if not owners else ", ".join(owners))
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def _units_of(f: Family) -> str:
    if f.den is None:
        return ", ".join(f"`{u}`" for u in _written(f.num))
    return f"any {_simple_name(f.num)} unit `/` " + ", ".join(f"`{u}`" for u in _written(f.den))


def _written(table: Mapping[str, Decimal]) -> list[str]:
    """Unit names as users write them (the tables hold them in lower case)."""
    shown = {"ml": "mL", "ul": "uL", "µl": "µL", "μl": "μL", "nl": "nL", "kpa": "kPa", "pa": "Pa", "mmhg": "mmHg",
             "c": "C", "°c": "°C", "degc": "degC"}
    return [shown.get(u, u) for u in table]


def _simple_name(num: Mapping[str, Decimal]) -> str:
    for f in FAMILIES.values():
        if f.den is None and f.num == num:
            return f.name
    return "volume"  # flow rates count in pL but are written in any volume unit


def units_table() -> str:
    """The Markdown table of the units each quantity family accepts."""
    lines = ["| Kind | Accepted units | Stored as |", "|---|---|---|"]
    for f in FAMILIES.values():
        lines.append(f"| {f.title} | {_units_of(f)} | {f.base} |")
    lines.append('| time of day | `"HH:MM"` from `"00:00"` to `"23:59"` (`"6:30"` is accepted) | ms after midnight |')
    return "\n".join(lines) + "\n"


def vary_table(schema: Schema = SCENARIO) -> str:
    """The Markdown table of the keys ``pumpsim sweep --vary`` may vary, by table."""
    arrays = array_tables(schema)
    lines = ["| Table | Keys that can be varied |", "|---|---|"]
    for path, keys in variable_keys(schema).items():
        parts = path.split(".") if path else []
        shown, letters = [], iter("NMKL")
        for i in range(len(parts)):
            shown.append(parts[i])
            if ".".join(parts[: i + 1]) in arrays:
                shown.append(next(letters))
        name = f"`{'.'.join(shown)}`" if path else "top level"
        lines.append(f"| {name} | " + ", ".join(f"`{k}`" for k in keys) + " |")
    return "\n".join(lines) + "\n"


#: The ``[pump]`` keys the profiles table shows, by mechanism (values as a profile's file would read them).
_PROFILE_KEYS = {
    "peristaltic": ("reservoir", "accuracy", "stroke_volume", "low_reservoir_alarm"),
    "valve_gated": ("reservoir", "accuracy", "aliquot_volume", "low_reservoir_alarm", "fav_volume"),
    "constant_flow": ("reservoir", "accuracy", "nominal_rate", "propellant_pressure"),
}


def profiles_table(schema: Schema = SCENARIO) -> str:
    """The Markdown table of the device profiles: the main values each one gives, read through the schema."""
    lines = ["| `profile` | Mechanism | Main values (defaults) | Description | Source |", "|---|---|---|---|---|"]
    keys = dict(schema.tables())["pump"]
    for prof in schema.profiles.values():
        pump = read(schema, {"duration": "1 d", "pump": {"profile": prof.name},
                             "drug": {"concentration": "1 mg/mL"}}).sub("pump")
        assert pump is not None
        mech = pump["mechanism"]
        shown = []
        for name in _PROFILE_KEYS[mech]:
            k = next(m for m in keys.every_member() if isinstance(m, Key) and m.name == name)
            shown.append(f"`{name}` {k.kind.show(pump[name])}")
        source = prof.source.doc() if prof.source is not None else ""
        lines.append(f"| `{prof.name}` | `{mech}` | {', '.join(shown)} | {_cell(prof.doc)} | {source} |")
    return "\n".join(lines) + "\n"


def library_table() -> str:
    """The Markdown table of the built-in drug library: each drug's limits and their sources."""
    lines = ["| Drug (also) | Limit (`[drug.limits]` key) | Value | Source |", "|---|---|---|---|"]
    for drug, limits in drug_library.LIBRARY.items():
        aliases = [a for a, d in drug_library.ALIASES.items() if d == drug]
        name = f"`{drug}`" + (f" ({', '.join(aliases)})" if aliases else "")
        for key, (value, source) in limits.items():
            lines.append(f"| {name} | `{key}` | {value} | {_cell(source)} |")
            name = ""
    return "\n".join(lines) + "\n"


def block(name: str, schema: Schema = SCENARIO) -> str:
    """The generated text of block *name* ("units", "vary", "profiles", "library", "keys:pump")."""
    if name == "units":
        return units_table()
    if name == "profiles":
        return profiles_table(schema)
    if name == "library":
        return library_table()
    if name == "vary":
        return vary_table(schema)
    if name.startswith("keys:"):
        return key_table(schema, name[len("keys:"):])
    raise ValueError(f"unknown generated block {name!r}")


def render(text: str, schema: Schema = SCENARIO) -> str:
    """*text* with every generated block replaced by its current content."""
    return _BLOCK.sub(lambda m: m.group(1) + block(m.group(2), schema) + m.group(4), text)


def blocks(text: str) -> list[str]:
    """Names of the generated blocks in *text*."""
    return [m.group(2) for m in _BLOCK.finditer(text)]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pumpsim.scenario.docgen [--write | --check] FILE...``."""
    p = argparse.ArgumentParser(prog="python -m pumpsim.scenario.docgen",
                                description="Regenerate the schema's tables in Markdown docs.")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the generated blocks in place")
    mode.add_argument("--check", action="store_true", help="exit 1 if a generated block is out of date")
    p.add_argument("files", nargs="*", type=Path, help=f"Markdown files (default: {' '.join(DOC_FILES)})")
    args = p.parse_args(argv)
    stale = []
    for path in args.files or [Path(f) for f in DOC_FILES]:
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            stale.append(str(path))
            if args.write:
                path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print("out of date (run python -m pumpsim.scenario.docgen --write): " + ", ".join(stale), file=sys.stderr)
        return 1
    for s in stale if args.write else []:
        print(f"updated {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
