"""The plant's record of a session: what ``pumpsim hil serve`` writes while a device under test drives it.

A :class:`PlantRecorder` is fed by the plant server as requests arrive and
keeps the run's outputs with the engine's own parts: a
:class:`~pumpsim.engine.tally.Tally`, a
:class:`~pumpsim.engine.trace.TraceRecorder` on the served plant, the sink
that writes summary.json, events.jsonl and trace.csv, and the engine's event
builders (:mod:`pumpsim.engine.events`, :func:`pumpsim.engine.log_decoder.decode`).

What it learns and from where:

* the plant's truth (strokes, volumes, masses, dry spells, refills): its own
  plant, which the DUT's motor programs and the clock drive;
* visits: the ``VISIT`` relay names the scenario's visit (the plant did its
  refill at the ``REFILL`` just before);
* the firmware's events: the DUT's event log relayed record by record
  (``LOG``), decoded here as the engine decodes it;
* what the firmware believes (for the trace) and its final estimate: the
  ``WAKE`` and ``END`` relays.

The requests arrive in the order of the story of a run
(:class:`pumpsim.engine.Simulation`), so the recorder follows the same steps:
a ``DRYAT`` look-ahead starts a stop (the previous instant gets its trace
row), an ``ADVANCE`` is the wait (the trace's grid rows), then the dry
check, the visits and the wake-up's relays. A DUT that relays everything gets
files identical to ``pumpsim run``'s; one that relays nothing still gets the
plant's truth.
"""

from __future__ import annotations

from firmware_model import LogRecord, MotorProgram
from pumpsim.engine.events import VisitRefill, dry_event, visit_event
from pumpsim.engine.log_decoder import decode
from pumpsim.engine.patient import PatientRecorder
from pumpsim.engine.tally import Tally
from pumpsim.engine.trace import TraceRecorder, WakeState
from pumpsim.plant import PumpPlant, RefillOutcome
from pumpsim.results import Sink
from pumpsim.results.records import Event, Summary
from pumpsim.scenario import Scenario

from .endpoint import arg_error


class PlantRecorder:
    """Records one session of *scenario*'s plant (see the module docs) into *sink*."""

    def __init__(self, scenario: Scenario, seed: int, duration_ms: int, plant: PumpPlant[MotorProgram], sink: Sink,
                 *, trace: bool = True) -> None:
        self.scenario = scenario
        self.seed = seed
        self.duration_ms = duration_ms
        self.plant = plant
        self.sink = sink
        start = plant.state()
        self.tally = Tally(filled_nl=start.reservoir_nl + plant.catheter.volume_nl,
                           filled_ng=start.reservoir_nl * start.reservoir_conc_ng_per_nl + start.catheter_content_ng)
        # The patient's CSF model reads the trace rows as pumpsim run's engine feeds it (an analysis of the run).
        self.patient = (PatientRecorder(scenario, getattr(sink, "out_dir", None))
                        if scenario.patient is not None and trace else None)
        rows_to = sink if self.patient is None else self.patient.tee(sink)
        self.trace = (TraceRecorder(plant, scenario.pump.stroke_volume_pl, scenario.trace_interval_ms, rows_to)
                      if trace else None)
        self._events_before = 0
        self._last_refill: RefillOutcome | None = None
        self._conc_ng_per_ml = scenario.drug.conc_ng_per_ml
        self._estimate_nl = 0
        self.closed = False
        #: The summary written at the end (None until then).
        self.summary: Summary | None = None

    def _emit(self, ev: Event) -> None:
        self.sink.event(ev)
        self.tally.count(ev)

    # ------------------------------------------------------------ the steps of a stop

    def next_stop(self) -> None:
        """A new stop begins (DRYAT): the previous instant gets its event row, a batch is flushed if due."""
        if self.trace is not None:
            if self.tally.events > self._events_before:
                self.trace.event_row(self.plant.now_ms)
            if self.trace.full:
                self.trace.flush()
        self._events_before = self.tally.events

    def before_advance(self, now_ms: int, target_ms: int) -> None:
        """The wait from *now_ms* to *target_ms*: its trace grid rows (the program unchanged)."""
        if self.trace is not None and target_ms > now_ms and target_ms >= self.trace.next_grid_ms:
            self.trace.grid(target_ms)

    def dry(self, now_ms: int, strokes: int) -> None:
        self._emit(dry_event(now_ms, strokes))

    def refilled(self, out: RefillOutcome) -> None:
        self._last_refill = out

    def visit(self, index: int, entered: int | None, conc_ng_per_ml: int | None) -> None:
        visits = self.scenario.visits
        if not 0 <= index < len(visits):
            raise arg_error(f"I={index}: the served scenario has visits 0..{len(visits) - 1}")
        v = visits[index]
        now = self.plant.now_ms
        if v.at_ms > now:
            raise arg_error(f"I={index}: visit {index} is due at {v.at_ms} ms, now is {now} ms")
        refill = None
        if v.refill_nl is not None:
            if entered is None or conc_ng_per_ml is None or self._last_refill is None:
                raise arg_error(f"I={index}: a refill visit needs ENTERED_NL and CONC_NG_PER_ML after its REFILL")
            self._conc_ng_per_ml = conc_ng_per_ml
            self.tally.refilled(now, self._last_refill, conc_ng_per_ml)
            refill = VisitRefill(conc_ng_per_ml, self._last_refill, entered)
        self._emit(visit_event(now, v, refill))

    def log(self, num: int, t_ms: int, code: int, a: int, b: int) -> None:
        self._emit(decode(LogRecord(num, t_ms, code, a, b), self._last_refill))

    def lost(self, n: int) -> None:
        self.tally.log_records_lost += n

    def wake(self, est_base_pl: int, count_base: int, conc_ng_per_ml: int, alarm_bits: int) -> None:
        if self.trace is not None:
            self.trace.set_state(WakeState(self.plant.epoch_index, est_base_pl, count_base, conc_ng_per_ml,
                                           alarm_bits))

    def keep_from(self, k: int) -> int:
        """The lowest stroke count the plant may forget below: *k*, or the oldest buffered trace row's."""
        oldest = self.trace.oldest_strokes() if self.trace is not None else None
        return k if oldest is None else min(k, oldest)

    # ------------------------------------------------------------ the end

    def end(self, complete: bool, estimate_nl: int | None, prescribed: int | None) -> Summary:
        """The DUT ended the session: last trace rows, the summary, files closed. Safe to call once."""
        if self.closed and self.summary is not None:
            return self.summary
        if complete:
            self.next_stop()  # the last instant's event row, as the engine writes it
        if self.trace is not None:
            self.trace.flush()
        if estimate_nl is not None:
            self._estimate_nl = estimate_nl
        if prescribed is not None:
            self.tally.prescribed = prescribed
        if self.patient is not None:
            self.patient.close()
        self.summary = self._summary(complete)
        self.sink.close(self.summary)
        self.closed = True
        return self.summary

    def abort(self) -> Summary:
        """The session stopped without END (peer gone, Ctrl-C): write what there is, marked incomplete."""
        return self.end(False, None, None)

    def _summary(self, complete: bool) -> Summary:
        plant = self.plant.state()
        summary = self.tally.summary(
            scenario=self.scenario.name, seed=self.seed, complete=complete, duration_ms=self.duration_ms,
            now_ms=self.plant.now_ms, plant=plant, catheter_nl=self.plant.catheter.volume_nl,
            estimate_nl=self._estimate_nl)
        if self.patient is not None:  # as pumpsim run: only with a [patient] table
            summary["patient"] = self.patient.summary()
        return summary
