"""The pump controller: the firmware's main loop, written to be ported to C.

The controller is tickless. The HAL's RTC wakes it at the time it asked for, or
the host wakes it early when a telemetry message arrives; each call to
:meth:`PumpController.on_wake` does all pending work and returns the time it
next needs to run.

A wake-up is a fixed pipeline over the controller's state
(:class:`~firmware_model.state.FirmwareState`)::

    read_motor         strokes since the last wake-up, stroke-timer credit  (delivery)
    handle_commands    telemetry: apply or refuse each command               (dispatch)
    WAKE_STEPS         finish boluses, alarms, delivery gate, tones,
                       bolus windows, prediction                              (in order)
    schedule           program the motor, set the RTC wake-up               (delivery)

What the controller knows about the reservoir is only what it counts: the
volume entered at the last refill minus strokes x calibrated stroke volume. It
cannot see the true reservoir (the plant model keeps that separately).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ._record import Record
from ._units import PL_PER_NL, dose_ng_per_day_from_rate
from .alarms import sound_tones, update_alarms
from .boluses import finish_boluses, log_bolus_window
from .config import PumpConfig
from .delivery import read_motor, schedule
from .dispatch import handle_commands
from .druglib import NO_LIMITS, DrugLimits, limit_violations, refusal
from .eventlog import EventCode, EventLog
from .gate import gate_delivery
from .hal import Hal, MotorProgram
from .prediction import update_prediction
from .prescription import Prescription, check_prescription
from .ptm import PtmSettings, check_ptm, end_patient_bolus
from .rejection import FieldId, RejectedError, Rejection, RejectReason
from .state import NO_PREDICTION, FirmwareState
from .therapy import Therapy

FIRMWARE_VERSION: Final = 1

#: The wake-up steps between the command path and the scheduler, in order.
#: Each reads and updates the state; a new feature (battery states, motor
#: stall) adds its step here, before :func:`~.gate.gate_delivery` if it can
#: stop delivery.
WAKE_STEPS: Final[tuple[Callable[[FirmwareState, int], None], ...]] = (
    finish_boluses,
    update_alarms,
    gate_delivery,
    end_patient_bolus,
    sound_tones,
    log_bolus_window,
    update_prediction,
)


class ControllerStatus(Record):
    """What an interrogation by the clinician programmer reads back.

    *active_alarms* are AlarmIds, lowest first; *predicted_low_alarm_ms* is
    None when there is nothing to predict.
    """

    __slots__ = (
        "active_alarms",
        "bridge_strokes_left",
        "conc_ng_per_ml",
        "delivery_stopped",
        "dose_rate_ng_per_day",
        "low_reservoir_nl",
        "predicted_low_alarm_ms",
        "prescription",
        "priming_strokes_left",
        "reservoir_estimate_nl",
        "stroke_count",
        "t_ms",
    )
    __match_args__ = (
        "t_ms",
        "stroke_count",
        "reservoir_estimate_nl",
        "low_reservoir_nl",
        "conc_ng_per_ml",
        "prescription",
        "dose_rate_ng_per_day",
        "active_alarms",
        "delivery_stopped",
        "predicted_low_alarm_ms",
        "bridge_strokes_left",
        "priming_strokes_left",
    )

    def __init__(
        self,
        t_ms: int,
        stroke_count: int,
        reservoir_estimate_nl: int,
        low_reservoir_nl: int,
        conc_ng_per_ml: int,
        prescription: Prescription,
        dose_rate_ng_per_day: int,
        active_alarms: tuple[int, ...],
        delivery_stopped: bool,
        predicted_low_alarm_ms: int | None,
        bridge_strokes_left: int,
        priming_strokes_left: int,
    ) -> None:
        self.t_ms: Final = t_ms
        self.stroke_count: Final = stroke_count
        self.reservoir_estimate_nl: Final = reservoir_estimate_nl
        self.low_reservoir_nl: Final = low_reservoir_nl
        self.conc_ng_per_ml: Final = conc_ng_per_ml
        self.prescription: Final = prescription
        self.dose_rate_ng_per_day: Final = dose_rate_ng_per_day
        self.active_alarms: Final = active_alarms
        self.delivery_stopped: Final = delivery_stopped
        self.predicted_low_alarm_ms: Final = predicted_low_alarm_ms
        self.bridge_strokes_left: Final = bridge_strokes_left
        self.priming_strokes_left: Final = priming_strokes_left


class PumpController:
    """Controller firmware for a programmable peristaltic intrathecal pump.

    Construct it with the HAL, the fixed configuration and the state at
    implant (prescription, concentration, reservoir volume), then call
    :meth:`boot` once and :meth:`on_wake` whenever the RTC alarm fires or a
    telemetry message arrives. *limits* is the drug's library entry (none by
    default), *ptm* the patient bolus program (none by default), *confirm*
    the clinician's confirmation of the soft limits the implant's
    prescription exceeds. Raises :class:`~firmware_model.RejectedError`
    (a ValueError carrying the :class:`~firmware_model.Rejection`) at
    construction if the prescription is not deliverable (with the patient
    bolus on top), the fill exceeds the reservoir, or a drug-library limit
    refuses the prescription (REQ-LIM-001/002).
    """

    def __init__(
        self,
        hal: Hal,
        cfg: PumpConfig,
        rx: Prescription,
        conc_ng_per_ml: int,
        reservoir_nl: int,
        *,
        limits: DrugLimits = NO_LIMITS,
        ptm: PtmSettings | None = None,
        confirm: bool = False,
    ) -> None:
        rej = check_prescription(rx, conc_ng_per_ml, cfg)
        if rej is None and not 0 <= reservoir_nl <= cfg.reservoir_capacity_nl:
            rej = Rejection(RejectReason.VOLUME_ABOVE_CAPACITY if reservoir_nl > 0 else RejectReason.BAD_VALUE,
                            FieldId.RESERVOIR, reservoir_nl, 0, cfg.reservoir_capacity_nl)
        if rej is None:
            rej = check_ptm(ptm, rx, conc_ng_per_ml, cfg)
        # The implant's prescription is a starting dose, not a step (no step limits).
        overrides = limit_violations(limits, rx, conc_ng_per_ml, ptm, -1, -1, 0)
        if rej is None:
            rej = refusal(overrides, confirm)
        if rej is not None:
            raise RejectedError(rej)
        # The therapy's start is set again at boot.
        self._s = FirmwareState(hal, cfg, Therapy(rx, conc_ng_per_ml, 0, cfg.min_rate_pl_per_day), reservoir_nl,
                                limits, ptm)
        self._overrides = overrides  # the confirmed soft limits, logged at boot

    # ------------------------------------------------------------ running

    def boot(self, now_ms: int) -> int:
        """Start therapy at *now_ms*; returns the first wake-up time."""
        s = self._s
        s.now_ms = now_ms
        s.last_count = s.count_base = s.hal.motor.stroke_count()
        th = s.therapy
        s.therapy = Therapy(th.rx, th.conc_ng_per_ml, now_ms, s.cfg.min_rate_pl_per_day)
        s.booted = True
        s.log.append(now_ms, EventCode.BOOT, FIRMWARE_VERSION, 0)
        for v in self._overrides:
            s.log.append(now_ms, EventCode.LIMIT_OVERRIDDEN, v.limit, v.value)
        s.log.append(now_ms, EventCode.REPROGRAM, th.rx.mode, th.rx.daily_dose_ng())
        s.replan = True
        return self._run(now_ms)

    def on_wake(self, now_ms: int) -> int:
        """Do all work due at *now_ms*; returns the next wake-up time (> now_ms).

        Raises RuntimeError before :meth:`boot`.
        """
        s = self._booted_state()
        read_motor(s, now_ms)
        s.now_ms = now_ms
        handle_commands(s, now_ms)
        return self._run(now_ms)

    def _run(self, now_ms: int) -> int:
        for step in WAKE_STEPS:
            step(self._s, now_ms)
        return schedule(self._s, now_ms)

    # --------------------------------------------------------- read back

    @property
    def config(self) -> PumpConfig:
        """The controller's fixed configuration."""
        return self._s.cfg

    @property
    def log(self) -> EventLog:
        """The event log (read it with :meth:`EventLog.since`)."""
        return self._s.log

    @property
    def motor_program(self) -> MotorProgram | None:
        """The stroke-timer program last given to the motor (None when stopped)."""
        return self._s.program

    def reservoir_estimate_nl(self, stroke_count: int | None = None) -> int:
        """The controller's reservoir estimate, nL, at *stroke_count* (default: now).

        The estimate is linear in the stroke counter between refills, so a
        caller may evaluate it at any count the motor reaches before the next
        wake-up.
        """
        s = self._s
        if stroke_count is None:
            stroke_count = s.hal.motor.stroke_count()
        return (s.est_base_pl - (stroke_count - s.count_base) * s.cfg.stroke_volume_pl) // PL_PER_NL

    def estimate_basis(self) -> tuple[int, int]:
        """(estimate in pL at the base count, base count) since the last refill.

        ``estimate_pl(count) = base_pl - (count - base_count) * stroke_volume_pl``
        until the next refill; lets a host evaluate the estimate at many stroke
        counts at once.
        """
        return self._s.est_base_pl, self._s.count_base

    @property
    def active_alarms(self) -> tuple[int, ...]:
        """Alarms (AlarmId) currently raised, lowest id first."""
        return tuple(sorted(self._s.alarm_due_ms))

    def status(self) -> ControllerStatus:
        """Interrogate the controller. Raises RuntimeError before :meth:`boot`."""
        s = self._booted_state()
        return ControllerStatus(
            t_ms=s.now_ms,
            stroke_count=s.hal.motor.stroke_count(),
            reservoir_estimate_nl=self.reservoir_estimate_nl(),
            low_reservoir_nl=s.low_nl,
            conc_ng_per_ml=s.therapy.conc_ng_per_ml,
            prescription=s.therapy.rx,
            dose_rate_ng_per_day=self.dose_rate_ng_per_day(),
            active_alarms=self.active_alarms,
            delivery_stopped=s.stop_mask != 0,
            predicted_low_alarm_ms=self.predicted_low_alarm_ms,
            bridge_strokes_left=s.bridge_left,
            priming_strokes_left=s.prime_left,
        )

    def dose_rate_ng_per_day(self) -> int:
        """Dose rate the current motor program delivers at the pump outlet, ng/day.

        This is the programmed rate times the concentration the controller
        believes is in the reservoir; 0 while delivery is stopped.
        """
        s = self._s
        if s.program is None or not s.booted:
            return 0
        return dose_ng_per_day_from_rate(s.program.rate_at(s.now_ms), s.therapy.conc_ng_per_ml)

    @property
    def therapy(self) -> Therapy:
        """The program in force (the old one while a bridge bolus runs). RuntimeError before boot."""
        return self._booted_state().therapy

    @property
    def conc_ng_per_ml(self) -> int:
        """Concentration the controller believes it is delivering (the old one during a bridge)."""
        return self._booted_state().therapy.conc_ng_per_ml

    @property
    def predicted_low_alarm_ms(self) -> int | None:
        """When the low-reservoir alarm will sound if nothing changes (None: never or now)."""
        t = self._s.predicted_low_ms
        return None if t == NO_PREDICTION else t

    def _booted_state(self) -> FirmwareState:
        if not self._s.booted:
            raise RuntimeError("controller not booted: call boot() first")
        return self._s
