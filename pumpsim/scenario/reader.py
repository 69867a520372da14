"""Checking TOML data against a :class:`~pumpsim.scenario.spec.Schema`.

:func:`read` works in two passes and raises :class:`ScenarioError` at the
first problem:

1. **Shape**, over the whole document: every table holds only its own keys
   (a discriminated table only those of its case), tables are tables and
   arrays of tables are arrays of tables. An unknown key is reported before
   anything else, with the nearest known key as a suggestion, so a misspelt
   ``durration`` is named rather than reported as a missing ``duration``.
2. **Values**, table by table in schema order: keys written together that
   exclude each other, then every key parsed (or defaulted: profile, then the
   key's own default), then requirements and ranges, then the sub-tables.
   A range may refer to any key read before it, in this table or another.

The result is a tree of :class:`Section` records holding each key's value in
its internal unit; cross-field rules that need more than one table's records
(deliverability of a prescription) stay in the loader.
"""

from __future__ import annotations

import difflib
from typing import Any

from .errors import MISSING, ScenarioError, Shown
from .quantities import QuantityError
from .spec import Computed, Fixed, Key, Profile, Range, Ref, Required, SameAs, Schema, Table, Unset


class Section:
    """One table as read: its values (internal units; None if left out without default) and sub-tables."""

    def __init__(self, table: Table, path: str, where: str, data: dict[str, Any], case: str | None) -> None:
        #: The schema table, its dotted schema path ("visit.prescription"), and the
        #: place in the file for messages ("visit 2.prescription").
        self.table = table
        self.path = path
        self.where = where
        #: The data as written, and the discriminating case (``mode``) if any.
        self.data = data
        self.case = case
        self.values: dict[str, Any] = {}
        #: What a message shows for each value: as written, or how it was defaulted.
        self.shown: dict[str, object] = {}
        self.tables: dict[str, Section | list[Section] | None] = {}

    def key(self, name: str) -> str:
        """The place of key *name* in messages: ``[pump] fill``, or ``duration`` at the top."""
        return f"[{self.where}] {name}" if self.where else name

    def given(self, name: str) -> bool:
        """True if *name* was written in the file."""
        return name in self.data

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def error(self, name: str, expected: str, value: object = None) -> ScenarioError:
        """A ScenarioError about key *name* (showing *value*, or what was written there)."""
        return ScenarioError(self.key(name), self.shown.get(name, MISSING) if value is None else value, expected)

    def sub(self, name: str) -> Section | None:
        """The sub-table *name*, or None if it was left out."""
        s = self.tables.get(name)
        assert not isinstance(s, list)
        return s

    def array(self, name: str) -> list[Section]:
        """The entries of array table *name* (empty if left out)."""
        s = self.tables.get(name)
        return s if isinstance(s, list) else []

    def fields(self) -> dict[str, Any]:
        """The values of keys that name a record field, by that field (``reservoir_nl``)."""
        return {m.attr: self.values[m.name] for m in self.table.case_members(self.case)
                if isinstance(m, Key) and m.attr is not None}


def read(schema: Schema, data: object) -> Section:
    """Check *data* (as :func:`tomllib.loads` returns it) against *schema*; ScenarioError if invalid."""
    if not isinstance(data, dict):
        raise ScenarioError("scenario", data, "a table")
    profile = _profile(schema, data)
    _check_shape(schema.root, data, "", "", profile)
    return _Reader(schema, profile).table(schema.root, data, "", "")


# ------------------------------------------------------------------ shape


