"""The columns of trace.csv, each defined once: name (with its unit), type, text format, docs text.

The engine computes the columns (``pumpsim.engine.trace``), the sinks write
them in this order and format, and docs/output-format.md's column table is
generated from :data:`TRACE` (:mod:`pumpsim.results.doctables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True, slots=True)
class TraceColumn:
    """One trace column: *name* carries the unit; *fmt* is the format spec of a value in trace.csv."""

    name: str
    unit: str
    dtype: Literal["int64", "float64"]
    fmt: str
    doc: str


_SIG9 = ".9g"  # 9 significant digits: float64 physical values, read back to ~1 part in 1e9

#: The trace columns, in file order.
TRACE: tuple[TraceColumn, ...] = (
    TraceColumn("t_s", "s", "float64", ".3f", "Time (3 decimals, i.e. ms resolution)."),
    TraceColumn("strokes", "strokes", "int64", "d",
                "Motor strokes (valve-gated: aliquots) since t = 0; 0 for a constant-flow pump."),
    TraceColumn("reservoir_actual_ml", "mL", "float64", _SIG9, "Real reservoir volume."),
    TraceColumn("reservoir_estimated_ml", "mL", "float64", _SIG9,
                "Firmware's estimate (1 nL resolution); `nan` for a constant-flow pump (no firmware)."),
    TraceColumn("delivered_ml", "mL", "float64", _SIG9,
                "Volume out of the catheter tip since t = 0 (= volume pumped)."),
    TraceColumn("delivered_mg", "mg", "float64", _SIG9,
                "Drug mass out of the catheter tip since t = 0. Its slope is the dose rate the patient receives."),
    TraceColumn("catheter_tip_mg_per_ml", "mg/mL", "float64", _SIG9,
                "Concentration of the fluid now leaving the tip (0 while an unprimed catheter's drug-free content "
                "is pushed out; the old concentration until a concentration change has travelled through the dead "
                "volume)."),
    TraceColumn("dose_rate_mg_per_day", "mg/day", "float64", _SIG9,
                "The firmware's programmed dose rate at the pump outlet at that instant: the stroke timer's current "
                "rate × the concentration the firmware believes the reservoir holds (the old one during a bridge "
                "bolus); 0 while delivery is stopped. Constant-flow pump: its flow rate (the flow law in the "
                "environment in force) × the concentration last injected."),
    TraceColumn("alarm_low_reservoir", "0/1", "int64", "d", "1 while the low-reservoir alarm is active."),
    TraceColumn("alarm_empty_reservoir", "0/1", "int64", "d", "1 while the empty-reservoir alarm is active."),
)

#: Column names, in file order.
TRACE_COLUMNS: tuple[str, ...] = tuple(c.name for c in TRACE)


def empty_trace() -> dict[str, np.ndarray]:
    """A trace with no rows (every column, its dtype)."""
    return {c.name: np.zeros(0, dtype=c.dtype) for c in TRACE}


def csv_rows(cols: Mapping[str, np.ndarray]) -> list[tuple[str, ...]]:
    """A batch of trace rows as CSV fields, each value in its column's format."""
    formatted = [[format(v, c.fmt) for v in cols[c.name].tolist()] for c in TRACE]
    return list(zip(*formatted, strict=True))
