"""The vocabulary the scenario schema is written in.

A :class:`Schema` is a tree of :class:`Table` records whose members are
:class:`Key` records. A key says once what the loader, ``pumpsim sweep`` and
the docs need to know: its :class:`Kind` (a quantity family with its internal
unit, or bool / integer / string / choice), its default, its :class:`Range`
(bounds that may refer to other keys), its docs text, whether a sweep may vary
it, and where its default comes from (:class:`Source`).

A table may be an array of tables (``[[visit]]``), and may be *discriminated*
(:class:`Variants`): one key (``mode``, ``kind``) decides which further keys
belong to it, as ``[prescription] mode`` does today and ``[[fault]] kind`` will.
A :class:`Profile` supplies defaults for any key by its dotted path, which a
scenario selects by name and may still override key by key.

Nothing here knows about pumps; :mod:`pumpsim.scenario.schema` holds the
scenario's keys and :mod:`pumpsim.scenario.reader` checks data against them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from ..units import MS_PER_DAY, MS_PER_H, MS_PER_MIN, MS_PER_S
from .quantities import FAMILIES, Family, QuantityError

# ------------------------------------------------------------------ kinds


@dataclass(frozen=True)
class Kind:
    """What a key's value is: how it is parsed, named and shown."""

    #: The docs' "Kind" column ("volume", "boolean").
    title: str
    #: The kind with an article, in range messages ("a volume").
    noun: str
    #: What a value should look like, for messages about unparsable values.
    expected: str
    parser: Callable[[object], Any]
    #: An internal value as a user would write it ("20 mL"), for messages.
    shower: Callable[[Any], str] = str
    #: The quantity family (sweeps vary only quantities), or None.
    family: Family | None = None
    #: What the docs' "Allowed" column says for a key of this kind without a range.
    allowed: str = ""

    def parse(self, raw: object) -> Any:
        """The internal value of *raw* as written in TOML; QuantityError if it is not one."""
        return self.parser(raw)

    def show(self, value: Any) -> str:
        """*value* (internal units) as text ("20 mL")."""
        return self.shower(value)


def quantity(family: str, parser: Callable[[object], Any], shower: Callable[[Any], str],
             title: str | None = None) -> Kind:
    """A quantity of unit *family*, parsed to its internal unit by *parser*."""
    fam = FAMILIES[family]
    noun = fam.expected.split(" such as")[0]
    return Kind(title or fam.title, noun, fam.expected, parser, shower, fam)


