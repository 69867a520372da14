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


def csv_rows(cols: Mapping[str, np.ndarray], columns: tuple[TraceColumn, ...] = TRACE) -> list[tuple[str, ...]]:
    """A batch of rows of *columns* (trace.csv's by default) as CSV fields, each value in its column's format."""
    formatted = [[format(v, c.fmt) for v in cols[c.name].tolist()] for c in columns]
    return list(zip(*formatted, strict=True))


#: The columns of trumpet.csv (``pumpsim trumpet``; the same fields as accuracy.json's ``trumpet`` rows).
TRUMPET_COLUMNS: tuple[TraceColumn, ...] = (
    TraceColumn("window_min", "min", "float64", _SIG9, "Observation window P."),
    TraceColumn("window_s", "s", "float64", _SIG9, "The same, in seconds."),
    TraceColumn("n", "intervals", "int64", "d", "Sampling intervals S per window."),
    TraceColumn("windows", "", "int64", "d", "Windows evaluated, m = N - n + 1."),
    TraceColumn("ep_max_pct", "%", "float64", _SIG9, "Ep(max): the largest error of the mean flow in a window."),
    TraceColumn("ep_min_pct", "%", "float64", _SIG9, "Ep(min): the smallest error of the mean flow in a window."),
)

#: The columns of pk.csv (a run with a ``[patient]`` table): one row per trace row, at the same times.
PK_COLUMNS: tuple[TraceColumn, ...] = (
    TraceColumn("t_s", "s", "float64", ".3f", "Time, as the trace row's."),
    TraceColumn("tip_dose_rate_mg_per_day", "mg/day", "float64", _SIG9,
                "Drug leaving the catheter tip over the interval that ends at this row (0 at t = 0): the model's "
                "input, taken as constant between two rows."),
    TraceColumn("csf_ng_per_ml", "ng/mL", "float64", _SIG9, "CSF concentration of the one-compartment model."),
    TraceColumn("withdrawal_risk", "0/1", "int64", "d",
                "1 while a withdrawal episode has lasted at least `withdrawal_from` (the concentration below the "
                "withdrawal level that long)."),
)

#: The columns of trial.csv (a ``[patient.trial]``): the trial's CSF curve from the start of the trial dose.
TRIAL_COLUMNS: tuple[TraceColumn, ...] = (
    TraceColumn("t_s", "s", "float64", ".3f", "Time from the start of the trial dose (every minute, and the end of "
                                              "the dose)."),
    TraceColumn("csf_ng_per_ml", "ng/mL", "float64", _SIG9, "CSF concentration."),
)