def _child(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _key(where: str, name: str) -> str:
    return f"[{where}] {name}" if where else name


def _case(t: Table, data: dict[str, Any], where: str, path: str, profile: Profile | None) -> str | None:
    """The discriminating value of *t* in *data* (the profile's or its default if left out), checked."""
    if t.variants is None:
        return None
    name = t.variants.key
    k = next(m for m in t.members if isinstance(m, Key) and m.name == name)
    raw = data.get(name, MISSING)
    if raw is MISSING and profile is not None:
        raw = profile.defaults.get(_child(path, name), MISSING)
    if raw is MISSING:
        if isinstance(k.default, Fixed):
            raw = k.default.literal
        else:
            raise ScenarioError(_key(where, name), MISSING, k.kind.expected)
    try:
        return str(k.kind.parse(raw))
    except QuantityError as e:
        raise ScenarioError(_key(where, name), raw, e.expected) from None


def _entries(t: Table, value: object, parent_where: str, path: str, key: str) -> list[tuple[str, dict[str, Any]]]:
    """(place, data) of each entry of sub-table *t* written as *value*; ScenarioError if misshapen."""
    title = t.title(path)
    if not t.array:
        if not isinstance(value, dict):
            raise ScenarioError(key, value, f"a table {title}")
        return [(_child(parent_where, t.name), value)]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(key, value, f"{title} tables (an array of tables)")
    if t.count is not None and not t.count[0] <= len(value) <= t.count[1]:
        raise ScenarioError(key, Shown(f"({len(value)} tables)"), f"{t.count[0]} to {t.count[1]} {title} tables")
    return [(f"{_child(parent_where, t.name)} {i + 1}", v) for i, v in enumerate(value)]


def _check_shape(t: Table, data: dict[str, Any], where: str, path: str, profile: Profile | None) -> None:
    case = _case(t, data, where, path, profile)
    members = {m.name: m for m in t.case_members(case)}
    for name, value in data.items():
        if name not in members:
            raise _unknown(t, case, members, where, path, name, value)
    for m in members.values():
        if isinstance(m, Table) and m.name in data:
            sub_path = _child(path, m.name)
            for w, d in _entries(m, data[m.name], where, sub_path, _key(where, m.name)):
                _check_shape(m, d, w, sub_path, profile)


def _shown_name(m: Key | Table, path: str) -> str:
    return m.title(_child(path, m.name)) if isinstance(m, Table) else m.name


def _unknown(t: Table, case: str | None, members: dict[str, Key | Table], where: str, path: str, name: str,
             value: object) -> ScenarioError:
    """'no such key here (did you mean fill?); known keys: ...' for *name* written in table *t*."""
    known = ", ".join(_shown_name(m, path) for m in members.values())
    here = "here"
    hint = ""
    if t.variants is not None and case is not None:
        here = f'for {t.variants.key} = "{case}"'
        owners = t.variants.cases_of(name)
        if owners:
            hint = f" ({name} belongs to {t.variants.key} = " + ", ".join(f'"{o}"' for o in owners) + ")"
    if not hint:
        lower = {n.lower(): m for n, m in members.items()}
        close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean {_shown_name(lower[close[0]], path)}?)"
    return ScenarioError(_key(where, name), value, f"no such key {here}{hint}; known keys: {known}")


def _profile(schema: Schema, data: dict[str, Any]) -> Profile | None:
    """The profile the data selects (at ``schema.profile_key``), if any; ScenarioError if unknown."""
    if schema.profile_key is None:
        return None
    *tables, name = schema.profile_key.split(".")
    node: object = data
    for p in tables:
        node = node.get(p) if isinstance(node, dict) else None
    if not isinstance(node, dict) or name not in node:
        return None
    raw = node[name]
    if not isinstance(raw, str) or raw not in schema.profiles:
        raise ScenarioError(_key(".".join(tables), name), raw, "one of " + ", ".join(schema.profiles))
    return schema.profiles[raw]


# ------------------------------------------------------------------ values


def range_phrase(rg: Range, lo: str | None, hi: str | None) -> str:
    """The allowed range in words, from bound texts: 'from 0 mL to 5 mL', 'above 0 and at most 100 mg/mL'."""
    if rg.text is not None:
        return rg.text
    if lo is not None and hi is not None:
        if rg.lo_open:
            return f"above {lo} and {'below' if rg.hi_open else 'at most'} {hi}"
        return f"from {lo} to {'below ' if rg.hi_open else ''}{hi}"
    if lo is not None:
        return f"> {lo}" if rg.lo_open else f">= {lo}"
    if hi is not None:
        return f"< {hi}" if rg.hi_open else f"<= {hi}"
    return "any"


