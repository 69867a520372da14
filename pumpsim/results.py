"""Run outputs: where events, trace rows and the summary go.

A run hands its outputs to a *sink*. :class:`MemorySink` keeps everything for
the Python API; :class:`DirectorySink` streams ``events.jsonl`` and
``trace.csv`` to disk as the run goes, flushing each batch, and writes
``summary.json`` atomically at the end, so a run stopped part-way (Ctrl-C)
leaves readable files. The formats are documented in docs/output-format.md.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np

from .fileio import write_json_atomic

#: Trace columns, in file order, with their units in the name.
TRACE_COLUMNS = (
    "t_s",
    "strokes",
    "reservoir_actual_ml",
    "reservoir_estimated_ml",
    "delivered_ml",
    "delivered_mg",
    "catheter_tip_mg_per_ml",
    "dose_rate_mg_per_day",
    "alarm_low_reservoir",
    "alarm_empty_reservoir",
)


class Sink(Protocol):
    """Receives a run's outputs as they are produced."""

    def event(self, ev: dict[str, Any]) -> None:
        """One event (already JSON-ready)."""

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        """A batch of trace rows, one array per column of :data:`TRACE_COLUMNS`."""

    def close(self, summary: dict[str, Any]) -> None:
        """The run ended (completely or not); *summary* is final."""


@dataclass
class SimulationResult:
    """What :func:`pumpsim.simulate` returns."""

    summary: dict[str, Any]
    events: list[dict[str, Any]]
    #: Trace columns (see :data:`TRACE_COLUMNS`), or None when streamed to disk only.
    trace: dict[str, np.ndarray] | None = None
    out_dir: Path | None = None

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        """Events of one *kind*, in time order."""
        return [e for e in self.events if e["kind"] == kind]


@dataclass
class MemorySink:
    """Keeps events and trace in memory."""

    keep_trace: bool = True
    events: list[dict[str, Any]] = field(default_factory=list)
    _chunks: list[dict[str, np.ndarray]] = field(default_factory=list)
    summary: dict[str, Any] | None = None

    def event(self, ev: dict[str, Any]) -> None:
        self.events.append(ev)

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        if self.keep_trace:
            self._chunks.append(cols)

    def close(self, summary: dict[str, Any]) -> None:
        self.summary = summary

    def trace(self) -> dict[str, np.ndarray] | None:
        """All trace rows received, concatenated per column."""
        if not self.keep_trace:
            return None
        if not self._chunks:
            return {c: np.zeros(0) for c in TRACE_COLUMNS}
        return {c: np.concatenate([ch[c] for ch in self._chunks]) for c in TRACE_COLUMNS}


_INT_COLUMNS = {"strokes", "alarm_low_reservoir", "alarm_empty_reservoir"}


class DirectorySink:
    """Streams a run into *out_dir* (created if needed; existing run files are refused).

    Also keeps the events in memory (they are few) so the caller gets them back.
    """

    FILES = ("summary.json", "events.jsonl", "trace.csv")

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        clash = [f for f in self.FILES if (out_dir / f).exists()]
        if clash:
            raise FileExistsError(f"{out_dir / clash[0]} already exists: choose another --out directory")
        self.out_dir = out_dir
        self.events: list[dict[str, Any]] = []
        # Held open for the whole run and closed in close(); not a with-block.
        self._ev: TextIO = open(out_dir / "events.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._tr: TextIO = open(out_dir / "trace.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._tr)
        self._csv.writerow(TRACE_COLUMNS)
        self._tr.flush()

    def event(self, ev: dict[str, Any]) -> None:
        self.events.append(ev)
        self._ev.write(json.dumps(ev, separators=(",", ":")) + "\n")

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        n = len(cols["t_s"])
        formatted = []
        for c in TRACE_COLUMNS:
            a = cols[c]
            if c in _INT_COLUMNS:
                formatted.append([str(int(v)) for v in a])
            elif c == "t_s":
                formatted.append([f"{v:.3f}" for v in a])
            else:
                formatted.append([f"{v:.9g}" for v in a])
        if n:
            self._csv.writerows(zip(*formatted, strict=True))
        # Flush each batch: an interrupted run keeps every row written so far.
        self._tr.flush()
        self._ev.flush()

    def close(self, summary: dict[str, Any]) -> None:
        self._ev.close()
        self._tr.close()
        write_json_atomic(self.out_dir / "summary.json", summary)
