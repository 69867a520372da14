"""The controller's rooms one at a time: command path, delivery gate, tone arbitration, prediction."""

from __future__ import annotations

from firmware_model import (
    MS_PER_DAY,
    MS_PER_H,
    AlarmId,
    CommandKind,
    EventCode,
    Prescription,
    PrescriptionMode,
    PrimingBolus,
    PumpConfig,
    PumpController,
    Refill,
    RejectReason,
)
from firmware_model.alarms import sounding_alarm
from firmware_model.controller import WAKE_STEPS
from firmware_model.dispatch import COMMAND_PATH
from firmware_model.gate import STOPPING_ALARMS
from firmware_model.testing import FakeHal, run_until, wake_now

CONT = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=250_000)  # 0.5 mL/day at 500 mcg/mL


def _ctl(rx: Prescription = CONT, conc: int = 500_000, fill_nl: int = 20_000_000) -> tuple[PumpController, FakeHal]:
    hal = FakeHal()
    return PumpController(hal, PumpConfig(), rx, conc, fill_nl), hal


def test_the_command_path_has_one_row_per_command_kind() -> None:
    assert sorted(COMMAND_PATH) == [CommandKind.REFILL, CommandKind.REPROGRAM, CommandKind.PRIMING_BOLUS,
                                    CommandKind.SET_LOW_RESERVOIR, CommandKind.PATIENT_BOLUS]
    assert all(cls.kind == kind for kind, (cls, _) in COMMAND_PATH.items())


def test_an_object_that_only_claims_a_kind_is_refused() -> None:
    """Dispatch is by kind, but the record must be of the kind's class: an impostor changes nothing."""

    class Impostor:
        kind = CommandKind.REFILL
        reservoir_nl = 20_000_000
        conc_ng_per_ml = 500_000

    ctl, hal = _ctl(fill_nl=10_000_000)
    run_until(ctl, hal, MS_PER_DAY)
    hal.inbox.send(Impostor())
    wake_now(ctl, hal, MS_PER_DAY)
    (rej,) = [r for r in ctl.log.records() if r.code == EventCode.COMMAND_REJECTED]
    assert (rej.a, rej.b) == (RejectReason.BAD_VALUE, CommandKind.REFILL)
    assert ctl.reservoir_estimate_nl() == 10_000_000 - 500_000  # one day at 0.5 mL/day, no refill


def test_the_empty_alarm_closes_the_gate_and_a_refill_opens_it() -> None:
    """REQ-ALM-003: 1 mL at 0.5 mL/day is empty at day 2: alarm, DELIVERY_STOPPED once, the critical tone.

    The gate's records come in the pipeline's order at that millisecond; a
    priming bolus running then is cancelled (REQ-RX-008); a refill reopens.
    """
    assert STOPPING_ALARMS == (AlarmId.EMPTY_RESERVOIR,)
    ctl, hal = _ctl(fill_nl=1_000_000)
    run_until(ctl, hal, 2 * MS_PER_DAY - 1)
    hal.inbox.send(PrimingBolus())  # 0.234 mL at 24 mL/day: still running when the estimate hits 0
    wake_now(ctl, hal, 2 * MS_PER_DAY - 1)
    run_until(ctl, hal, 3 * MS_PER_DAY, booted=True)
    st = ctl.status()
    assert st.delivery_stopped and st.priming_strokes_left == 0 and hal.motor.program is None
    t_empty = next(r.t_ms for r in ctl.log.records() if r.code == EventCode.DELIVERY_STOPPED)
    at_empty = [(r.code, r.a) for r in ctl.log.records() if r.t_ms == t_empty]
    assert at_empty[:3] == [(EventCode.ALARM_RAISED, AlarmId.EMPTY_RESERVOIR),
                            (EventCode.DELIVERY_STOPPED, AlarmId.EMPTY_RESERVOIR),
                            (EventCode.TONE, AlarmId.EMPTY_RESERVOIR)]
    assert sum(r.code == EventCode.DELIVERY_STOPPED for r in ctl.log.records()) == 1
    hal.inbox.send(Refill(20_000_000, 500_000))
    wake_now(ctl, hal, 3 * MS_PER_DAY)
    assert not ctl.status().delivery_stopped and hal.motor.program is not None


def test_the_highest_priority_alarm_owns_the_sounder() -> None:
    """REQ-ALM-005: critical beats non-critical; among equals the lowest id; none -> 0."""
    assert sounding_alarm({}) == 0
    assert sounding_alarm({AlarmId.LOW_RESERVOIR: 5}) == AlarmId.LOW_RESERVOIR
    assert sounding_alarm({AlarmId.LOW_RESERVOIR: 5, AlarmId.EMPTY_RESERVOIR: 9}) == AlarmId.EMPTY_RESERVOIR
    assert sounding_alarm({AlarmId.EMPTY_RESERVOIR: 9, AlarmId.LOW_RESERVOIR: 5}) == AlarmId.EMPTY_RESERVOIR


def test_wake_steps_run_in_the_documented_order() -> None:
    assert [f.__name__ for f in WAKE_STEPS] == [
        "finish_boluses", "update_alarms", "gate_delivery", "end_patient_bolus", "sound_tones", "log_bolus_window",
        "update_prediction"]


def test_prediction_skips_whole_bolus_periods_exactly() -> None:
    """REQ-ALM-001: a periodic bolus pump reaches its threshold inside the 38th bolus, to the millisecond.

    At 1 mg/mL: basal 0.48 mg/day = 0.48 mL/day (20 uL/h); a 0.24 mg bolus over
    1 h every 12 h from 00:00 adds 0.24 mL. Each 12 h delivers 240 + 240 = 480
    uL (1920 whole strokes of 0.25 uL, so no credit carries over). From 20 mL
    to the 2 mL threshold is 18 mL = 37 periods (17,760 uL, 18.5 days) plus
    240 uL, which the 38th bolus hour delivers at 20 + 240 = 260 uL/h in
    240/260 h = 3,323,076.9 ms, so the stroke that reaches the threshold fires
    at 18.5 d + 3,323,077 ms = 1,601,723,077 ms.
    """
    rx = Prescription(PrescriptionMode.PERIODIC_BOLUS, dose_ng_per_day=480_000, bolus_ng=240_000,
                      bolus_duration_ms=MS_PER_H, bolus_interval_ms=12 * MS_PER_H, bolus_start_ms=0)
    ctl, hal = _ctl(rx, conc=1_000_000)
    ctl.boot(0)
    assert ctl.predicted_low_alarm_ms == 1_601_723_077
    run_until(ctl, hal, 1_601_723_076, booted=True)
    assert AlarmId.LOW_RESERVOIR not in ctl.active_alarms
    run_until(ctl, hal, 1_601_723_077, booted=True)
    assert AlarmId.LOW_RESERVOIR in ctl.active_alarms
