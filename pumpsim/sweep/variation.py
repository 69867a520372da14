"""Varying scenario parameters: the ``--vary KEY=DIST`` grammar, the draws, and writing samples back.

A ``--vary`` argument names a numeric scenario key by its dotted TOML path
(``pump.calibration_error``, ``visit.2.refill``) and a distribution whose
arguments are quantities in that key's units. :func:`parse_vary` checks it
into a :class:`VarySpec`; a draw is written back into the scenario's TOML data
as a quantity string (:func:`set_sample`) and validated by the scenario loader
like a file would be. The special key ``visit.at`` jitters every visit by its
own offset (:func:`jitter_visits`).

Which keys may be varied, and the unit family of each, come from
:func:`variable_tables` and :func:`unit_family` only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from ..scenario import quantities
from ..scenario.model import Scenario
from ..scenario.quantities import Family
from ..scenario.schema import array_tables, unit_families, variable_keys
from .errors import SweepError

#: Jitter every visit's time independently (a key without an index).
VISIT_AT = "visit.at"
EXAMPLE = "pump.calibration_error=normal(0 %, 3 %)"
_NUM = quantities.NUMBER  # the scenario loader's number syntax (ASCII digits)


@dataclass(frozen=True)
class VariableTable:
    """The numeric keys of one scenario table that a sweep may vary."""

    #: key -> unit family name
    keys: Mapping[str, str]
    #: A TOML array of tables (``[[visit]]``): a key into it needs a 1-based index.
    array: bool = False


def _tables() -> dict[str, VariableTable]:
    arrays = array_tables()
    return {path: VariableTable(keys, path in arrays) for path, keys in variable_keys().items()}


# Derived once from the declarative scenario schema: the keys marked ``vary`` there, with their unit family.
_TABLES = _tables()
_FAMILIES = unit_families()


def variable_tables() -> Mapping[str, VariableTable]:
    """The scenario tables with keys a sweep may vary, by dotted table path ("" is the top level)."""
    return _TABLES


def unit_family(name: str) -> Family:
    """The unit family called *name* (KeyError if there is none)."""
    return _FAMILIES[name]


#: Distribution name -> its argument names.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": ("MEAN", "SD"),
    "uniform": ("LO", "HI"),
    "triangular": ("LO", "MODE", "HI"),
    "lognormal": ("MEDIAN", "GSD"),
    "choice": ("A", "B", "..."),
}


@dataclass(frozen=True)
class VarySpec:
    """One ``--vary KEY=DIST`` argument, checked.

    ``values`` are the arguments in the first argument's ``unit`` (for
    lognormal the GSD is a plain number); ``path`` leads to the key in the TOML
    data, with 0-based list indices.
    """

    key: str
    dist: str
    args: tuple[str, ...]
    family: str
    unit: str
    values: tuple[float, ...]
    path: tuple[str | int, ...]
    #: Base units (ms for a duration) per one ``unit``: used for visit.at offsets.
    unit_scale: float = 1.0

    @property
    def text(self) -> str:
        """The normalised ``KEY=DIST(ARGS)`` (as stored in sweep.json)."""
        return f"{self.key}={self.dist}({', '.join(self.args)})"

    def center(self) -> float:
        """The distribution's central value (mean, mode, median, midpoint, first choice)."""
        v = self.values
        if self.dist == "uniform":
            return (v[0] + v[1]) / 2
        if self.dist == "triangular":
            return v[1]
        return v[0]

    def _draw(self, rng: np.random.Generator, size: int | None) -> Any:
        """numpy's draw: a scalar if *size* is None, else an array; for choice, indices into ``args``."""
        v = self.values
        if self.dist == "normal":
            return rng.normal(v[0], v[1], size)
        if self.dist == "uniform":
            return rng.uniform(v[0], v[1], size)
        if self.dist == "triangular":
            return rng.triangular(v[0], v[1], v[2], size)
        if self.dist == "lognormal":
            return rng.lognormal(math.log(v[0]), math.log(v[1]), size)
        return rng.integers(len(v), size=size)

    def as_text(self, x: float) -> str:
        """A number in ``unit`` as the quantity string written into the TOML data (10 significant digits)."""
        return f"{float(x):.10g} {self.unit}"

    def sample_text(self, rng: np.random.Generator) -> str:
        """Draw one value: the quantity string to write into the TOML data (for choice, the argument as given)."""
        x = self._draw(rng, None)
        if self.dist == "choice":
            return self.args[int(x)]
        return self.as_text(float(x))

    def samples(self, rng: np.random.Generator, n: int) -> list[tuple[float, str]]:
        """Draw *n* values at once: (value in ``unit``, its text) each."""
        x = self._draw(rng, n)
        if self.dist == "choice":
            return [(self.values[int(i)], self.args[int(i)]) for i in x]
        return [(float(v), self.as_text(float(v))) for v in x]


