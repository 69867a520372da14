"""The SimPy engine: runs the firmware model against the plant.

One SimPy process drives everything in integer milliseconds. At each step it
picks the earliest of: the controller's requested wake-up, the next clinic
visit, the stroke that empties the real reservoir, and the end of the run;
waits for it; then handles, in this fixed order, strokes up to that instant,
the plant event (reservoir dry), visits due, and the controller wake-up. A
fixed order at equal times is what makes a run reproducible and makes bulk and
exact modes agree.

**Bulk mode** (default): strokes between two steps are not events. The motor
was programmed for N strokes; the plant reads their total volume off the
stroke stream's running sums, and finds the stroke that empties the reservoir
with one vectorised search. **Exact mode**: every stroke is a SimPy event and
the reservoir is checked after each one. Both read the same stroke stream
through the same arithmetic, so their summaries, events and traces are
identical for the same seed (tests/scenario/test_exact_vs_bulk.py).

Trace rows are taken at every ``trace_interval`` and after every event, and
buffered as (time, stroke count, state ids); their physical values are
computed in vectorised batches, so a row costs a few list appends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from firmware_model import (
    ALARM_NAMES,
    BOLUS_NAMES,
    COMMAND_NAMES,
    MODE_NAMES,
    MS_PER_DAY,
    NL_PER_ML,
    REJECT_NAMES,
    EventCode,
    LogRecord,
    MotorProgram,
    PrimingBolus,
    PumpController,
    Refill,
    Reprogram,
    SetLowReservoirThreshold,
    TonePattern,
)
from firmware_model.alarms import tone_for

from .plant import Battery, Catheter, Reservoir, StrokeStream
from .plant.mechanism import CHUNK
from .plant.reservoir import RefillOutcome
from .results import TRACE_COLUMNS, MemorySink, SimulationResult, Sink
from .scenario.model import Scenario, Visit

#: Trace rows buffered before a vectorised evaluation and a write.
FLUSH_ROWS = 4096
_NG_PER_MG = 1e6


def _ml(nl: float) -> float:
    return nl / NL_PER_ML


def _t_s(t_ms: int) -> float:
    return t_ms / 1000


# ---------------------------------------------------------------- the HAL


class _Clock:
    __slots__ = ("now_ms",)

    def __init__(self) -> None:
        self.now_ms = 0


class EngineMotor:
    """The motor and its stroke timer, as the plant sees them."""

    def __init__(self, clock: _Clock) -> None:
        self._clock = clock
        self.program: MotorProgram | None = None
        #: Stroke count when the current program started.
        self.base = 0
        self.stall = False
        # The count at the current instant is asked for several times per
        # step; it changes only when the clock or the program does.
        self._memo_t = -1
        self._memo_count = 0

    def run(self, program: MotorProgram) -> None:
        self.base = self.stroke_count()
        self.program = program
        # A program fires nothing at or before its start (credit0 < cost), so
        # the memo (count now = base) stays true unless it started earlier.
        if program.start_ms < self._memo_t:
            self._memo_t = -1

    def stop(self) -> None:
        self.base = self.stroke_count()  # the memo (count now = base) stays true
        self.program = None

    def advance(self, t_ms: int, count: int) -> None:
        """The engine moved the clock to *t_ms*, where it already knows the count is *count*."""
        self._memo_t = t_ms
        self._memo_count = count

    def stroke_count(self) -> int:
        t = self._clock.now_ms
        if t != self._memo_t:
            p = self.program
            self._memo_count = self.base if p is None else self.base + p.strokes_by(t)
            self._memo_t = t
        return self._memo_count

    def stalled(self) -> bool:
        return self.stall


class EngineSounder:
    """A silent sounder: the engine reports tones from the firmware's log, which has their times."""

    def play(self, pattern: TonePattern) -> None:
        pass


class EngineRtc:
    def __init__(self, clock: _Clock) -> None:
        self._clock = clock
        self.wakeup_ms = 0

    def now_ms(self) -> int:
        return self._clock.now_ms

    def set_wakeup(self, t_ms: int) -> None:
        self.wakeup_ms = t_ms


