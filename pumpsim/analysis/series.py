"""Reading a delivered-amount time series from CSV: a gravimetric record or a pumpsim trace.

Two layouts are read, told apart by their header (column order is free,
other columns are ignored, lines starting with ``#`` are comments):

* **Gravimetric** (a balance under the catheter tip): ``t_s,mass_g[,status]``.
  ``t_s`` is the time in seconds from any origin, ``mass_g`` the balance
  reading in grams, ``status`` the balance's own status of that reading
  (MT-SICS: ``S`` stable, ``D`` dynamic, i.e. not yet stable; anything else,
  such as ``+`` overload, ``-`` underload, ``I`` busy or an error code
  ``ES``/``ET``/``EL``, marks a reading that is not a weight). Rows whose
  status is not ``S``, ``D`` or empty are left out and counted.
* **Volume**: ``t_s,volume_ml`` (a volume already), or a pumpsim
  ``trace.csv`` (``t_s,...,delivered_ml,...``: the volume out of the
  catheter tip since t = 0).

Rules: at least two rows; ``t_s`` strictly increasing; every value a finite
number. A violation is a :class:`SeriesError` naming the file, the line, the
column, the value and what was expected, one line.
"""

from __future__ import annotations

import csv
import math
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

#: Balance statuses of a reading that is a weight (MT-SICS ``S S`` stable, ``S D`` dynamic).
WEIGHT_STATUSES = ("S", "D", "")

#: A float64 array (times, volumes).
FloatArray = npt.NDArray[np.float64]

Amount = Literal["mass_g", "volume_ml", "delivered_ml"]
#: The columns that may hold the delivered amount, in the order they are looked for.
AMOUNT_COLUMNS: tuple[Amount, ...] = ("mass_g", "volume_ml", "delivered_ml")


class SeriesError(ValueError):
    """A series file that cannot be analysed; the message is one line naming the place and what was expected."""


@dataclass(frozen=True)
class Series:
    """A delivered-amount time series as read: times (s), amounts (in the unit of *amount*), what was left out."""

    source: str
    amount: Amount
    t_s: FloatArray
    values: FloatArray
    #: Rows left out because the balance's status was not a weight.
    not_weights: int = 0

    @property
    def is_mass(self) -> bool:
        return self.amount == "mass_g"


def read_series(path: Path) -> Series:
    """The series in CSV file *path* (see the module docstring).

    Raises FileNotFoundError if there is no such file and :class:`SeriesError`
    for anything else wrong: not a regular file, not UTF-8, no header or no
    rows, a missing column, a value that is not a finite number, times that
    do not increase.
    """
    name = str(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise SeriesError(f"{name}: expected a regular CSV file")
        with open(path, encoding="utf-8", newline="") as f:
            return _parse(name, f)
    except FileNotFoundError:
        raise
    except UnicodeDecodeError as e:
        raise SeriesError(f"{name}: expected a UTF-8 text CSV file; byte {e.start} is not UTF-8") from None
    except csv.Error as e:
        raise SeriesError(f"{name}: not a readable CSV file ({e})") from None
    except OSError as e:
        raise SeriesError(f"{name}: cannot be read ({e.strerror or e})") from None


class _Lines:
    """The lines of a file without its ``#`` comments, remembering the physical number of the last one read."""

    def __init__(self, f: Iterable[str]) -> None:
        self._f = f
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._f:
            self.number += 1
            if not line.lstrip().startswith("#"):
                yield line


def _parse(name: str, f: Iterable[str]) -> Series:
    lines = _Lines(f)
    rows = csv.reader(lines)
    header = next(rows, None)
    expected = "a header t_s,mass_g[,status] (gravimetric), t_s,volume_ml, or a pumpsim trace.csv"
    if header is None or not any(h.strip() for h in header):
        raise SeriesError(f"{name}: the file is empty; expected {expected} and data rows")
    cols = [h.strip() for h in header]
    if "t_s" not in cols:
        raise SeriesError(f"{name}: no t_s column (columns: {', '.join(cols)}); expected {expected}")
    amount: Amount | None = next((c for c in AMOUNT_COLUMNS if c in cols), None)
    if amount is None:
        raise SeriesError(f"{name}: no mass_g, volume_ml or delivered_ml column (columns: {', '.join(cols)}); "
                          f"expected {expected}")
    it, ia = cols.index("t_s"), cols.index(amount)
    ist = cols.index("status") if amount == "mass_g" and "status" in cols else None
    t: list[float] = []
    v: list[float] = []
    dropped = 0
    for row in rows:
        line = lines.number
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < len(cols):
            raise SeriesError(f"{name} line {line}: {len(row)} fields; expected {len(cols)} ({','.join(cols)})")
        if ist is not None and row[ist].strip() not in WEIGHT_STATUSES:
            dropped += 1
            continue
        ti = _number(name, line, "t_s", row[it], "s")
        vi = _number(name, line, amount, row[ia], "g" if amount == "mass_g" else "mL")
        if t and ti <= t[-1]:
            raise SeriesError(f"{name} line {line}: t_s = {row[it].strip()} is not after the previous row's "
                              f"{t[-1]:g}; expected strictly increasing times")
        t.append(ti)
        v.append(vi)
    if len(t) < 2:
        what = "no data rows" if not t else "one data row"
        more = f" ({dropped} rows had a balance status that is not a weight)" if dropped else ""
        raise SeriesError(f"{name}: {what}{more}; expected at least two rows of {', '.join(['t_s', amount])}")
    return Series(name, amount, np.asarray(t, dtype=np.float64), np.asarray(v, dtype=np.float64), dropped)


def _number(name: str, line: int, col: str, text: str, unit: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise SeriesError(f"{name} line {line}: {col} = {text.strip()!r}: expected a number ({unit})") from None
    if not math.isfinite(x):
        raise SeriesError(f"{name} line {line}: {col} = {text.strip()!r}: expected a finite number ({unit})")
    return x