class _Reader:
    def __init__(self, schema: Schema, profile: Profile | None) -> None:
        self.schema = schema
        self.profile = profile
        #: Every value read so far by dotted path, with its key (the latest entry of an array).
        self.done: dict[str, tuple[Any, Key]] = {}

    def table(self, t: Table, data: dict[str, Any], where: str, path: str) -> Section:
        sec = Section(t, path, where, data, _case(t, data, where, path, self.profile))
        members = t.case_members(sec.case)
        for ex in t.exclusive:
            a = [n for n in ex.a if n in data]
            if a and any(n in data for n in ex.b):
                raise ScenarioError(sec.key(a[0]), data[a[0]], ex.text)
        keys = [m for m in members if isinstance(m, Key)]
        for k in keys:
            self._value(sec, k)
        # Keys written first: a default out of range because of a key the user
        # wrote (max_rate below the default min_rate) is reported on that key.
        for k in sorted(keys, key=lambda k: not sec.given(k.name)):
            self._check(sec, k)
        for m in members:
            if isinstance(m, Table):
                sec.tables[m.name] = self._sub(sec, m)
        return sec

    def _sub(self, sec: Section, t: Table) -> Section | list[Section] | None:
        path = _child(sec.path, t.name)
        raw = sec.data.get(t.name, MISSING)
        if raw is MISSING:
            if t.presence == "required":
                where = sec.key(t.name) if sec.where else t.title(path)
                title = t.title(path)
                wanted = f"{t.count[0]} to {t.count[1]} {title} tables" if t.count else f"a {title} table"
                raise ScenarioError(where, MISSING, t.missing or wanted)
            if t.array:
                return []
            if t.presence == "implicit":
                return self.table(t, {}, _child(sec.where, t.name), path)
            return None
        entries = [self.table(t, d, w, path) for w, d in _entries(t, raw, sec.where, path, sec.key(t.name))]
        return entries if t.array else entries[0]

    def get(self, sec: Section, path: str) -> Any:
        """The value of key *path*: a key of *sec*'s table, or any key read before by dotted path."""
        return sec.values[path] if path in sec.values else self.done[path][0]

    def _kind_of(self, sec: Section, path: str) -> Key:
        if path in sec.values:
            return next(m for m in sec.table.case_members(sec.case) if isinstance(m, Key) and m.name == path)
        return self.done[path][1]

    def _value(self, sec: Section, k: Key) -> None:
        raw = sec.data.get(k.name, MISSING)
        full = _child(sec.path, k.name)
        if raw is not MISSING:
            try:
                value = k.kind.parse(raw)
            except QuantityError as e:
                raise ScenarioError(sec.key(k.name), raw, e.expected) from None
            shown: object = raw
        else:
            value, shown = self._default(sec, k, full)
        sec.values[k.name] = value
        sec.shown[k.name] = shown
        self.done[full] = (value, k)

    def _default(self, sec: Section, k: Key, full: str) -> tuple[Any, object]:
        if self.profile is not None and full in self.profile.defaults:
            value = k.kind.parse(self.profile.defaults[full])
            return value, Shown(f"(default {k.kind.show(value)} of profile {self.profile.name})")
        d = k.default
        if isinstance(d, Required):
            if any(n in sec.data for n in d.unless):
                return None, MISSING
            raise ScenarioError(sec.key(k.name), MISSING, d.missing or k.kind.expected)
        if isinstance(d, Unset):
            return None, MISSING
        if isinstance(d, Fixed):
            value = k.kind.parse(d.literal)
        elif isinstance(d, SameAs):
            value = self.get(sec, d.path)
        else:
            assert isinstance(d, Computed)
            value = d.fn(lambda p: self.get(sec, p))
            if value is None:  # a computed "none" (no library limit): as if unset
                return None, MISSING
        return value, Shown(f"(default {k.kind.show(value)})")

    def _bound(self, sec: Section, k: Key, b: str | int | Ref | None) -> tuple[Any, str | None]:
        if b is None:
            return None, None
        if isinstance(b, Ref):
            if b.path not in sec.values and b.path not in self.done:
                # The bound is a key of another case (a constant-flow pump has no empty_floor).
                raise sec.error(k.name, f"no {k.name} here: it is bounded by {b.path}, which does not apply to "
                                        "this scenario")
            value = self.get(sec, b.path)
            return value, b.message(self._kind_of(sec, b.path).kind.show(value))
        return k.kind.parse(b), str(b)

    def _check(self, sec: Section, k: Key) -> None:
        v = sec.values[k.name]
        if v is None:
            return
        req = k.requires
        if req is not None and sec.given(k.name) and v is not False and any(n not in sec.data for n in req.keys):
            raise sec.error(k.name, req.text)
        rg = k.range
        if rg is None:
            return
        lo, lo_t = self._bound(sec, k, rg.lo)
        hi, hi_t = self._bound(sec, k, rg.hi)
        ok = (lo is None or (v > lo if rg.lo_open else v >= lo)) and (hi is None or (v < hi if rg.hi_open else v <= hi))
        if not ok:
            raise sec.error(k.name, f"{k.kind.noun} {range_phrase(rg, lo_t, hi_t)}")
