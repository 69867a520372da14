"""The generated parts of docs/hil-bench.md: the built-in phases with their measurements, and the limits.

The phase table is read from the phases themselves (:data:`hil.bench.phases.BUILTIN`:
each measurement's name, unit and limit as OpenHTF holds them, ``{key}``
naming a limit), the limit table from :class:`hil.bench.plan.Limits`.
``python -m hil.bench.docgen`` rewrites the blocks, ``--check`` exits 1 if
they are stale (the tests run it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..docgen import _cell, main as _main
from .phases import BUILTIN, LATENESS
from .plan import Limits

DOC = Path(__file__).resolve().parents[2] / "docs" / "hil-bench.md"


def _measurement(m: Any) -> str:
    unit = f" ({m.units.suffix})" if m.units is not None and m.units.suffix else ""
    limits = ", ".join(str(v) for v in m.validators) or "recorded"
    return f"`{m.name}`{unit}: {_cell(limits)}"


def phase_table() -> str:
    rows = ["| Phase | What it does | Measurements: limit |", "|---|---|---|"]
    for name, phase in BUILTIN.items():
        ms = list(phase.measurements) + ([LATENESS] if name == "deliver" else [])
        doc = " ".join((phase.func.__doc__ or "").split("\n\n")[0].split())
        cells = "<br>".join(_measurement(m) + (" (`--clock realtime` only)" if m is LATENESS else "") for m in ms)
        rows.append(f"| `{name}` | {_cell(doc)} | {cells} |")
    return "\n".join(rows)


def limit_table() -> str:
    rows = ["| Key (`--limit KEY=VALUE`) | Default | Unit | Meaning |", "|---|---|---|---|"]
    rows += [f"| `{k}` | {d} | {u} | {_cell(doc)} |" for k, d, u, doc in Limits.docs()]
    return "\n".join(rows)


BLOCKS: dict[str, Callable[[], str]] = {"bench-phases": phase_table, "bench-limits": limit_table}


def main(argv: list[str] | None = None) -> int:
    return _main(argv, prog="hil.bench.docgen", doc=DOC, blocks=BLOCKS)


if __name__ == "__main__":
    sys.exit(main())