def _quantity(text: str, family: Family) -> tuple[Decimal, str, Decimal] | None:
    """(number, unit as written, unit scale) if *text* is a quantity of *family*."""
    m = _NUM.match(text)
    if not m:
        return None
    try:
        value = Decimal(m.group(1))
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None
    if value and abs(value.adjusted()) > quantities.MAX_EXPONENT:
        return None  # reported as "not a quantity", like the scenario loader does
    unit = m.group(2).strip()
    scale = family.scale(unit.replace(" ", "").lower())
    if scale is None:
        return None
    return value, unit, scale


def _resolve_key(key: str, arg: str) -> tuple[str, tuple[str | int, ...]]:
    """(unit family, data path) of a dotted KEY; SweepError if it is not a variable numeric key."""
    if key == VISIT_AT:
        return "duration", ()
    parts = key.split(".")
    if any(p == "" for p in parts):
        raise SweepError(f"--vary {arg}: {key!r} is not a dotted TOML key such as pump.calibration_error")
    tables = variable_tables()
    table: list[str] = []
    path: list[str | int] = []
    j = 0
    while j < len(parts) - 1:
        part = parts[j]
        if part.isdigit():
            raise SweepError(f"--vary {arg}: unexpected index {part} after {'.'.join(parts[:j]) or 'the top'}")
        table.append(part)
        path.append(part)
        tname = ".".join(table)
        if tname not in tables:
            raise SweepError(f"--vary {arg}: no table [{tname}] with numeric keys; tables: "
                             + ", ".join(sorted(t for t in tables if t)))
        j += 1
        if tables[tname].array:
            idx = parts[j] if j < len(parts) - 1 else ""
            if not idx.isdigit() or int(idx) < 1:
                hint = " (or visit.at to jitter every visit)" if tname == "visit" else ""
                raise SweepError(f"--vary {arg}: [[{tname}]] is a list; name one entry with a 1-based index, "
                                 f"e.g. {tname}.1.{parts[-1]}{hint}")
            path.append(int(idx) - 1)
            j += 1
    tname, leaf = ".".join(table), parts[-1]
    keys = tables[tname].keys
    if leaf not in keys:
        where = f"[{tname}]" if tname else "the top level"
        raise SweepError(f"--vary {arg}: {key} is not a numeric scenario key; numeric keys in {where}: "
                         + ", ".join(sorted(keys)))
    path.append(leaf)
    return keys[leaf], tuple(path)


