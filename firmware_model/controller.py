"""The pump controller: the firmware's main loop, written to be ported to C.

The controller is tickless. The HAL's RTC wakes it at the time it asked for, or
the engine wakes it early when a telemetry message arrives; each call to
:meth:`PumpController.on_wake` does all pending work and returns the time it
next needs to run. In between, the hardware stroke timer delivers the strokes it
was programmed with, so a day of therapy costs a handful of wake-ups, not one
per stroke.

What the controller knows about the reservoir is only what it counts: the
volume entered at the last refill minus strokes x calibrated stroke volume. It
cannot see the true reservoir (the plant model keeps that separately).

Safety rules enforced here carry requirement ids (docs/requirements.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ._units import MS_PER_DAY, MS_PER_S, PL_PER_ML, PL_PER_NL, ceil_div, round_div
from .alarms import PRIORITY, AlarmId, repeat_interval_ms, tone_for
from .commands import PrimingBolus, Refill, Reprogram, SetLowReservoirThreshold
from .config import PumpConfig
from .eventlog import EventCode, EventLog
from .hal import Hal, MotorProgram
from .prescription import (
    Prescription,
    PrescriptionMode,
    Rejection,
    RejectReason,
    Therapy,
    check_prescription,
)

FIRMWARE_VERSION = 1

#: Which active alarm sounds: the highest priority, then the lowest id.
_SOUND_RANK = {a: (PRIORITY[a], -a) for a in AlarmId}

#: Modes whose rate changes are bolus edges the controller logs, so it wakes for them.
_LOGGED_EDGES = (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS)


class BolusKind(IntEnum):
    """Kinds of bolus, as logged with BOLUS_START / BOLUS_END."""

    PERIODIC = 1
    SINGLE = 2
    PRIMING = 3
    BRIDGE = 4


@dataclass(frozen=True, slots=True)
class ControllerStatus:
    """What an interrogation by the clinician programmer reads back."""

    t_ms: int
    stroke_count: int
    reservoir_estimate_nl: int
    low_reservoir_nl: int
    conc_ng_per_ml: int
    prescription: Prescription
    dose_rate_ng_per_day: int
    active_alarms: tuple[AlarmId, ...]
    delivery_stopped: bool
    predicted_low_alarm_ms: int | None
    bridge_strokes_left: int
    priming_strokes_left: int


class PumpController:
    """Controller firmware for a programmable peristaltic intrathecal pump.

    Construct it with the HAL, the fixed configuration and the state at
    implant (prescription, concentration, reservoir volume), then call
    :meth:`boot` once and :meth:`on_wake` whenever the RTC alarm fires or a
    telemetry message arrives. Raises ValueError at construction if the
    prescription is not deliverable or the fill exceeds the reservoir.
    """

    def __init__(
        self,
        hal: Hal,
        cfg: PumpConfig,
        rx: Prescription,
        conc_ng_per_ml: int,
        reservoir_nl: int,
    ) -> None:
        rej = check_prescription(rx, conc_ng_per_ml, cfg)
        if rej is not None:
            raise ValueError(f"{rej.field}: {rej.message}")
        if not 0 <= reservoir_nl <= cfg.reservoir_capacity_nl:
            raise ValueError(
                f"reservoir_nl = {reservoir_nl}: expected 0..{cfg.reservoir_capacity_nl} nL"
            )
        self._hal = hal
        self._cfg = cfg
        self._cost = cfg.stroke_cost
        self._log = EventLog(cfg.log_capacity)
        self._pending_rx = rx
        self._pending_conc = conc_ng_per_ml
        # Replaced at boot; set here so the hot path never tests for None.
        self._therapy = Therapy(rx, conc_ng_per_ml, 0, cfg.min_rate_pl_per_day)
        self._booted = False
        # Program to switch to when the bridge bolus ends (new drug at the tip).
        self._next: tuple[Prescription, int] | None = None
        self._bridge_left = 0
        self._prime_left = 0
        self._priming_open = False
        self._est_base_pl = reservoir_nl * PL_PER_NL
        self._count_base = 0
        self._last_count = 0
        self._low_nl = cfg.low_reservoir_nl
        # Thresholds in pL, the estimate's unit, so a wake-up does no scaling.
        self._low_pl = cfg.low_reservoir_nl * PL_PER_NL
        self._floor_pl = cfg.empty_floor_nl * PL_PER_NL
        # Active alarms and when each one's next tone is due.
        self._alarms: dict[AlarmId, int] = {}
        self._stopped = False
        self._program: MotorProgram | None = None
        self._credit = 0
        self._bolus_window: tuple[int, int] | None = None
        self._bolus_kind = BolusKind.PERIODIC
        self._predicted_low_ms: int | None = None
        self._now = 0

    # ------------------------------------------------------------------ API

    @property
    def config(self) -> PumpConfig:
        """The controller's fixed configuration."""
        return self._cfg

    @property
    def log(self) -> EventLog:
        """The event log (read it with :meth:`EventLog.since`)."""
        return self._log

    @property
    def motor_program(self) -> MotorProgram | None:
        """The stroke-timer program last given to the motor (None when stopped)."""
        return self._program

    def boot(self, now_ms: int) -> int:
        """Start therapy at *now_ms*; returns the first wake-up time."""
        self._now = now_ms
        self._last_count = self._count_base = self._hal.motor.stroke_count()
        self._therapy = Therapy(self._pending_rx, self._pending_conc, now_ms, self._cfg.min_rate_pl_per_day)
        self._booted = True
        self._log.append(now_ms, EventCode.BOOT, FIRMWARE_VERSION, 0)
        self._log.append(now_ms, EventCode.REPROGRAM, int(self._pending_rx.mode), self._pending_rx.daily_dose_ng())
        return self._run(now_ms, predict=True)

    def on_wake(self, now_ms: int) -> int:
        """Do all work due at *now_ms*; returns the next wake-up time (> now_ms).

        Raises RuntimeError before :meth:`boot`.
        """
        if not self._booted:
            raise RuntimeError("controller not booted: call boot() first")
        self._account(now_ms)
        self._now = now_ms
        predict = False
        while (cmd := self._hal.inbox.receive()) is not None:
            predict |= self._handle(cmd, now_ms)
        return self._run(now_ms, predict)

    def reservoir_estimate_nl(self, stroke_count: int | None = None) -> int:
        """The controller's reservoir estimate, nL, at *stroke_count* (default: now).

        The estimate is linear in the stroke counter between refills, so a
        caller may evaluate it at any count the motor reaches before the next
        wake-up.
        """
        if stroke_count is None:
            stroke_count = self._hal.motor.stroke_count()
        pl = self._est_base_pl - (stroke_count - self._count_base) * self._cfg.stroke_volume_pl
        return pl // PL_PER_NL

    def estimate_basis(self) -> tuple[int, int]:
        """(estimate in pL at the base count, base count) since the last refill.

        ``estimate_pl(count) = base_pl - (count - base_count) * stroke_volume_pl``
        until the next refill; lets a host evaluate the estimate at many stroke
        counts at once.
        """
        return self._est_base_pl, self._count_base

    @property
    def active_alarms(self) -> tuple[AlarmId, ...]:
        """Alarms currently raised, lowest id first."""
        return tuple(sorted(self._alarms))

    def status(self) -> ControllerStatus:
        """Interrogate the controller."""
        th = self._therapy_or_raise()
        return ControllerStatus(
            t_ms=self._now,
            stroke_count=self._hal.motor.stroke_count(),
            reservoir_estimate_nl=self.reservoir_estimate_nl(),
            low_reservoir_nl=self._low_nl,
            conc_ng_per_ml=th.conc_ng_per_ml,
            prescription=th.rx,
            dose_rate_ng_per_day=self.dose_rate_ng_per_day(),
            active_alarms=tuple(sorted(self._alarms)),
            delivery_stopped=self._stopped,
            predicted_low_alarm_ms=self._predicted_low_ms,
            bridge_strokes_left=self._bridge_left,
            priming_strokes_left=self._prime_left,
        )

    def dose_rate_ng_per_day(self) -> int:
        """Dose rate the current motor program delivers at the pump outlet, ng/day.

        This is the programmed rate times the concentration the controller
        believes is in the reservoir; 0 while delivery is stopped.
        """
        prog = self._program
        if prog is None or not self._booted:
            return 0
        return round_div(prog.rate_at(self._now) * self._therapy.conc_ng_per_ml, PL_PER_ML)

    @property
    def therapy(self) -> Therapy:
        """The program in force (the old one while a bridge bolus runs)."""
        return self._therapy_or_raise()

    @property
    def conc_ng_per_ml(self) -> int:
        """Concentration the controller believes it is delivering (the old one during a bridge)."""
        return self._therapy_or_raise().conc_ng_per_ml

    @property
    def predicted_low_alarm_ms(self) -> int | None:
        """When the low-reservoir alarm will sound if nothing changes (None: never or now)."""
        return self._predicted_low_ms

    # ------------------------------------------------------------- internals

    def _therapy_or_raise(self) -> Therapy:
        if not self._booted:
            raise RuntimeError("controller not booted: call boot() first")
        return self._therapy

    def _account(self, now_ms: int) -> None:
        """Read the stroke counter and carry the stroke timer's credit over."""
        count = self._hal.motor.stroke_count()
        delta = count - self._last_count
        self._last_count = count
        if delta:
            if self._prime_left:
                self._prime_left = max(0, self._prime_left - delta)
            if self._bridge_left:
                self._bridge_left = max(0, self._bridge_left - delta)
        prog = self._program
        if prog is None:
            return
        # Carry the credit even when the program fired no stroke: at low rates a
        # wake-up interval can be shorter than a stroke interval, and dropping
        # the partial stroke each time would under-deliver.
        credit = prog.credit_at(now_ms) - delta * self._cost
        # A stall would leave owed strokes; never deliver them as a burst.
        if credit < 0:
            credit = 0
        elif credit >= self._cost:
            credit = self._cost - 1
        self._credit = credit

    def _handle(self, cmd: object, now_ms: int) -> bool:
        """Apply one telemetry command; returns True if the schedule changed."""
        rej: Rejection | None
        if isinstance(cmd, Refill):
            rej = self._refill(cmd, now_ms)
        elif isinstance(cmd, Reprogram):
            rej = self._reprogram(cmd.rx, now_ms)
        elif isinstance(cmd, PrimingBolus) and self._estimate_pl() <= self._cfg.empty_floor_nl * PL_PER_NL:
            # REQ-RX-008: nothing to prime with while the reservoir is empty; an
            # accepted request would fire, unasked, at the next refill.
            rej = Rejection(RejectReason.BAD_VALUE, "priming_bolus", "delivery is stopped (empty reservoir)")
        elif isinstance(cmd, PrimingBolus):
            rej = None
            self._prime_left = ceil_div(self._cfg.dead_volume_nl * PL_PER_NL, self._cfg.stroke_volume_pl)
            if self._prime_left and not self._priming_open:
                self._priming_open = True
                self._log.append(now_ms, EventCode.BOLUS_START, BolusKind.PRIMING, self._cfg.dead_volume_nl)
        elif isinstance(cmd, SetLowReservoirThreshold):
            rej = self._set_threshold(cmd.threshold_nl, now_ms)
        else:
            rej = Rejection(RejectReason.BAD_VALUE, "command", f"unknown command {cmd!r}")
        if rej is not None:
            kind = int(getattr(cmd, "kind", 0))
            self._log.append(now_ms, EventCode.COMMAND_REJECTED, int(rej.reason), kind)
            return False
        return True

    def _target(self) -> tuple[Prescription, int]:
        """The program that applies once any bridge has finished."""
        if self._next is not None:
            return self._next
        th = self._therapy_or_raise()
        return th.rx, th.conc_ng_per_ml

    def _refill(self, cmd: Refill, now_ms: int) -> Rejection | None:
        cfg = self._cfg
        if not 0 < cmd.reservoir_nl <= cfg.reservoir_capacity_nl:
            reason = RejectReason.VOLUME_ABOVE_CAPACITY if cmd.reservoir_nl > 0 else RejectReason.BAD_VALUE
            return Rejection(reason, "reservoir", f"{cmd.reservoir_nl} nL: expected 1..{cfg.reservoir_capacity_nl} nL")
        rx, conc = self._target()
        new_rx = cmd.rx if cmd.rx is not None else rx
        rej = check_prescription(new_rx, cmd.conc_ng_per_ml, cfg)
        if rej is not None:
            return rej
        self._est_base_pl = cmd.reservoir_nl * PL_PER_NL
        self._count_base = self._hal.motor.stroke_count()
        self._log.append(now_ms, EventCode.REFILL, cmd.reservoir_nl, cmd.conc_ng_per_ml)
        if cmd.conc_ng_per_ml != conc and cmd.bridge and cfg.dead_volume_nl > 0:
            # REQ-RX-005: keep the old program (old dose at the old
            # concentration) running until the old drug in the dead volume has
            # been delivered, then switch.
            if self._next is not None:  # a bridge still running is superseded
                self._log.append(now_ms, EventCode.BOLUS_END, BolusKind.BRIDGE, 0)
            self._next = (new_rx, cmd.conc_ng_per_ml)
            self._bridge_left = ceil_div(cfg.dead_volume_nl * PL_PER_NL, cfg.stroke_volume_pl)
            self._log.append(now_ms, EventCode.BOLUS_START, BolusKind.BRIDGE, cfg.dead_volume_nl)
        elif self._next is not None and cmd.conc_ng_per_ml == conc and cmd.bridge:
            # The same new drug again while its bridge runs: the old drug is
            # still in the line, so the bridge carries on.
            self._next = (new_rx, cmd.conc_ng_per_ml)
        else:
            if self._next is not None:
                # Any other refill cancels a pending bridge: what the clinician
                # entered last is what the reservoir holds (REQ-RX-006).
                self._log.append(now_ms, EventCode.BOLUS_END, BolusKind.BRIDGE, 0)
                self._next = None
                self._bridge_left = 0
            self._switch_therapy(new_rx, cmd.conc_ng_per_ml, now_ms)
        if cmd.rx is not None:
            self._log.append(now_ms, EventCode.REPROGRAM, int(new_rx.mode), new_rx.daily_dose_ng())
        return None

    def _switch_therapy(self, rx: Prescription, conc_ng_per_ml: int, now_ms: int) -> None:
        """Run *rx* at *conc_ng_per_ml* from now on.

        A new concentration under the same prescription continues the same
        program (REQ-RX-007: a single bolus already given is not given again);
        a new prescription starts afresh now.
        """
        th = self._therapy_or_raise()
        if rx == th.rx and conc_ng_per_ml == th.conc_ng_per_ml:
            return
        start = th.start_ms if rx == th.rx else now_ms
        self._therapy = Therapy(rx, conc_ng_per_ml, start, self._cfg.min_rate_pl_per_day)

    def _reprogram(self, rx: Prescription, now_ms: int) -> Rejection | None:
        _, conc = self._target()
        rej = check_prescription(rx, conc, self._cfg)
        if rej is not None:
            return rej
        th = self._therapy_or_raise()
        if self._next is not None:
            # REQ-RX-009: a reprogram takes effect now, also during a bridge:
            # the new prescription runs at the old concentration until the old
            # drug is through, then at the new one.
            rej = check_prescription(rx, th.conc_ng_per_ml, self._cfg)
            if rej is not None:
                return rej
            self._next = (rx, conc)
            self._therapy = Therapy(rx, th.conc_ng_per_ml, now_ms, self._cfg.min_rate_pl_per_day)
        else:
            self._therapy = Therapy(rx, conc, now_ms, self._cfg.min_rate_pl_per_day)
        self._log.append(now_ms, EventCode.REPROGRAM, int(rx.mode), rx.daily_dose_ng())
        return None

    def _set_threshold(self, threshold_nl: int, now_ms: int) -> Rejection | None:
        cfg = self._cfg
        if not cfg.empty_floor_nl <= threshold_nl <= cfg.reservoir_capacity_nl:
            return Rejection(
                RejectReason.BAD_VALUE, "low_reservoir_alarm",
                f"{threshold_nl} nL: expected {cfg.empty_floor_nl}..{cfg.reservoir_capacity_nl} nL",
            )
        self._low_nl = threshold_nl
        self._low_pl = threshold_nl * PL_PER_NL
        self._log.append(now_ms, EventCode.ALARM_THRESHOLD_SET, threshold_nl, 0)
        return None

    def _run(self, now_ms: int, predict: bool) -> int:
        """The common tail of every wake-up: phases, alarms, tones, motor, RTC."""
        # The guards skip calls that would do nothing (this runs at every wake-up).
        if self._next is not None or self._priming_open:
            self._finish_boluses(now_ms)
        # The counter cannot move during a wake-up: one estimate serves alarms and schedule.
        est_pl = self._estimate_pl()
        self._update_alarms(now_ms, est_pl)
        if self._alarms:
            self._sound(now_ms)
        self._log_bolus_window(now_ms)
        if predict:
            self._predicted_low_ms = self._predict_low_alarm(now_ms)
            pred_s = -1 if self._predicted_low_ms is None else self._predicted_low_ms // MS_PER_S
            self._log.append(now_ms, EventCode.LOW_ALARM_PREDICTION, pred_s, 0)
        return self._schedule(now_ms, est_pl)

    def _finish_boluses(self, now_ms: int) -> None:
        cfg = self._cfg
        if self._next is not None and self._bridge_left == 0:
            rx, conc = self._next
            self._next = None
            self._switch_therapy(rx, conc, now_ms)
            self._log.append(now_ms, EventCode.BOLUS_END, BolusKind.BRIDGE, cfg.dead_volume_nl)
        if self._prime_left == 0 and self._priming_open:
            self._priming_open = False
            self._log.append(now_ms, EventCode.BOLUS_END, BolusKind.PRIMING, cfg.dead_volume_nl)

    def _estimate_pl(self) -> int:
        # The counter cannot move during a wake-up: the last read is current.
        count = self._last_count
        return self._est_base_pl - (count - self._count_base) * self._cfg.stroke_volume_pl

    def _update_alarms(self, now_ms: int, est_pl: int) -> None:
        alarms = self._alarms
        # REQ-ALM-001: low-reservoir alarm while the estimate is at or below the threshold.
        low = est_pl <= self._low_pl
        # REQ-ALM-002: empty-reservoir alarm at the floor; REQ-ALM-003: delivery stops.
        empty = est_pl <= self._floor_pl
        if low is not (AlarmId.LOW_RESERVOIR in alarms):
            self._set_alarm(AlarmId.LOW_RESERVOIR, low, now_ms, est_pl // PL_PER_NL)
        if empty is not (AlarmId.EMPTY_RESERVOIR in alarms):
            self._set_alarm(AlarmId.EMPTY_RESERVOIR, empty, now_ms, est_pl // PL_PER_NL)
        if empty and not self._stopped:
            self._log.append(now_ms, EventCode.DELIVERY_STOPPED, AlarmId.EMPTY_RESERVOIR, 0)
            if self._prime_left:  # REQ-RX-008: a priming bolus cut off by the empty floor is cancelled
                self._prime_left = 0
        self._stopped = empty
        if low:
            self._predicted_low_ms = None  # raised: nothing left to predict

    def _set_alarm(self, alarm: AlarmId, on: bool, now_ms: int, est_nl: int) -> None:
        if on and alarm not in self._alarms:
            self._alarms[alarm] = now_ms  # first tone now
            self._log.append(now_ms, EventCode.ALARM_RAISED, alarm, est_nl)
        elif not on and alarm in self._alarms:
            del self._alarms[alarm]
            self._log.append(now_ms, EventCode.ALARM_CLEARED, alarm, est_nl)

    def _sound(self, now_ms: int) -> None:
        """REQ-ALM-004/005: each active alarm repeats its tone; only the highest priority sounds."""
        if not self._alarms:
            return
        top = max(self._alarms, key=_SOUND_RANK.__getitem__)
        due = [a for a, t in self._alarms.items() if t <= now_ms]
        if top in due:
            pattern = tone_for(top)
            self._hal.sounder.play(pattern)
            self._log.append(now_ms, EventCode.TONE, top, int(pattern.priority))
        # Lower-priority alarms stay silent while a higher one is active, but
        # keep their own rhythm so they resume on time once it clears.
        for alarm in due:
            self._alarms[alarm] = now_ms + repeat_interval_ms(alarm, self._cfg)

    def _log_bolus_window(self, now_ms: int) -> None:
        th = self._therapy
        window = None if self._stopped or self._prime_left else th.bolus_window(now_ms)
        if window == self._bolus_window:
            return
        if self._bolus_window is not None:
            # The kind of the window that closes, even if the mode has changed since.
            self._log.append(now_ms, EventCode.BOLUS_END, self._bolus_kind, 0)
        if window is not None:
            self._bolus_kind = BolusKind.SINGLE if th.rx.mode is PrescriptionMode.SINGLE_BOLUS else BolusKind.PERIODIC
            self._log.append(now_ms, EventCode.BOLUS_START, self._bolus_kind, 0)
        self._bolus_window = window

    def _stroke_limit(self, est_pl: int) -> int | None:
        """Strokes until the next stroke-counted decision (threshold, bridge or priming end).

        *est_pl* is the reservoir estimate now. The estimate only falls between wake-ups, so the next threshold still
        above it (low, then the empty floor) is the nearer of the two.
        """
        limit = 0  # 0: no limit yet (every real limit is >= 1)
        n = self._bridge_left
        if n > 0:
            limit = n
        n = self._prime_left
        if n > 0 and (limit == 0 or n < limit):
            limit = n
        if est_pl > self._low_pl and AlarmId.LOW_RESERVOIR not in self._alarms:
            over_pl = est_pl - self._low_pl
        elif est_pl > self._floor_pl and AlarmId.EMPTY_RESERVOIR not in self._alarms:
            over_pl = est_pl - self._floor_pl
        else:
            over_pl = 0
        if over_pl > 0:
            n = ceil_div(over_pl, self._cfg.stroke_volume_pl)
            if limit == 0 or n < limit:
                limit = n
        return limit or None

    def _schedule(self, now_ms: int, est_pl: int) -> int:
        """Program the motor up to the next decision and set the RTC wake-up.

        The controller wakes for things it must act on (a tone, a bolus edge it
        logs, a stroke-counted limit, the daily housekeeping bound). Rate
        changes in between, such as flex-dosing steps, go into the stroke
        timer's rate table instead of costing a wake-up each. *est_pl* is
        the reservoir estimate now (it sets the stroke limit).
        """
        cfg = self._cfg
        t_wake = now_ms + cfg.max_sleep_ms
        if self._alarms:  # the next tone
            due = min(self._alarms.values())
            if due < t_wake:
                t_wake = due
        # Rate table from now to the wake-up, and the credit it accrues.
        later: tuple[tuple[int, int], ...] = ()
        if self._stopped:
            rate = gain = 0
        elif self._prime_left:
            rate = cfg.max_rate_pl_per_day
            gain = rate * (t_wake - now_ms)
        else:
            th = self._therapy
            if th.rx.mode in _LOGGED_EDGES:
                # Bolus edges are logged, so the controller wakes for each:
                # one rate until then, no table to walk.
                rate, t_change = th.rate_at(now_ms)
                if t_change < t_wake:
                    t_wake = t_change
                gain = rate * (t_wake - now_ms)
            else:
                rate, rows, gain = th.rate_rows(now_ms, t_wake)
                later = tuple(rows)
        motor = self._hal.motor
        if rate == 0 and not later:
            motor.stop()
            self._program = None
            self._credit = 0
        else:
            n = (self._credit + gain) // self._cost
            limit = self._stroke_limit(est_pl)
            if limit is not None and limit <= n:
                program = MotorProgram(now_ms, limit, rate, self._cost, self._credit, later)
                # Wake exactly at the stroke that reaches the limit (REQ-ALM-001:
                # the alarm sounds within one stroke of the threshold).
                t_wake = program.stroke_time_ms(limit)
            else:
                program = MotorProgram(now_ms, n, rate, self._cost, self._credit, later)
            self._program = program
            motor.run(program)
        self._hal.rtc.set_wakeup(t_wake)
        return t_wake

    # ------------------------------------------------------------ prediction

    def _predict_low_alarm(self, now_ms: int) -> int | None:
        """Time the low-reservoir alarm will be raised if nothing changes.

        Walks the schedule with the same integer stroke-timer arithmetic the
        motor uses (priming, then the bridge under the old program, then the
        target program), so the prediction is exact to the millisecond. Returns
        None if the alarm is already active or the rate is zero.
        """
        if self._stopped or AlarmId.LOW_RESERVOIR in self._alarms:
            return None
        est_pl = self._estimate_pl()
        thr_pl = self._low_pl
        if est_pl <= thr_pl:
            return None
        k = ceil_div(est_pl - thr_pl, self._cfg.stroke_volume_pl)
        cfg = self._cfg
        t, credit = now_ms, self._credit
        if self._prime_left:
            p = min(self._prime_left, k)
            t = t + ceil_div(p * self._cost - credit, cfg.max_rate_pl_per_day)
            credit = credit + cfg.max_rate_pl_per_day * (t - now_ms) - p * self._cost
            k -= p
            if k == 0:
                return t
        th = self._therapy_or_raise()
        if self._next is not None:
            bridge = self._bridge_left - self._prime_left
            t_switch = t
            if bridge > 0:
                b = min(bridge, k)
                res = _walk(th, t, b * self._cost - credit)
                if res is None:
                    return None
                t, credit = res
                k -= b
                if k == 0:
                    return t
                t_switch = t
            elif self._prime_left:
                # The bridge ended inside the priming bolus, at its bridge_left-th stroke.
                t_switch = now_ms + ceil_div(self._bridge_left * self._cost - self._credit, cfg.max_rate_pl_per_day)
            rx, conc = self._next
            # As _switch_therapy: the same prescription continues its program.
            th = Therapy(rx, conc, th.start_ms if rx == th.rx else t_switch, cfg.min_rate_pl_per_day)
        res = _walk(th, t, k * self._cost - credit)
        return None if res is None else res[0]


def _walk_segments(th: Therapy, t: int, need: int, t_stop: int) -> tuple[int, int, int | None]:
    """Accrue credit along *th* from *t* until *need* is met or *t_stop*.

    Returns (t, need left, leftover credit if met else None); when met, *t* is
    the first millisecond at which the accrued credit reaches *need*.
    """
    while t < t_stop:
        rate, nxt = th.rate_at(t)
        nxt = min(nxt, t_stop)
        gain = rate * (nxt - t)
        if gain >= need:
            t_done = t + ceil_div(need, rate)
            return t_done, 0, rate * (t_done - t) - need
        need -= gain
        t = nxt
    return t, need, None


def _walk(th: Therapy, t: int, need: int) -> tuple[int, int] | None:
    """(time, leftover credit) when *need* credit has accrued along *th*; None if never."""
    if need <= 0:
        return t, -need
    rx = th.rx
    if rx.mode is PrescriptionMode.SINGLE_BOLUS:
        end = th.start_ms + rx.bolus_duration_ms
        if t < end:
            t, need, left = _walk_segments(th, t, need, end)
            if left is not None:
                return t, left
    # From here the schedule is periodic: skip whole periods arithmetically so a
    # years-long prediction costs a few dozen steps, not one per segment.
    period = rx.bolus_interval_ms if rx.mode is PrescriptionMode.PERIODIC_BOLUS else MS_PER_DAY
    _, short, _ = _walk_segments(th, t, 1 << 126, t + period)
    per_period = (1 << 126) - short
    if per_period <= 0:
        return None
    if need > per_period:
        n = (need - 1) // per_period
        t += n * period
        need -= n * per_period
    t, need, left = _walk_segments(th, t, need, t + 2 * period)
    return None if left is None else (t, left)