class EngineBattery:
    def __init__(self, clock: _Clock, battery: Battery) -> None:
        self._clock = clock
        self._battery = battery

    def battery_mv(self) -> int:
        return self._battery.mv_at(self._clock.now_ms)


class EngineInbox:
    def __init__(self) -> None:
        self.queue: list[object] = []

    def send(self, cmd: object) -> None:
        self.queue.append(cmd)

    def receive(self) -> object | None:
        return self.queue.pop(0) if self.queue else None


@dataclass
class EngineHal:
    """The firmware's HAL implemented against the plant."""

    motor: EngineMotor
    sounder: EngineSounder
    rtc: EngineRtc
    battery: EngineBattery
    inbox: EngineInbox


# ------------------------------------------------------------- the engine


def _command_name(kind: int) -> str:
    return COMMAND_NAMES.get(kind, f"unknown({kind})")


_TONES: dict[int, TonePattern] = {a: tone_for(a) for a in ALARM_NAMES}


class Simulation:
    """One run of a :class:`Scenario`. Use :func:`simulate` unless you need the parts.

    *seed* overrides the scenario's seed; *exact* selects one SimPy event per
    stroke; *sink* receives the outputs (default: in memory).
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
    ) -> None:
        self.scenario = scenario
        self.trace = trace
        self.seed = scenario.seed if seed is None else seed
        self.exact = exact
        self.sink: Sink = sink if sink is not None else MemorySink()
        self.duration_ms = scenario.duration_ms if duration_ms is None else duration_ms
        if self.duration_ms <= 0:
            raise ValueError(f"duration_ms = {self.duration_ms}: expected > 0 ms")
        p, cath, drug = scenario.pump, scenario.catheter, scenario.drug
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed).spawn(1)[0]))
        self.stream = StrokeStream(p.stroke_volume_pl / 1000, p.calibration_error, p.stroke_cv, rng)
        conc_nl = drug.conc_ng_per_ml / NL_PER_ML
        self.reservoir = Reservoir(self.stream, float(p.reservoir_nl), float(p.fill_nl), conc_nl)
        dead_nl = float(p.internal_volume_nl + cath.volume_nl)
        self.catheter = Catheter(dead_nl, conc_nl if cath.primed else 0.0)
        self.catheter.enter(0.0, conc_nl)
        self._clock = _Clock()
        self.hal = EngineHal(
            EngineMotor(self._clock), EngineSounder(), EngineRtc(self._clock),
            EngineBattery(self._clock, Battery()), EngineInbox(),
        )
        self.firmware = PumpController(
            self.hal, scenario.firmware_config(), scenario.prescription, drug.conc_ng_per_ml, p.fill_nl
        )
        self._log = self.firmware.log  # the same ring buffer for the controller's life
        self.env = simpy.Environment(initial_time=0)
        self._stroke_pl = p.stroke_volume_pl
        # Bookkeeping for outputs.
        self._seq = 0
        self._lost = 0
        self._n_events = 0
        self._alarm_episodes: list[dict[str, Any]] = []
        self._open_alarm: dict[int, dict[str, Any]] = {}
        self._dry = False
        self._dry_first: int | None = None
        self._dry_since: int | None = None
        self._dry_total_ms = 0
        self._dry_count = 0
        self._tones = 0
        self._refill_outcome: RefillOutcome | None = None
        self._visit_count = 0
        self._predicted: float | None = None
        self._prescribed = 0  # pL x ms/day x ng/mL
        self._credit_mark = 0  # timer credit already counted into _prescribed
        self._released_at = 0
        # The catheter starts full: of drug if primed, else of drug-free fluid.
        self._filled_nl = float(p.fill_nl) + dead_nl
        self._filled_ng = float(p.fill_nl) * conc_nl + (dead_nl * conc_nl if cath.primed else 0.0)
        self._aspirated_nl = self._aspirated_ng = 0.0
        self._overflow_nl = self._overflow_ng = 0.0
        self._current_conc = drug.conc_ng_per_ml
        # Trace buffer: parallel lists, evaluated in batches.
        # Columns: t, stroke count, timer rate, then the per-wake state
        # (epoch index, estimate base pL, estimate base count, believed
        # concentration, alarm bits).
        self._rows: tuple[list[int], ...] = ([], [], [], [], [], [], [], [])
        self._row_state: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
        # With trace=False no grid rows are taken (sweeps); event rows still are not kept.
        self._next_grid = scenario.trace_interval_ms if trace else 1 << 62
        self._now = 0
        self._formats = {
            EventCode.ALARM_RAISED: self._ev_alarm, EventCode.ALARM_CLEARED: self._ev_alarm,
            EventCode.TONE: self._ev_tone, EventCode.REFILL: self._ev_refill,
            EventCode.REPROGRAM: self._ev_reprogram,
            EventCode.BOLUS_START: self._ev_bolus, EventCode.BOLUS_END: self._ev_bolus,
            EventCode.LOW_ALARM_PREDICTION: self._ev_prediction, EventCode.COMMAND_REJECTED: self._ev_rejected,
            EventCode.DELIVERY_STOPPED: self._ev_stopped, EventCode.ALARM_THRESHOLD_SET: self._ev_threshold,
            EventCode.BOOT: self._ev_boot,
        }
        self.complete = False
        self.wall_s = 0.0

    # ---------------------------------------------------------- running

    def run(self) -> SimulationResult:
        """Run to the end (or until interrupted) and return the result.

        On KeyboardInterrupt the outputs written so far are flushed and the
        summary is written with ``"complete": false`` before re-raising.
        """
        t0 = time.perf_counter()
        self.env.process(self._main())
        try:
            self.env.run()
            self.complete = True
        finally:
            self.wall_s = time.perf_counter() - t0
            self._flush()
            summary = self.summary()
            self.sink.close(summary)
        events = self.sink.events if isinstance(self.sink, MemorySink) else getattr(self.sink, "events", [])
        trace = self.sink.trace() if isinstance(self.sink, MemorySink) else None
        return SimulationResult(summary=summary, events=events, trace=trace,
                                out_dir=getattr(self.sink, "out_dir", None))

    def _main(self):  # type: ignore[no-untyped-def]
        env, fw, motor = self.env, self.firmware, self.hal.motor
        t_end = self.duration_ms
        visits = self.scenario.visits
        nv = len(visits)
        vi = 0
        t_fw = fw.boot(0)
        if self.scenario.priming_bolus:
            self.hal.inbox.send(PrimingBolus())
            t_fw = fw.on_wake(0)
        self._after_wake(0)
        if self.reservoir.is_dry_at(motor.stroke_count()):  # filled with nothing
            self._on_dry(0)
        exact = self.exact
        reservoir = self.reservoir
        clock = self._clock
        rows0 = self._rows[0]
        # The next fixed instant: the next visit or the end of the run.
        t_next = min(visits[0].at_ms, t_end) if nv else t_end
        while True:
            now = self._now
            target = t_fw if t_fw < t_next else t_next
            prog = motor.program
            dry_now = False
            k_t = -1  # the stroke count at target, when known before the wait
            if prog is not None:
                k_now = motor.stroke_count()
                if exact:
                    j = k_now - motor.base + 1
                    if j <= prog.strokes:
                        target = min(target, prog.stroke_time_ms(j))
                elif not self._dry:
                    k_t = motor.base + prog.strokes_by(target)
                    if k_t > k_now and k_t > reservoir.wet_through:
                        kd = reservoir.dry_stroke(k_now, k_t)
                        if kd is not None:
                            target = prog.stroke_time_ms(kd - motor.base)
                            dry_now = True
                            k_t = -1  # several strokes may share that millisecond
            if target > now:
                yield env.timeout(target - now)
            # Trace rows and prescribed dose for (now, target] are taken only once
            # the clock has got there, so an interrupted run never has rows past
            # its summary. The motor program cannot change while waiting.
            if target >= self._next_grid:
                self._grid(target)
            if target > now:
                if prog is not None:
                    # Credit accrued is the programmed volume (pL x ms/day); x conc -> dose.
                    mark = prog.credit_at(target)
                    self._prescribed += (mark - self._credit_mark) * self._row_state[3]
                    self._credit_mark = mark
                else:
                    # Delivery stopped (empty alarm): the prescription still calls for drug.
                    credit = self.firmware.therapy.rate_rows(now, target)[2]
                    self._prescribed += credit * self._row_state[3]
            self._now = clock.now_ms = now = target
            if k_t >= 0:
                motor.advance(now, k_t)
            n_before = self._n_events
            # Bulk mode found the emptying stroke before the wait; exact mode checks every stroke.
            if dry_now or (exact and not self._dry and reservoir.is_dry_at(motor.stroke_count())):
                self._on_dry(now)
            if t_next <= now:
                while vi < nv and visits[vi].at_ms <= now:
                    self._visit(visits[vi], now)
                    vi += 1
                    t_fw = now  # a telemetry session wakes the controller
                t_next = min(visits[vi].at_ms, t_end) if vi < nv else t_end
            if t_fw <= now:
                t_fw = fw.on_wake(now)
                self._after_wake(now)
            elif self._n_events > n_before:
                self._event_row(now)
            # Flush only here, after the event rows of this instant: a grid row
            # at the same instant must still be replaceable by its event row.
            if len(rows0) >= FLUSH_ROWS:
                self._flush()
            if now >= t_end:
                return

    def _after_wake(self, now: int) -> None:
        motor = self.hal.motor
        fw = self.firmware
        prog = motor.program
        self._credit_mark = prog.credit_at(now) if prog is not None else 0
        if not self.trace:
            if motor.stroke_count() - self._released_at >= CHUNK:
                # Without a trace nothing else flushes: release old strokes here.
                self._released_at = motor.stroke_count()
                self._flush()
            if self._log.next_seq != self._seq:
                self._drain()
                # Only the believed concentration is needed (for prescribed_mg);
                # it changes only at a wake-up that logs (refill, reprogram, bridge end).
                self._row_state = (0, 0, 0, fw.conc_ng_per_ml, 0)
            return
        n_before = self._n_events
        if self._log.next_seq != self._seq:
            self._drain()
        est_base, count_base = fw.estimate_basis()
        bits = 0
        for a in fw.active_alarms:
            bits |= 1 << (int(a) - 1)
        self._row_state = (len(self.reservoir.epochs) - 1, est_base, count_base, fw.conc_ng_per_ml, bits)
        if self._n_events > n_before:
            self._event_row(now)

    # ------------------------------------------------------------ plant

    def _on_dry(self, now: int) -> None:
        self._dry = True
        self._dry_count += 1
        self._dry_since = now
        if self._dry_first is None:
            self._dry_first = now
        self._emit({"t_s": now / 1000, "t_ms": now, "kind": "dry", "strokes": self.hal.motor.stroke_count()})

    def _visit(self, v: Visit, now: int) -> None:
        self._visit_count += 1
        ev: dict[str, Any] = {"t_s": now / 1000, "t_ms": now, "kind": "visit", "origin": v.origin}
        inbox = self.hal.inbox
        if v.refill_nl is not None:
            k = self.hal.motor.stroke_count()
            conc = v.conc_ng_per_ml if v.conc_ng_per_ml is not None else self._current_conc
            self._current_conc = conc
            est_nl = self.firmware.reservoir_estimate_nl(k)
            out = self.reservoir.refill(k, float(v.refill_nl), conc / NL_PER_ML, v.aspirate,
                                        float(self.scenario.pump.unaspirated_nl))
            self.catheter.enter(self.reservoir.epoch.x0, out.conc_ng_per_nl)
            self._refill_outcome = out
            self._filled_nl += out.added_nl
            self._filled_ng += out.added_nl * conc / NL_PER_ML
            self._aspirated_nl += out.aspirated_nl
            self._aspirated_ng += out.aspirated_ng
            self._overflow_nl += out.overflow_nl
            self._overflow_ng += out.overflow_ng
            if self._dry and out.volume_nl > 0:
                self._dry = False
                assert self._dry_since is not None
                self._dry_total_ms += now - self._dry_since
                self._dry_since = None
            # What the clinician enters: the volume injected after a full
            # aspiration, else the controller's estimate plus the injection.
            # (The estimate can sit up to a stroke below zero after running empty.)
            entered = v.refill_nl if v.aspirate else max(est_nl, 0) + v.refill_nl
            entered = min(entered, self.scenario.pump.reservoir_nl)
            inbox.send(Refill(entered, conc, bridge=v.bridge_bolus, rx=v.prescription))
            ev.update(refill_ml=_ml(v.refill_nl), aspirate=v.aspirate,
                      concentration_mg_per_ml=conc / 1e6, residual_actual_ml=_ml(out.residual_nl),
                      aspirated_ml=_ml(out.aspirated_nl), overflow_ml=_ml(out.overflow_nl),
                      entered_ml=_ml(entered))
        elif v.prescription is not None:
            inbox.send(Reprogram(v.prescription))
        if v.low_reservoir_alarm_nl is not None:
            inbox.send(SetLowReservoirThreshold(v.low_reservoir_alarm_nl))
        if v.priming_bolus:
            inbox.send(PrimingBolus())
        self._emit(ev)

    # ----------------------------------------------------------- events

    def _emit(self, ev: dict[str, Any]) -> None:
        """Count and hand on one event; it starts with t_s and t_ms, then kind."""
        self._n_events += 1
        self.sink.event(ev)

    def _drain(self) -> None:
        """Turn the firmware's new log records into events."""
        records, lost = self._log.since(self._seq)
        self._lost += lost
        self._seq += lost + len(records)
        event, formats, raw = self.sink.event, self._formats, self._ev_log
        for rec in records:
            event(formats.get(rec.code, raw)(rec))
            # Counted once handed on, so an interrupted run's summary counts what was written.
            self._n_events += 1

    # One formatter per log code (self._formats), looked up in a dict: a
    # wake-up that logs a record pays one hash lookup, not a chain of
    # comparisons. Formatters also update the summary's alarm episodes, tone
    # count and prediction.

    def _ev_log(self, rec: LogRecord) -> dict[str, Any]:
        """A code this engine does not know (a newer firmware): passed on raw."""
        return {"t_s": rec.t_ms / 1000, "t_ms": rec.t_ms, "kind": "log", "code": int(rec.code),
                "a": rec.a, "b": rec.b}

    def _ev_alarm(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        alarm = rec.a
        raised = rec.code == EventCode.ALARM_RAISED
        if raised:
            ep: dict[str, Any] = {"alarm": ALARM_NAMES[alarm], "t_s": _t_s(t), "cleared_t_s": None}
            self._alarm_episodes.append(ep)
            self._open_alarm[alarm] = ep
        elif alarm in self._open_alarm:
            self._open_alarm.pop(alarm)["cleared_t_s"] = _t_s(t)
        return {"t_s": t / 1000, "t_ms": t, "kind": "alarm", "alarm": ALARM_NAMES[alarm],
                "state": "raised" if raised else "cleared", "reservoir_estimated_ml": _ml(rec.b)}

    def _ev_tone(self, rec: LogRecord) -> dict[str, Any]:
        self._tones += 1
        t = rec.t_ms
        pattern = _TONES[rec.a]
        return {"t_s": t / 1000, "t_ms": t, "kind": "tone", "pattern": pattern.name,
                "alarm": ALARM_NAMES[rec.a], "duration_ms": pattern.duration_ms}

    def _ev_refill(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        ev: dict[str, Any] = {"t_s": t / 1000, "t_ms": t, "kind": "refill", "entered_ml": _ml(rec.a),
                              "concentration_mg_per_ml": rec.b / 1e6}
        out = self._refill_outcome
        if out is not None:
            ev.update(reservoir_actual_ml=_ml(out.volume_nl), mixed_concentration_mg_per_ml=out.conc_ng_per_nl)
        return ev

    def _ev_reprogram(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        return {"t_s": t / 1000, "t_ms": t, "kind": "reprogram", "mode": MODE_NAMES[rec.a],
                "daily_dose_mg": rec.b / _NG_PER_MG}

    def _ev_bolus(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        ev: dict[str, Any] = {"t_s": t / 1000, "t_ms": t, "kind": "bolus", "bolus": BOLUS_NAMES[rec.a],
                              "state": "start" if rec.code == EventCode.BOLUS_START else "end"}
        if rec.b:
            ev["volume_ml"] = _ml(rec.b)
        return ev

    def _ev_prediction(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        self._predicted = None if rec.a < 0 else float(rec.a)
        return {"t_s": t / 1000, "t_ms": t, "kind": "prediction", "predicted_low_reservoir_t_s": self._predicted}

    def _ev_rejected(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        return {"t_s": t / 1000, "t_ms": t, "kind": "rejected", "reason": REJECT_NAMES[rec.a],
                "command": _command_name(rec.b)}

    def _ev_stopped(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        return {"t_s": t / 1000, "t_ms": t, "kind": "delivery_stopped", "alarm": ALARM_NAMES[rec.a]}

    def _ev_threshold(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        return {"t_s": t / 1000, "t_ms": t, "kind": "threshold", "low_reservoir_ml": _ml(rec.a)}

    def _ev_boot(self, rec: LogRecord) -> dict[str, Any]:
        t = rec.t_ms
        return {"t_s": t / 1000, "t_ms": t, "kind": "boot", "firmware_version": rec.a}

    # ------------------------------------------------------------ trace

    def _grid(self, target: int) -> None:
        """Buffer grid rows at every trace interval up to and including *target*."""
        motor = self.hal.motor
        step = self.scenario.trace_interval_ms
        g = self._next_grid
        t_col, k_col, r_col = self._rows[0], self._rows[1], self._rows[2]
        prog = motor.program
        base = motor.base
        if prog is None:
            while g <= target:
                t_col.append(g)
                k_col.append(base)
                r_col.append(0)
                g += step
        else:
            strokes_by, rate_at = prog.strokes_by, prog.rate_at
            while g <= target:
                t_col.append(g)
                k_col.append(base + strokes_by(g))
                r_col.append(rate_at(g))
                g += step
        n = len(t_col) - len(self._rows[3])
        for col, val in zip(self._rows[3:], self._row_state, strict=True):
            col.extend([val] * n)
        self._next_grid = g

    def _event_row(self, now: int) -> None:
        if not self.trace:
            return
        rows = self._rows
        if rows[0] and rows[0][-1] == now and rows[1][-1] == self.hal.motor.stroke_count():
            # Replace a grid row at the same instant: the state after the event wins.
            for col in rows:
                col.pop()
        prog = self.hal.motor.program
        rows[0].append(now)
        rows[1].append(self.hal.motor.stroke_count())
        rows[2].append(0 if prog is None else prog.rate_at(now))
        for col, val in zip(rows[3:], self._row_state, strict=True):
            col.append(val)

    def _flush(self) -> None:
        if self._rows[0]:
            cols = self._evaluate(*(np.asarray(c, dtype=np.int64) for c in self._rows))
            for c in self._rows:
                c.clear()
            self.sink.rows(cols)
        # Strokes below the current count (and the epoch start) are never read again.
        self.stream.release_before(min(self.hal.motor.stroke_count(), self.reservoir.epoch.k0))

    def _evaluate(self, t: np.ndarray, k: np.ndarray, rate: np.ndarray, ep: np.ndarray, est_base: np.ndarray,
                  count_base: np.ndarray, conc: np.ndarray, bits: np.ndarray) -> dict[str, np.ndarray]:
        """Physical values at stroke counts *k* (vectorised; the one place they are computed)."""
        epochs = self.reservoir.epochs
        p0 = np.array([e.p0 for e in epochs])[ep]
        v0 = np.array([e.v0 for e in epochs])[ep]
        x0 = np.array([e.x0 for e in epochs])[ep]
        cum = self.stream.cum_many(k)
        pumped_in = np.where(cum >= p0 + v0, v0, np.minimum(cum - p0, v0))
        x = x0 + pumped_in
        est_nl = (est_base - (k - count_base) * self._stroke_pl) // 1000
        tip = np.array([self.catheter.tip_conc(float(xi)) for xi in x]) if len(x) < 64 else self._tip_many(x)
        return {
            "t_s": t / 1000,
            "strokes": k,
            "reservoir_actual_ml": (v0 - pumped_in) / NL_PER_ML,
            "reservoir_estimated_ml": est_nl / NL_PER_ML,
            "delivered_ml": x / NL_PER_ML,
            "delivered_mg": self.catheter.delivered_mass(x) / _NG_PER_MG,
            "catheter_tip_mg_per_ml": tip,
            # pL/day x ng/mL / 1e9 pL/mL = ng/day; then mg/day
            "dose_rate_mg_per_day": rate.astype(np.float64) * conc / 1e9 / _NG_PER_MG,
            "alarm_low_reservoir": bits & 1,
            "alarm_empty_reservoir": (bits >> 1) & 1,
        }

    def _tip_many(self, x: np.ndarray) -> np.ndarray:
        starts = np.asarray(self.catheter.xs)
        i = np.maximum(np.searchsorted(starts, x - self.catheter.volume_nl, side="right") - 1, 0)
        return np.asarray(self.catheter.cs)[i]

    # ---------------------------------------------------------- summary

    def summary(self) -> dict[str, Any]:
        """The run's summary (also written as summary.json)."""
        now = self._now
        k = self.hal.motor.stroke_count()
        e = self.reservoir.epoch
        pumped_in = self.reservoir.pumped_in_epoch(k)
        x = e.x0 + pumped_in
        delivered_ng = float(self.catheter.delivered_mass(np.array([x]))[0])
        content_ng = float(self.catheter.content_mass(np.array([x]))[0])
        reservoir_nl = e.v0 - pumped_in
        dry_total = self._dry_total_ms + (now - self._dry_since if self._dry_since is not None else 0)
        cath = self.catheter.volume_nl
        out_nl = reservoir_nl + cath + x + self._aspirated_nl + self._overflow_nl
        out_ng = reservoir_nl * e.conc_ng_per_nl + content_ng + delivered_ng + self._aspirated_ng + self._overflow_ng
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "exact": self.exact,
            "complete": self.complete,
            "duration_s": _t_s(self.duration_ms),
            "simulated_s": _t_s(now),
            "strokes": k,
            "pumped_ml": _ml(x),
            "delivered_ml": _ml(x),
            "delivered_mg": delivered_ng / _NG_PER_MG,
            "prescribed_mg": self._prescribed / (MS_PER_DAY * 10**9) / _NG_PER_MG,
            "reservoir_actual_ml": _ml(reservoir_nl),
            "reservoir_estimated_ml": _ml(self.firmware.reservoir_estimate_nl(k)),
            "catheter_content_mg": content_ng / _NG_PER_MG,
            "alarms": [dict(a) for a in self._alarm_episodes],
            "dry_t_s": None if self._dry_first is None else _t_s(self._dry_first),
            "dry_count": self._dry_count,
            "dry_total_s": _t_s(dry_total),
            "predicted_low_reservoir_t_s": self._predicted,
            "tones": self._tones,
            "visits": self._visit_count,
            "events": self._n_events,
            "log_records_lost": self._lost,
            "balance": {
                "in_ml": _ml(self._filled_nl),
                "out_ml": _ml(out_nl),
                "in_mg": self._filled_ng / _NG_PER_MG,
                "out_mg": out_ng / _NG_PER_MG,
                "aspirated_ml": _ml(self._aspirated_nl),
                "aspirated_mg": self._aspirated_ng / _NG_PER_MG,
                "overflow_ml": _ml(self._overflow_nl),
                "catheter_ml": _ml(cath),
            },
            "wall_s": round(self.wall_s, 6),
        }


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    exact: bool = False,
    *,
    sink: Sink | None = None,
    duration_ms: int | None = None,
    trace: bool = True,
) -> SimulationResult:
    """Run *scenario* and return its :class:`SimulationResult`.

    *seed* overrides the scenario's seed; *exact* runs one SimPy event per
    stroke (slow; for cross-checking); *sink* streams outputs elsewhere (for
    example :class:`pumpsim.results.DirectorySink`); *duration_ms* overrides
    the scenario's duration; *trace* False skips the trace (faster; for
    sweeps), leaving ``result.trace`` empty.
    """
    return Simulation(scenario, seed=seed, exact=exact, sink=sink, duration_ms=duration_ms, trace=trace).run()


__all__ = ["TRACE_COLUMNS", "Simulation", "simulate"]
