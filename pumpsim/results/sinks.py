"""Where a run's events, trace rows and summary go.

A run hands its outputs to a *sink*. :class:`MemorySink` keeps everything for
the Python API; :class:`DirectorySink` streams ``events.jsonl`` and
``trace.csv`` to disk as the run goes, flushing each batch, and writes
``summary.json`` atomically at the end, so a run stopped part-way (Ctrl-C)
leaves readable files. The formats are documented in docs/output-format.md.

The three files depend only on the scenario and the seed: two runs write the
same bytes. What varies from run to run (wall time, host, versions) goes to
``run.json`` (:mod:`pumpsim.results.run_info`), written by ``pumpsim run``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np

from ..fileio import write_json_atomic
from .records import Event, RunInfo, Summary
from .trace_columns import TRACE, TRACE_COLUMNS, csv_rows, empty_trace


class Sink(Protocol):
    """Receives a run's outputs as they are produced."""

    def event(self, ev: Event) -> None:
        """One event (already JSON-ready)."""

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        """A batch of trace rows, one array per column of :data:`TRACE_COLUMNS`."""

    def close(self, summary: Summary) -> None:
        """The run ended (completely or not); *summary* is final."""


@dataclass
class SimulationResult:
    """What :func:`pumpsim.simulate` returns."""

    summary: Summary
    events: list[Event]
    #: Trace columns (see :data:`TRACE_COLUMNS`), or None when streamed to disk only.
    trace: dict[str, np.ndarray] | None = None
    out_dir: Path | None = None
    #: The patient's CSF curve (columns of pk.csv, ``pumpsim.results.trace_columns.PK_COLUMNS``) and the trial's
    #: (trial.csv), with a ``[patient]`` table and an in-memory run; else None.
    pk: dict[str, np.ndarray] | None = None
    trial: dict[str, np.ndarray] | None = None

    def events_of(self, kind: str) -> list[Event]:
        """Events of one *kind*, in time order."""
        return [e for e in self.events if e["kind"] == kind]


@dataclass
class MemorySink:
    """Keeps events and trace in memory."""

    keep_trace: bool = True
    events: list[Event] = field(default_factory=list)
    _chunks: list[dict[str, np.ndarray]] = field(default_factory=list)
    summary: Summary | None = None

    def event(self, ev: Event) -> None:
        self.events.append(ev)

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        if self.keep_trace:
            self._chunks.append(cols)

    def close(self, summary: Summary) -> None:
        self.summary = summary

    def trace(self) -> dict[str, np.ndarray] | None:
        """All trace rows received, concatenated per column."""
        if not self.keep_trace:
            return None
        if not self._chunks:
            return empty_trace()
        return {c: np.concatenate([ch[c] for ch in self._chunks]) for c in TRACE_COLUMNS}


class DirectorySink:
    """Streams a run into *out_dir* (created if needed; existing run files are refused).

    Also keeps the events in memory (they are few) so the caller gets them back.
    """

    SUMMARY = "summary.json"
    EVENTS = "events.jsonl"
    TRACE = "trace.csv"
    RUN_INFO = "run.json"
    #: The patient's CSF model and trial, with a ``[patient]`` table (written by pumpsim.engine.patient).
    PK = "pk.csv"
    TRIAL = "trial.csv"
    #: The files of a run; a directory holding any of them is refused.
    FILES = (SUMMARY, EVENTS, TRACE, RUN_INFO, PK, TRIAL)

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        clash = [f for f in self.FILES if (out_dir / f).exists()]
        if clash:
            raise FileExistsError(f"{out_dir / clash[0]} already exists: choose another --out directory")
        self.out_dir = out_dir
        self.events: list[Event] = []
        # Held open for the whole run and closed in close(); not a with-block.
        self._ev: TextIO = open(out_dir / self.EVENTS, "w", encoding="utf-8")  # noqa: SIM115
        self._tr: TextIO = open(out_dir / self.TRACE, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._tr)
        self._csv.writerow(c.name for c in TRACE)
        self._tr.flush()

    def event(self, ev: Event) -> None:
        self.events.append(ev)
        self._ev.write(json.dumps(ev, separators=(",", ":")) + "\n")

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        self._csv.writerows(csv_rows(cols))
        # Flush each batch: an interrupted run keeps every row written so far.
        self._tr.flush()
        self._ev.flush()

    def close(self, summary: Summary) -> None:
        self._ev.close()
        self._tr.close()
        write_json_atomic(self.out_dir / self.SUMMARY, summary)

    def write_run_info(self, info: RunInfo) -> None:
        """Write run.json (the run's varying metadata; see :func:`pumpsim.results.run_info.run_info`)."""
        write_json_atomic(self.out_dir / self.RUN_INFO, info)
