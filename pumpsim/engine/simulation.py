"""One run: the firmware model against the plant, in one SimPy process.

The story of a run (:meth:`Simulation._run_story`): boot the controller, then
repeat until the end of the run:

1. pick the next stop: the earliest of the controller's requested wake-up,
   the next clinic visit, environment step or patient press, the stroke that
   empties the real reservoir, and the end of the run (exact mode: also the
   next stroke);
2. wait for it; the strokes fired meanwhile are delivered by the plant's
   stroke timer without being events, and the trace's regular rows and the
   prescribed dose over the wait are recorded;
3. at that instant, in this fixed order: the plant event (the reservoir ran
   dry), the environment steps due, the visits due, the patient's presses
   due, the controller's wake-up, then a trace row for the events written.

A fixed order at equal times is what makes a run reproducible and makes bulk
and exact modes agree. The environment (``Scenario.environment``) is a plant
input: its steps are stops too, applied after the plant event and before the
visits at the same instant; the firmware is not told.

**A pump without firmware** (constant flow) has no controller: ``firmware`` is
None, nothing wakes, the plant's counter is paced at the rate its flow law
gives (:class:`~pumpsim.engine.flow_drive.FlowDrive`, re-paced at each
environment step), visits only refill, and the summary has no estimate.

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

from firmware_model import PatientBolus, PrimingBolus, PumpController, Refill, Reprogram, SetLowReservoirThreshold

from ..plant import RefillOutcome, Response
from ..results import MemorySink, SimulationResult, Sink
from ..results.records import DryEvent, EnvironmentEvent, Event, FavEvent, Summary
from ..scenario.model import Scenario, Visit
from ..units import MS_PER_DAY, MS_PER_S, NL_PER_ML, PL_PER_ML
from .events import VisitRefill, dry_event, entered_nl, visit_event
from .flow_drive import FlowDrive
from .hal import EngineHal
from .log_decoder import decode
from .patient import PatientRecorder
from .ports import PlantParams, PlantPort, SimulationHal, build_plant
from .tally import Tally
from .trace import TraceRecorder, WakeState, alarm_bits

#: The progress callback is called at most once per this much simulated time.
PROGRESS_EVERY_MS = MS_PER_DAY
#: The "next wake-up" of a pump without firmware: never (later than any run).
_NEVER_MS = 1 << 62


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
        self.firmware: PumpController | None = None
        self.flow: FlowDrive | None = None  # the pacing of a pump without firmware
        if pump.has_firmware:
            ptm = scenario.ptm.settings() if scenario.ptm is not None else None
            self.firmware = PumpController(self.hal, scenario.firmware_config(), scenario.prescription,
                                           drug.conc_ng_per_ml, pump.fill_nl, limits=drug.limits, ptm=ptm,
                                           confirm=scenario.confirm)
        else:
            self.flow = FlowDrive(self.plant, self.duration_ms)
        # What the pump holds at t = 0: its fill, and the dead volume's content (drug if primed, else drug-free).
        start = self.plant.state()
        self.tally = Tally(filled_nl=start.reservoir_nl + self.plant.catheter.volume_nl,
                           filled_ng=start.reservoir_nl * start.reservoir_conc_ng_per_nl + start.catheter_content_ng,
                           ptm=scenario.ptm is not None)
        # The patient's CSF model reads the trace rows as they go to the sink (an analysis, not part of the run).
        self.patient = (PatientRecorder(scenario, getattr(self.sink, "out_dir", None))
                        if scenario.patient is not None and trace else None)
        rows_to = self.sink if self.patient is None else self.patient.tee(self.sink)
        self.trace = (TraceRecorder(self.plant, pump.stroke_volume_pl, scenario.trace_interval_ms, rows_to,
                                    firmware=pump.has_firmware)
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
        self._next_env = 0  # index into scenario.environment
        self._next_press = 0  # index into the patient's presses
        self._presses = scenario.ptm.presses_ms if scenario.ptm is not None else ()

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
            self._environment(now)
            if self._visits(now) and self.firmware is not None:
                t_wake = now  # a telemetry session wakes the controller
            if self._patient_presses(now):
                t_wake = now  # so does the patient's device
            if t_wake <= now:
                assert self.firmware is not None
                t_wake = self.firmware.on_wake(now)
                self._after_wake(now)
            self._record_instant(now, events_before)
            if now >= self.duration_ms:
                return

    # ---------------------------------------------------------- steps of the story

    def _boot(self) -> int:
        """Boot the controller at t = 0 (and a priming bolus if asked); returns its first wake-up time."""
        events_before = self.tally.events
        if self.firmware is None:
            t_wake = _NEVER_MS
            self._pace(0, self.plant.set_environment(self.plant.environment))
        else:
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
        env = self.scenario.environment
        t_env = env[self._next_env][0] if self._next_env < len(env) else t_end
        presses = self._presses
        t_press = presses[self._next_press] if self._next_press < len(presses) else t_end
        target = min(t_wake, t_visit, t_env, t_press, t_end)
        if self.exact and self.firmware is not None:  # a constant-flow pump has no strokes to step
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

    def _patient_presses(self, now: int) -> bool:
        """The patient's presses due at *now* reach the firmware as patient-role commands; True if any."""
        first = self._next_press
        while self._next_press < len(self._presses) and self._presses[self._next_press] <= now:
            self.hal.inbox.send(PatientBolus())
            self._next_press += 1
        return self._next_press > first

    def _environment(self, now: int) -> None:
        """Apply the environment steps due at *now*: the mechanism answers (a free flow, a shut outlet, a new
        flow rate); the firmware is not told."""
        steps = self.scenario.environment
        while self._next_env < len(steps) and steps[self._next_env][0] <= now:
            env = steps[self._next_env][1]
            self._next_env += 1
            r = self.plant.set_environment(env)
            self._pace(now, r)
            ev: EnvironmentEvent = {"t_s": now / MS_PER_S, "t_ms": now, "kind": "environment",
                                    "body_temp_c": env.body_temp_c, "ambient_kpa": env.ambient_kpa,
                                    "magnet": env.magnet}
            if r.rate_pl_per_day is not None:
                ev["flow_rate_ml_per_day"] = r.rate_pl_per_day / PL_PER_ML
            self._emit(ev)
            self._mechanism_answered(now, r)

    def _pace(self, now: int, r: Response) -> None:
        """A self-driven mechanism's new rate paces its counter from *now*."""
        if self.flow is not None and r.rate_pl_per_day is not None:
            self.flow.set_rate(now, r.rate_pl_per_day)

    def _mechanism_answered(self, now: int, r: Response) -> None:
        """Events for what the mechanism did (the flow-activated valve), a dry event if a free flow emptied the
        reservoir, and the trace's new epoch."""
        if self.scenario.pump.mechanism == "valve_gated" and r.outlet_open is not None:
            fav: FavEvent = {"t_s": now / MS_PER_S, "t_ms": now, "kind": "fav",
                             "state": "reset" if r.outlet_open else "tripped"}
            if not r.outlet_open:
                fav["free_flow_ml"] = r.free_flow_nl / NL_PER_ML
            self._emit(fav)
        if r.changes_outflow:
            if self.plant.check_dry():
                self._emit(self._dry_event(now))
            self._trace_state()

    def _record_wait(self, now: int, target: int) -> None:
        """Trace grid rows and prescribed dose for (now, target], recorded once SimPy's clock has got there.

        So an interrupted run never has rows past its summary. The motor
        program cannot change while waiting.
        """
        if self.trace is not None and target >= self.trace.next_grid_ms:
            self.trace.grid(target)
        program = self.plant.timer.program
        if self.firmware is None:
            # No programmed dose: the label's nominal rate x the concentration injected is what was prescribed.
            self.tally.prescribe(self.scenario.pump.nominal_rate_pl_per_day * (target - now),
                                 self._believed_conc_ng_per_ml)
        elif program is not None:
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
        fw = self.firmware
        refill: VisitRefill | None = None
        if v.refill_nl is not None:
            conc = v.conc_ng_per_ml if v.conc_ng_per_ml is not None else self._conc_ng_per_ml
            self._conc_ng_per_ml = conc
            est_nl = fw.reservoir_estimate_nl(self.plant.strokes) if fw is not None else 0
            out = self.plant.refill(float(v.refill_nl), conc / NL_PER_ML, v.aspirate,
                                    float(self.scenario.pump.unaspirated_nl))
            self._last_refill = out
            self.tally.refilled(now, out, conc)
            if fw is None:  # nothing to tell: the next fluid out is the new mix, at the same rate
                self._believed_conc_ng_per_ml = conc
                self._emit(visit_event(now, v, VisitRefill(conc, out, None)))
                self._trace_state()
                return
            entered = entered_nl(v, est_nl, self.scenario.pump.reservoir_nl)
            refill = VisitRefill(conc, out, entered)
            inbox.send(Refill(entered, conc, bridge=v.bridge_bolus, rx=v.prescription, confirm=v.confirm))
        elif v.prescription is not None:
            inbox.send(Reprogram(v.prescription, confirm=v.confirm))
        if v.low_reservoir_alarm_nl is not None:
            inbox.send(SetLowReservoirThreshold(v.low_reservoir_alarm_nl))
        if v.priming_bolus:
            inbox.send(PrimingBolus())
        self._emit(visit_event(now, v, refill))
        if v.reset_valve:
            self._mechanism_answered(now, self.plant.reset_mechanism())

    def _after_wake(self, now: int) -> None:
        """Read what the wake-up did: its log records, the new program's credit, the state the trace needs."""
        fw = self.firmware
        if fw is None:  # boot of a pump without firmware: the concentration is the fill's
            self._believed_conc_ng_per_ml = self._conc_ng_per_ml
            self._trace_state()
            return
        self._drain_log()
        program = self.plant.timer.program
        self._credit_mark = program.credit_at(now) if program is not None else 0
        self._believed_conc_ng_per_ml = fw.conc_ng_per_ml
        self._trace_state()

    def _trace_state(self) -> None:
        """Trace rows from now on are taken under the firmware's state of its last wake-up and the plant's epoch."""
        if self.trace is None:
            return
        fw = self.firmware
        if fw is None:
            self.trace.set_state(WakeState(self.plant.epoch_index, 0, 0, self._believed_conc_ng_per_ml, 0))
            return
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
        assert self.firmware is not None
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
        fw = self.firmware
        summary = self.tally.summary(
            scenario=self.scenario.name, seed=self.seed, complete=self.complete, duration_ms=self.duration_ms,
            now_ms=now, plant=plant, catheter_nl=self.plant.catheter.volume_nl,
            estimate_nl=None if fw is None else fw.reservoir_estimate_nl(plant.strokes),
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
