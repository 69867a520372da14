"""The patient's CSF model fed by a run's trace rows: pk.csv, trial.csv and summary.json's ``patient``.

The model (:mod:`pumpsim.analysis.pk`) is an analysis of the run, not a part
of it: it reads each batch of trace rows as the engine hands them to the sink
(through :class:`TraceTee`), never changes what the pump does, and costs
nothing in a run without a ``[patient]`` table, whose files stay byte for
byte what they were. With one, the trace rows also go to a
:class:`PatientRecorder`, which streams ``pk.csv`` next to ``trace.csv`` (or
keeps its columns for :attr:`~pumpsim.results.SimulationResult.pk`), writes
the trial's curve to ``trial.csv`` at the start, and adds ``patient`` to the
summary.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TextIO

import numpy as np

from ..analysis.drugs import half_life_from_clearance
from ..analysis.pk import CsfModel, CsfTracker, WithdrawalRule, trial_curve
from ..fileio import write_text_atomic
from ..results import DirectorySink, Sink
from ..results.records import Event, PatientSummary, Summary, TrialSummary
from ..results.trace_columns import PK_COLUMNS, TRIAL_COLUMNS, TraceColumn, csv_rows
from ..scenario.model import PatientSpec, Scenario
from ..units import MS_PER_S, NG_PER_MG, NL_PER_ML


class PatientRecorder:
    """The CSF model of one run: fed with trace batches (:meth:`rows`), summarised by :meth:`summary`.

    *out_dir* None keeps the pk and trial columns in memory instead of writing files.
    """

    def __init__(self, scenario: Scenario, out_dir: Path | None) -> None:
        spec = scenario.patient
        if spec is None:
            raise ValueError(f"scenario {scenario.name!r} has no [patient] table")
        self.spec: PatientSpec = spec
        self.drug = scenario.drug.name
        self.model = CsfModel(spec.volume_nl / NL_PER_ML, spec.clearance_ml_per_min)
        self.steady_state = self.model.steady_state_ng_per_ml(scenario.prescription.daily_dose_ng())
        rule = None
        if spec.withdrawal_below_ng_per_ml is not None:
            rule = WithdrawalRule(spec.withdrawal_below_ng_per_ml, spec.withdrawal_from_ms / MS_PER_S,
                                  spec.withdrawal_to_ms / MS_PER_S)
        start = self.steady_state if spec.start == "steady_state" else 0.0
        self.tracker = CsfTracker(self.model, start, (spec.band_low_ng_per_ml, spec.band_high_ng_per_ml), rule)
        trial = spec.trial
        self.trial = (trial_curve(self.model, trial.amount_ng, trial.duration_ms / MS_PER_S,
                                  trial.observe_ms / MS_PER_S) if trial is not None else None)
        self._chunks: list[dict[str, np.ndarray]] = []
        self._file: TextIO | None = None
        self._in_memory = out_dir is None
        if out_dir is not None:
            if self.trial is not None:
                write_text_atomic(out_dir / DirectorySink.TRIAL, _csv_text(TRIAL_COLUMNS, self.trial))
            # Held open for the whole run, closed in close(); flushed after every batch like trace.csv.
            self._file = open(out_dir / DirectorySink.PK, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._csv = csv.writer(self._file)
            self._csv.writerow(c.name for c in PK_COLUMNS)
            self._file.flush()

    def tee(self, sink: Sink) -> TraceTee:
        """A sink that passes everything to *sink* and the trace rows to this recorder too."""
        return TraceTee(sink, self)

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        """One batch of trace rows (the columns of trace.csv)."""
        pk = self.tracker.feed(cols["t_s"], cols["delivered_mg"] * NG_PER_MG)
        if self._file is not None:
            self._csv.writerows(csv_rows(pk, PK_COLUMNS))
            self._file.flush()
        elif self._in_memory:
            self._chunks.append(pk)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def columns(self) -> dict[str, np.ndarray] | None:
        """pk.csv's columns, for an in-memory run (None when written to a file)."""
        if not self._in_memory:
            return None
        if not self._chunks:
            return {c.name: np.zeros(0, dtype=c.dtype) for c in PK_COLUMNS}
        return {c.name: np.concatenate([ch[c.name] for ch in self._chunks]) for c in PK_COLUMNS}

    def summary(self) -> PatientSummary:
        """summary.json's ``patient`` so far."""
        tr, spec = self.tracker, self.spec
        out: PatientSummary = {
            "drug": self.drug,
            "volume_ml": self.model.volume_ml,
            "clearance_ml_per_min": self.model.clearance_ml_per_min,
            "half_life_h": half_life_from_clearance(self.model.clearance_ml_per_min, self.model.volume_ml),
            "start_ng_per_ml": tr.start_ng_per_ml,
            "steady_state_ng_per_ml": self.steady_state,
            "csf_min_ng_per_ml": tr.c_min,
            "csf_max_ng_per_ml": tr.c_max,
            "csf_end_ng_per_ml": tr.c,
            "band_low_ng_per_ml": spec.band_low_ng_per_ml,
            "band_high_ng_per_ml": spec.band_high_ng_per_ml,
            "below_band_s": tr.below_s,
            "in_band_s": tr.inside_s,
            "above_band_s": tr.above_s,
            "withdrawal_ng_per_ml": spec.withdrawal_below_ng_per_ml,
            "withdrawal_at_risk_s": tr.at_risk_s(),
            "withdrawal_episodes": [ep.copy() for ep in tr.episodes],
        }
        if spec.trial is not None and self.trial is not None:
            t, c = self.trial["t_s"], self.trial["csf_ng_per_ml"]
            i = int(np.argmax(c))
            trial: TrialSummary = {
                "kind": spec.trial.kind,
                "amount_mg": spec.trial.amount_ng / NG_PER_MG,
                "duration_s": spec.trial.duration_ms / MS_PER_S,
                "observe_s": spec.trial.observe_ms / MS_PER_S,
                "peak_ng_per_ml": float(c[i]),
                "peak_t_s": float(t[i]),
                "relief_pct": spec.trial.relief * 100,
                "threshold_pct": spec.trial.threshold * 100,
                "passed": spec.trial.passed,
            }
            out["trial"] = trial
        return out


class TraceTee:
    """Passes a run's outputs to its sink, and the trace rows to the patient model as well."""

    def __init__(self, sink: Sink, patient: PatientRecorder) -> None:
        self.sink = sink
        self.patient = patient

    def event(self, ev: Event) -> None:
        self.sink.event(ev)

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        self.sink.rows(cols)
        self.patient.rows(cols)

    def close(self, summary: Summary) -> None:
        self.sink.close(summary)


def _csv_text(columns: tuple[TraceColumn, ...], cols: dict[str, np.ndarray]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(c.name for c in columns)
    w.writerows(csv_rows(cols, columns))
    return buf.getvalue()
