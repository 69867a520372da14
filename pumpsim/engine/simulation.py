"""One run: the firmware model against the plant, in one SimPy process.

The story of a run (:meth:`Simulation._run_story`): boot the controller, then
repeat until the end of the run:

1. pick the next stop: the earliest of the controller's requested wake-up,
   the next clinic visit, the stroke that empties the real reservoir, and the
   end of the run (exact mode: also the next stroke);
2. wait for it; the strokes fired meanwhile are delivered by the plant's
   stroke timer without being events, and the trace's regular rows and the
   prescribed dose over the wait are recorded;
3. at that instant, in this fixed order: the plant event (the reservoir ran
   dry), the visits due, the controller's wake-up, then a trace row for the
   events written.

A fixed order at equal times is what makes a run reproducible and makes bulk
and exact modes agree.

**Bulk mode** (default): strokes between two stops are not events; the plant
finds the stroke that empties the reservoir with one vectorised search
(:meth:`~pumpsim.plant.PumpPlant.dry_stroke_ms`). **Exact mode**: every stroke
is a stop and the reservoir is checked after each one
(:meth:`~pumpsim.plant.PumpPlant.check_dry`). Both read the same stroke stream
through the same arithmetic, so their summaries, events and traces are
identical for the same seed (tests/scenario/test_exact_vs_bulk.py).
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import simpy

from firmware_model import PrimingBolus, PumpController, Refill, Reprogram, SetLowReservoirThreshold

from ..plant import RefillOutcome
from ..results import MemorySink, SimulationResult, Sink
from ..results.records import DryEvent, Event, Summary
from ..scenario.model import Scenario, Visit
from ..units import MS_PER_DAY, NL_PER_ML
from .events import VisitRefill, dry_event, entered_nl, visit_event
from .hal import EngineHal
from .log_decoder import decode
from .patient import PatientRecorder
from .ports import PlantParams, PlantPort, SimulationHal, build_plant
from .tally import Tally
from .trace import TraceRecorder, WakeState, alarm_bits

#: The progress callback is called at most once per this much simulated time.
PROGRESS_EVERY_MS = MS_PER_DAY


class Simulation:
    """One run of a :class:`Scenario`. Use :func:`simulate` unless you need the parts.

    *seed* overrides the scenario's seed; *exact* makes every stroke a SimPy
    event; *sink* receives the outputs (default: in memory); *duration_ms*
    overrides the scenario's duration; *trace* False takes no trace rows;
    *on_progress* is called with the simulated time (ms) at most once per
    simulated day (:data:`PROGRESS_EVERY_MS`) and at the end, for a progress
    display.

    The seams (:mod:`pumpsim.engine.ports`): *plant* and *hal* replace the
    plant and its HAL (a bench across a serial link: ``hil``); *env* replaces
    the SimPy environment (a ``simpy.rt.RealtimeEnvironment`` paces the run by
    the wall clock). ``hil`` also extends the story's steps (``_visit``,
    ``_visits``, ``_after_wake``, ``_next_stop``, ``_record_wait``): keep their
    signatures.
    Raises ValueError for a duration <= 0, or a *plant* without a *hal*.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        exact: bool = False,
        sink: Sink | None = None,
        duration_ms: int | None = None,
        trace: bool = True,
        on_progress: Callable[[int], None] | None = None,
        plant: PlantPort | None = None,
        hal: SimulationHal | None = None,
        env: simpy.Environment | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.exact = exact
        self.sink: Sink = sink if sink is not None else MemorySink()
        self.duration_ms = scenario.duration_ms if duration_ms is None else duration_ms
        if self.duration_ms <= 0:
            raise ValueError(f"duration_ms = {self.duration_ms}: expected > 0 ms")
        self.on_progress = on_progress
        pump, drug = scenario.pump, scenario.drug
        self.plant: PlantPort
        self.hal: SimulationHal
        if plant is None:
            pump_plant = build_plant(PlantParams.of(scenario), self.seed)
            self.plant, self.hal = pump_plant, EngineHal.on(pump_plant) if hal is None else hal
        elif hal is None:
            raise ValueError("a plant given to Simulation needs its HAL (hal=...)")
        else:
            self.plant, self.hal = plant, hal
        self.firmware = PumpController(self.hal, scenario.firmware_config(), scenario.prescription,
                                       drug.conc_ng_per_ml, pump.fill_nl)
        # What the pump holds at t = 0: its fill, and the dead volume's content (drug if primed, else drug-free).
        start = self.plant.state()
        self.tally = Tally(filled_nl=start.reservoir_nl + self.plant.catheter.volume_nl,
                           filled_ng=start.reservoir_nl * start.reservoir_conc_ng_per_nl + start.catheter_content_ng)
        # The patient's CSF model reads the trace rows as they go to the sink (an analysis, not part of the run).
        self.patient = (PatientRecorder(scenario, getattr(self.sink, "out_dir", None))
                        if scenario.patient is not None and trace else None)
        rows_to = self.sink if self.patient is None else self.patient.tee(self.sink)
        self.trace = (TraceRecorder(self.plant, pump.stroke_volume_pl, scenario.trace_interval_ms, rows_to)
                      if trace else None)
        self.env = simpy.Environment(initial_time=0) if env is None else env
        self.complete = False
        self._log_seq = 0  # the next firmware log record to read
        self._last_refill: RefillOutcome | None = None
        self._conc_ng_per_ml = drug.conc_ng_per_ml  # the concentration clinicians last injected
        self._believed_conc_ng_per_ml = 0  # what the firmware believes, as of its last wake-up
        self._credit_mark = 0  # stroke-timer credit already counted as prescribed
        self._next_day_ms = 0
        self._next_visit = 0  # index into scenario.visits

    # ---------------------------------------------------------- running

    def run(self) -> SimulationResult:
        """Run to the end (or until interrupted) and return the result.

        On KeyboardInterrupt the trace rows buffered so far are written, and the
        summary with ``"complete": false``, before re-raising.
        """
        self.env.process(self._run_story())
        try:
            self.env.run()
            self.complete = True
        finally:
            self._flush_trace()
            if self.patient is not None:
                self.patient.close()
            summary = self.summary()
            self.sink.close(summary)
        sink = self.sink
        events: list[Event] = sink.events if isinstance(sink, MemorySink) else getattr(sink, "events", [])
        trace = sink.trace() if isinstance(sink, MemorySink) else None
        patient = self.patient
        return SimulationResult(summary=summary, events=events, trace=trace, out_dir=getattr(sink, "out_dir", None),
                                pk=patient.columns() if patient is not None else None,
                                trial=patient.trial if patient is not None else None)

    def _run_story(self) -> Generator[simpy.Event, object, None]:
        t_wake = self._boot()
        while True:
            now = self.plant.now_ms
            target, dry_stroke = self._next_stop(t_wake)
            if target > now:
                yield self.env.timeout(target - now)  # meanwhile the stroke timer fires its strokes
                self._record_wait(now, target)
            self.plant.advance(target)
            now = target
            events_before = self.tally.events
            if (dry_stroke or self.exact) and self.plant.check_dry():
                self._emit(self._dry_event(now))
            if self._visits(now):
                t_wake = now  # a telemetry session wakes the controller
            if t_wake <= now:
                t_wake = self.firmware.on_wake(now)
                self._after_wake(now)
            self._record_instant(now, events_before)
            if now >= self.duration_ms:
                return

    # ---------------------------------------------------------- steps of the story

    def _boot(self) -> int:
        """Boot the controller at t = 0 (and a priming bolus if asked); returns its first wake-up time."""
        events_before = self.tally.events
        t_wake = self.firmware.boot(0)
        if self.scenario.priming_bolus:
            self.hal.inbox.send(PrimingBolus())
            t_wake = self.firmware.on_wake(0)
        self._after_wake(0)
        if self.plant.check_dry():  # filled with nothing
            self._emit(self._dry_event(0))
        self._record_instant(0, events_before)
        return t_wake

    def _next_stop(self, t_wake: int) -> tuple[int, bool]:
        """The next instant to stop at, and whether it is the stroke that empties the reservoir.

        The earliest of the controller's wake-up *t_wake*, the next visit and
        the end of the run; bulk mode: or the emptying stroke, if it comes
        first; exact mode: or the next stroke.
        """
        visits, t_end = self.scenario.visits, self.duration_ms
        t_visit = visits[self._next_visit].at_ms if self._next_visit < len(visits) else t_end
        target = min(t_wake, t_visit, t_end)
        if self.exact:
            t_stroke = self.plant.timer.next_stroke_ms()
            return (target if t_stroke is None else min(target, t_stroke)), False
        t_dry = self.plant.dry_stroke_ms(target)
        return (target, False) if t_dry is None else (t_dry, True)

    def _visits(self, now: int) -> bool:
        """Handle the visits due at *now*, in file order; True if there were any."""
        visits = self.scenario.visits
        first = self._next_visit
        while self._next_visit < len(visits) and visits[self._next_visit].at_ms <= now:
            self._visit(visits[self._next_visit], now)
            self._next_visit += 1
        return self._next_visit > first

    def _record_wait(self, now: int, target: int) -> None:
        """Trace grid rows and prescribed dose for (now, target], recorded once SimPy's clock has got there.

        So an interrupted run never has rows past its summary. The motor
        program cannot change while waiting.
        """
        if self.trace is not None and target >= self.trace.next_grid_ms:
            self.trace.grid(target)
        program = self.plant.timer.program
        if program is not None:
            # Credit accrued is the programmed volume (pL x ms/day); x believed concentration -> dose.
            mark = program.credit_at(target)
            self.tally.prescribe(mark - self._credit_mark, self._believed_conc_ng_per_ml)
            self._credit_mark = mark
        else:
            # Delivery stopped (empty alarm): the prescription still calls for drug.
            credit = self.firmware.therapy.rate_rows(now, target)[2]
            self.tally.prescribe(credit, self._believed_conc_ng_per_ml)

    def _visit(self, v: Visit, now: int) -> None:
        """One clinic visit: refill the plant, then send the firmware the visit's commands."""
        inbox = self.hal.inbox
        refill: VisitRefill | None = None
        if v.refill_nl is not None:
            conc = v.conc_ng_per_ml if v.conc_ng_per_ml is not None else self._conc_ng_per_ml
            self._conc_ng_per_ml = conc
            est_nl = self.firmware.reservoir_estimate_nl(self.plant.strokes)
            out = self.plant.refill(float(v.refill_nl), conc / NL_PER_ML, v.aspirate,
                                    float(self.scenario.pump.unaspirated_nl))
            self._last_refill = out
            self.tally.refilled(now, out, conc)
            refill = VisitRefill(conc, out, entered_nl(v, est_nl, self.scenario.pump.reservoir_nl))
            inbox.send(Refill(refill.entered_nl, conc, bridge=v.bridge_bolus, rx=v.prescription))
        elif v.prescription is not None:
            inbox.send(Reprogram(v.prescription))
        if v.low_reservoir_alarm_nl is not None:
            inbox.send(SetLowReservoirThreshold(v.low_reservoir_alarm_nl))
        if v.priming_bolus:
            inbox.send(PrimingBolus())
        self._emit(visit_event(now, v, refill))

    def _after_wake(self, now: int) -> None:
        """Read what the wake-up did: its log records, the new program's credit, the state the trace needs."""
        fw = self.firmware
        self._drain_log()
        program = self.plant.timer.program
        self._credit_mark = program.credit_at(now) if program is not None else 0
        self._believed_conc_ng_per_ml = fw.conc_ng_per_ml
        if self.trace is not None:
            est_base, count_base = fw.estimate_basis()
            self.trace.set_state(WakeState(self.plant.epoch_index, est_base, count_base, fw.conc_ng_per_ml,
                                           alarm_bits(fw.active_alarms)))

    def _record_instant(self, now: int, events_before: int) -> None:
        """After everything at *now*: a trace row if events were written, a batch if due, daily housekeeping."""
        if self.trace is not None:
            if self.tally.events > events_before:
                self.trace.event_row(now)
            # Flush only here, after the event row of this instant: a grid row
            # at the same instant must still be replaceable by its event row.
            if self.trace.full:
                self._flush_trace()
        if now >= self._next_day_ms or now >= self.duration_ms:
            self._next_day_ms = now + PROGRESS_EVERY_MS
            self._release_old_strokes()
            if self.on_progress is not None:
                self.on_progress(now)

    def _flush_trace(self) -> None:
        if self.trace is not None:
            self.trace.flush()
            self._release_old_strokes()

    def _release_old_strokes(self) -> None:
        """Let the plant forget the strokes nobody will read again (memory stays flat over years)."""
        k = self.plant.strokes
        oldest = self.trace.oldest_strokes() if self.trace is not None else None
        self.plant.release_strokes_before(k if oldest is None else min(k, oldest))

    # ----------------------------------------------------------- events

    def _emit(self, ev: Event) -> None:
        """Hand one event to the sink, then count it (so an interrupted run counts what was written)."""
        self.sink.event(ev)
        self.tally.count(ev)

    def _drain_log(self) -> None:
        """Turn the firmware's new log records into events."""
        log = self.firmware.log
        if log.next_seq == self._log_seq:
            return
        records, lost = log.since(self._log_seq)
        self._log_seq += lost + len(records)
        self.tally.log_records_lost += lost
        for rec in records:
            self._emit(decode(rec, self._last_refill))

    def _dry_event(self, now: int) -> DryEvent:
        return dry_event(now, self.plant.strokes)

    # ---------------------------------------------------------- summary

    def summary(self) -> Summary:
        """The run's summary so far (written as summary.json at the end)."""
        now = self.plant.now_ms
        plant = self.plant.state()
        summary = self.tally.summary(
            scenario=self.scenario.name, seed=self.seed, complete=self.complete, duration_ms=self.duration_ms,
            now_ms=now, plant=plant, catheter_nl=self.plant.catheter.volume_nl,
            estimate_nl=self.firmware.reservoir_estimate_nl(plant.strokes),
        )
        if self.patient is not None:  # only with a [patient] table: other summaries keep their bytes
            summary["patient"] = self.patient.summary()
        return summary


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    exact: bool = False,
    *,
    sink: Sink | None = None,
    duration_ms: int | None = None,
    trace: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run *scenario* and return its :class:`SimulationResult`.

    *seed* overrides the scenario's seed; *exact* runs one SimPy event per
    stroke (slow; for cross-checking); *sink* streams outputs elsewhere (for
    example :class:`pumpsim.results.DirectorySink`); *duration_ms* overrides
    the scenario's duration; *trace* False skips the trace (faster; for
    sweeps), leaving ``result.trace`` empty; *on_progress* is called with the
    simulated time in ms, at most once per simulated day.
    """
    return Simulation(scenario, seed=seed, exact=exact, sink=sink, duration_ms=duration_ms, trace=trace,
                      on_progress=on_progress).run()