def parse_vary(arg: str) -> VarySpec:
    """Parse one ``KEY=DIST`` argument.

    Raises :class:`SweepError` quoting *arg* when the key is not a variable
    numeric key, the distribution or its argument count is unknown, an argument
    is not a quantity of the key's unit family, or the arguments are out of
    order (SD < 0, LO > HI, GSD < 1, MEDIAN <= 0, ...).
    """
    if "=" not in arg:
        raise SweepError(f"--vary {arg}: expected KEY=DISTRIBUTION, e.g. {EXAMPLE}")
    key, _, dist_text = arg.partition("=")
    key = key.strip()
    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*\((.*)\)\s*", dist_text)
    if not key:
        raise SweepError(f"--vary {arg}: expected KEY=DISTRIBUTION, e.g. {EXAMPLE}")
    if not m or m.group(1).lower() not in DISTRIBUTIONS:
        raise SweepError(f"--vary {arg}: expected a distribution normal(MEAN, SD), uniform(LO, HI), "
                         "triangular(LO, MODE, HI), lognormal(MEDIAN, GSD) or choice(A, B, ...)")
    dist = m.group(1).lower()
    args = tuple(" ".join(a.split()) for a in m.group(2).split(","))
    names = DISTRIBUTIONS[dist]
    if dist == "choice":
        if not args or any(not a for a in args):
            raise SweepError(f"--vary {arg}: choice takes one or more quantities, e.g. choice(17 d, 21 d)")
    elif len(args) != len(names) or any(not a for a in args):
        got = 0 if args == ("",) else len(args)
        raise SweepError(f"--vary {arg}: {dist} takes {len(names)} arguments ({', '.join(names)}), got {got}")
    family_name, path = _resolve_key(key, arg)
    fam = unit_family(family_name)
    quantity_args = args[:1] if dist == "lognormal" else args
    arg_names = ("value",) * len(args) if dist == "choice" else names
    parsed = []
    for name, a in zip(arg_names, quantity_args, strict=False):
        q = _quantity(a, fam)
        if q is None:
            raise SweepError(f"--vary {arg}: {name} {a!r} is not {fam.expected}, as {key} needs")
        parsed.append(q)
    unit, scale0 = parsed[0][1], parsed[0][2]
    values = [float(v * s / scale0) for v, _, s in parsed]
    if dist == "lognormal":
        try:
            gsd = Decimal(args[1])
        except InvalidOperation:
            gsd = Decimal("NaN")
        if not gsd.is_finite() or gsd < 1:
            raise SweepError(f"--vary {arg}: GSD {args[1]!r} must be a plain number >= 1 (no unit), e.g. 1.1")
        if values[0] <= 0:
            raise SweepError(f"--vary {arg}: MEDIAN must be above 0")
        values.append(float(gsd))
    if dist == "normal" and values[1] < 0:
        raise SweepError(f"--vary {arg}: SD must be >= 0")
    if dist == "uniform" and not values[0] <= values[1]:
        raise SweepError(f"--vary {arg}: expected LO <= HI")
    if dist == "triangular" and not (values[0] <= values[1] <= values[2] and values[0] < values[2]):
        raise SweepError(f"--vary {arg}: expected LO <= MODE <= HI and LO < HI")
    return VarySpec(key=key, dist=dist, args=args, family=family_name, unit=unit, values=tuple(values),
                    path=path, unit_scale=float(scale0))


def set_sample(data: dict[str, Any], path: tuple[str | int, ...], value: str) -> None:
    """Write *value* at *path* into TOML *data*, creating missing tables (list entries must exist)."""
    node: Any = data
    for p in path[:-1]:
        node = node[p] if isinstance(p, int) else node.setdefault(p, {})
    node[path[-1]] = value


def check_path(data: dict[str, Any], spec: VarySpec, arg: str) -> None:
    """The tables on the way to *spec*'s key exist (or can be created) in *data*; SweepError quoting *arg* if not."""
    node: Any = data
    shown: list[str] = []
    tables = variable_tables()
    for p in spec.path[:-1]:
        if isinstance(p, int):
            if not isinstance(node, list) or p >= len(node):
                n = len(node) if isinstance(node, list) else 0
                raise SweepError(f"--vary {arg}: the scenario has {n} [[{'.'.join(shown)}]] entries, "
                                 f"not {p + 1}")
            node = node[p]
        else:
            shown.append(p)
            nxt = node.get(p) if isinstance(node, dict) else None
            if nxt is None:
                nxt = {}
            table = tables.get(".".join(shown))
            if table is not None and table.array and not isinstance(nxt, list):
                raise SweepError(f"--vary {arg}: the scenario has no [[{'.'.join(shown)}]] entries")
            node = nxt


def jitter_visits(sc: Scenario, spec: VarySpec, rng: np.random.Generator) -> tuple[Scenario, list[str]]:
    """Shift every visit of *sc* by its own draw of *spec* (an offset); returns the scenario and the offsets' texts.

    A shifted time is clamped to [0, duration] and the visits are re-sorted by time.
    """
    n = len(sc.visits)
    if n == 0:
        return sc, []
    drawn = spec.samples(rng, n)
    visits = [replace(v, at_ms=min(max(v.at_ms + round(off * spec.unit_scale), 0), sc.duration_ms))
              for v, (off, _) in zip(sc.visits, drawn, strict=True)]
    visits.sort(key=lambda v: v.at_ms)
    return replace(sc, visits=tuple(visits)), [text for _, text in drawn]