def _boolean(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise QuantityError(raw, "true or false")
    return raw


def _integer(raw: object) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise QuantityError(raw, "an integer")
    return raw


BOOLEAN = Kind("boolean", "true or false", "true or false", _boolean, lambda v: "true" if v else "false")
INTEGER = Kind("integer", "an integer", "an integer", _integer)


def text(max_chars: int | None = None) -> Kind:
    """A string; with *max_chars*, at most that many printable characters."""
    limit = f"at most {max_chars} printable characters"

    def parse(raw: object) -> str:
        if not isinstance(raw, str):
            raise QuantityError(raw, "a string")
        if max_chars is not None and (len(raw) > max_chars or not raw.isprintable()):
            raise QuantityError(raw, limit)
        return raw

    return Kind("string", "a string", "a string", parse, lambda v: f'"{v}"', allowed=limit if max_chars else "")


def choice(options: tuple[str, ...]) -> Kind:
    """One of the strings *options*."""
    expected = "one of " + ", ".join(options)

    def parse(raw: object) -> str:
        if not isinstance(raw, str):
            raise QuantityError(raw, "a string")
        if raw not in options:
            raise QuantityError(raw, expected)
        return raw

    return Kind("string", "a string", expected, parse, lambda v: f'"{v}"',
                allowed=", ".join(f'`"{o}"`' for o in options))


def show_duration(ms: int) -> str:
    """A duration in the largest unit that divides it ("36 d", "90 min", "1500 ms")."""
    for unit, name in ((MS_PER_DAY, "d"), (MS_PER_H, "h"), (MS_PER_MIN, "min"), (MS_PER_S, "s")):
        if ms and ms % unit == 0:
            return f"{ms // unit} {name}"
    return f"{ms / MS_PER_DAY:g} d" if ms >= MS_PER_DAY else f"{ms} ms"


def show_decimal(x: Decimal | float, unit: str) -> str:
    """*x* in *unit* without trailing zeros ("0.25 uL")."""
    return f"{float(x):g} {unit}"


# ------------------------------------------------------------------ defaults


@dataclass(frozen=True)
class Required:
    """The key must be written (unless one of *unless* is); *missing* overrides the message."""

    missing: str | None = None
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fixed:
    """A constant default, written as in a file ("20 mL", true, 0)."""

    literal: object


@dataclass(frozen=True)
class SameAs:
    """The default is another key's value (``fill`` = ``reservoir``); *path* as for :class:`Ref`."""

    path: str


@dataclass(frozen=True)
class Computed:
    """A default computed from keys read before: ``fn(get)`` with ``get(path)`` -> value."""

    fn: Callable[[Callable[[str], Any]], Any]
    #: The docs' text for the rule, after the constant part (if any).
    doc: str
    #: The usual value, written as in a file, for the docs (or None).
    literal: object = None


@dataclass(frozen=True)
class Unset:
    """No default: a key left out reads as None (*doc* says what that means: "no refill")."""

    doc: str


Default = Required | Fixed | SameAs | Computed | Unset
REQUIRED = Required()

# ------------------------------------------------------------------ ranges


@dataclass(frozen=True)
class Ref:
    """Another key's value as a bound: *path* is a key of the same table, or a dotted path.

    *label* formats it for messages: ``{}`` is the value ("the reservoir's {}"
    -> "the reservoir's 20 mL"); by default "NAME (VALUE)".
    """

    path: str
    label: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def message(self, shown: str) -> str:
        return self.label.format(shown) if self.label else f"{self.name} ({shown})"


Bound = str | int | Ref


@dataclass(frozen=True)
class Range:
    """*lo* <= value <= *hi* (``<`` where open). Constant bounds are written as in a file.

    The message and the docs' "Allowed" text are made from the bounds; *text*
    replaces the message's range part where prose says it better.
    """

    lo: Bound | None = None
    hi: Bound | None = None
    lo_open: bool = False
    hi_open: bool = False
    text: str | None = None


def between(lo: Bound, hi: Bound, *, lo_open: bool = False, hi_open: bool = False) -> Range:
    """``lo <= x <= hi`` (``<`` on an open side)."""
    return Range(lo, hi, lo_open, hi_open)


def above(lo: Bound) -> Range:
    """``x > lo``."""
    return Range(lo=lo, lo_open=True)


def at_least(lo: Bound) -> Range:
    """``x >= lo``."""
    return Range(lo=lo)


# ------------------------------------------------------------------ provenance


@dataclass(frozen=True)
class Source:
    """Where a default comes from: a domain.md tag ([C] confirmed, [C2] secondary source, [U] unconfirmed,
    [D] derived)."""

    tag: Literal["C", "C2", "U", "D"]
    #: The domain.md section ("§2.1"), if any.
    section: str = ""
    #: The source in a few words ("Medtronic 'Pump management'").
    note: str = ""

    def doc(self) -> str:
        return " ".join(p for p in (f"[{self.tag}]", self.section, self.note) if p)


# ------------------------------------------------------------------ keys and tables


@dataclass(frozen=True)
class Requires:
    """When the key is written (and true, for a boolean), each of *keys* must be written too."""

    keys: tuple[str, ...]
    #: The message's "expected" text ("a refill in the same visit").
    text: str


@dataclass(frozen=True)
class Key:
    """One scenario key, said once."""

    name: str
    kind: Kind
    default: Default
    #: The docs' "Meaning" text (Markdown).
    doc: str
    range: Range | None = None
    #: ``pumpsim sweep --vary`` may vary it (quantities only).
    vary: bool = False
    source: Source | None = None
    #: The record field the value fills (``PumpSpec.reservoir_nl``), if built generically.
    attr: str | None = None
    requires: Requires | None = None
    #: Extra text for the docs' "Allowed" column (a rule the loader checks in code).
    rule: str = ""


@dataclass(frozen=True)
class Exclusive:
    """Keys of group *a* and of group *b* may not both be written; the error names the first of *a*."""

    a: tuple[str, ...]
    b: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Variants:
    """A discriminated table: the value of *key* picks which of *cases*' members belong to it.

    A member may appear in several cases (the same :class:`Key` object); a key
    of another case is an error naming the case it belongs to.
    """

    key: str
    cases: Mapping[str, tuple[Key | Table, ...]]

    def members(self, case: str) -> tuple[Key | Table, ...]:
        return self.cases[case]

    def all_members(self) -> tuple[Key | Table, ...]:
        seen: dict[str, Key | Table] = {}
        for members in self.cases.values():
            for m in members:
                seen.setdefault(m.name, m)
        return tuple(seen.values())

    def cases_of(self, name: str) -> list[str]:
        return [c for c, members in self.cases.items() if any(m.name == name for m in members)]


Presence = Literal["implicit", "optional", "required"]


@dataclass(frozen=True)
class Table:
    """A TOML table (or array of tables, ``array=True``) and its members, in reading order.

    *presence*: "implicit" tables are read as empty when left out (every key
    takes its default), "optional" ones are simply absent, "required" ones are
    an error when missing (message *missing*). *count* bounds the number of
    entries of an array.
    """

    name: str
    doc: str
    members: tuple[Key | Table, ...]
    array: bool = False
    presence: Presence = "optional"
    count: tuple[int, int] | None = None
    missing: str | None = None
    variants: Variants | None = None
    exclusive: tuple[Exclusive, ...] = ()

    def title(self, path: str) -> str:
        """``[pump]`` or ``[[visit]]`` for the table at dotted *path*."""
        return f"[[{path}]]" if self.array else f"[{path}]"

    def case_members(self, case: str | None) -> tuple[Key | Table, ...]:
        """The members of the table when its discriminator is *case* (all members if not discriminated)."""
        if self.variants is None or case is None:
            return self.members
        return self.members + self.variants.members(case)

    def every_member(self) -> tuple[Key | Table, ...]:
        """Common members, then those of every case (each name once)."""
        if self.variants is None:
            return self.members
        return self.members + tuple(m for m in self.variants.all_members() if m not in self.members)


@dataclass(frozen=True)
class Profile:
    """A named set of defaults (a device profile): dotted key path -> value as written in a file."""

    name: str
    doc: str
    defaults: Mapping[str, object]
    source: Source | None = None


@dataclass(frozen=True)
class Schema:
    """The root table, and the profiles a scenario may select with the key at *profile_key*."""

    root: Table
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    #: Dotted path of the key that selects a profile ("pump.profile"), if profiles exist.
    profile_key: str | None = None

    def tables(self) -> list[tuple[str, Table]]:
        """Every table with its dotted path ("" for the root), parents first."""
        out: list[tuple[str, Table]] = []

        def walk(path: str, t: Table) -> None:
            out.append((path, t))
            for m in t.every_member():
                if isinstance(m, Table):
                    walk(f"{path}.{m.name}" if path else m.name, m)

        walk("", self.root)
        return out

    def keys(self) -> dict[str, Key]:
        """Every key by dotted path ("pump.reservoir", "duration")."""
        return {
            f"{path}.{m.name}" if path else m.name: m
            for path, t in self.tables()
            for m in t.every_member()
            if isinstance(m, Key)
        }
