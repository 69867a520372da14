"""The patient bolus (PTM) in the firmware: presses granted or refused (REQ-PTM-001..003), the bolus delivered on
top of the therapy, and the prediction that counts it. Worked by hand with the in-memory HAL."""

from __future__ import annotations

import pytest

from firmware_model import (
    MS_PER_DAY,
    MS_PER_H,
    MS_PER_MIN,
    AlarmId,
    EventCode,
    FieldId,
    PatientBolus,
    Prescription,
    PrescriptionMode,
    PtmResult,
    PtmSettings,
    PumpConfig,
    PumpController,
    RejectedError,
    Rejection,
    RejectReason,
    Reprogram,
)
from firmware_model.describe import describe_rejection
from firmware_model.testing import FakeHal, run_until, wake_now

CONC = 1_000_000  # morphine 1 mg/mL
BASAL = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=500_000)  # 0.5 mg/day = 0.5 mL/day
#: 0.1 mg (0.1 mL) over 10 min, lockout 1 h, at most 4 in 24 h.
PTM = PtmSettings(bolus_ng=100_000, duration_ms=10 * MS_PER_MIN, lockout_ms=MS_PER_H, max_per_day=4)


def _ctl(ptm: PtmSettings | None = PTM, fill_nl: int = 20_000_000,
         rx: Prescription = BASAL) -> tuple[PumpController, FakeHal]:
    hal = FakeHal()
    ctl = PumpController(hal, PumpConfig(), rx, CONC, fill_nl, ptm=ptm)
    run_until(ctl, hal, 0)
    return ctl, hal


def _press(ctl: PumpController, hal: FakeHal, t_ms: int) -> None:
    run_until(ctl, hal, t_ms, booted=True)
    hal.inbox.send(PatientBolus())
    wake_now(ctl, hal, t_ms)


def _results(ctl: PumpController) -> list[tuple[int, int]]:
    return [(r.t_ms, r.a) for r in ctl.log.records() if r.code == EventCode.PATIENT_BOLUS]


def test_ten_presses_half_an_hour_apart_grant_four() -> None:
    """REQ-PTM-001/002. Presses at 0:00, 0:30, ..., 4:30 (from 1 h after boot), lockout 1 h, at most 4 in 24 h.

    0:00 granted (first); 0:30 lockout (30 min since 0:00); 1:00 granted (exactly 1 h: the lockout is over);
    1:30 lockout; 2:00 granted; 2:30 lockout; 3:00 granted (the 4th); 3:30 lockout; 4:00 not locked out
    (1 h since 3:00) but 4 granted in the last 24 h: refused_max; 4:30 refused_max. So 4 granted (presses 1, 3,
    5, 7), 4 locked out (2, 4, 6, 8), 2 over the maximum (9, 10).
    """
    ctl, hal = _ctl()
    t0 = MS_PER_H
    for i in range(10):
        _press(ctl, hal, t0 + i * 30 * MS_PER_MIN)
    G, L, M = PtmResult.GRANTED, PtmResult.REFUSED_LOCKOUT, PtmResult.REFUSED_MAX
    assert [a for _, a in _results(ctl)] == [G, L, G, L, G, L, G, L, M, M]
    starts = [r.t_ms for r in ctl.log.records() if r.code == EventCode.BOLUS_START]
    assert starts == [t0, t0 + MS_PER_H, t0 + 2 * MS_PER_H, t0 + 3 * MS_PER_H]


def test_the_daily_maximum_is_a_rolling_24_hours_not_a_calendar_day() -> None:
    """REQ-PTM-002. Grants at 20:00, 21:00, 22:00, 23:00; a press at 00:30 the next day is refused (4 in the
    last 24 h; a calendar day would grant it); at 20:00 the next day the first grant has left the window: granted."""
    ctl, hal = _ctl()
    for h in (20, 21, 22, 23):
        _press(ctl, hal, h * MS_PER_H)
    _press(ctl, hal, MS_PER_DAY + 30 * MS_PER_MIN)
    _press(ctl, hal, MS_PER_DAY + 20 * MS_PER_H - 1)
    _press(ctl, hal, MS_PER_DAY + 20 * MS_PER_H)
    assert [a for _, a in _results(ctl)][4:] == [PtmResult.REFUSED_MAX, PtmResult.REFUSED_MAX, PtmResult.GRANTED]


def test_a_granted_bolus_is_delivered_on_top_of_the_basal_rate() -> None:
    """REQ-PTM-003. One day of 0.5 mL/day (2,000 strokes of 0.25 uL) plus one 0.1 mL bolus (400 strokes):
    2,400 strokes.

    The bolus runs at 0.1 mL / 10 min = 14.4 mL/day extra, from 06:00 to 06:10, and ends logged with its
    0.1 mL; the controller wakes at its end.
    """
    ctl, hal = _ctl()
    _press(ctl, hal, 6 * MS_PER_H)
    assert ctl.dose_rate_ng_per_day() == 500_000 + 14_400_000
    run_until(ctl, hal, MS_PER_DAY, booted=True)
    assert hal.motor.stroke_count() == 2_400
    ends = [(r.t_ms, r.b) for r in ctl.log.records() if r.code == EventCode.BOLUS_END]
    assert ends == [(6 * MS_PER_H + 10 * MS_PER_MIN, 100_000)]
    assert ctl.dose_rate_ng_per_day() == 500_000


def test_the_prediction_counts_the_running_bolus_exactly() -> None:
    """REQ-PTM-003. From 2.2 mL at 0.5 mL/day the 2 mL alarm would sound at 0.4 days (9.6 h); a 0.1 mL bolus
    granted at 1 h brings it to 0.2 days (4.8 h), and the alarm is raised exactly when predicted."""
    ctl, hal = _ctl(fill_nl=2_200_000)
    assert ctl.predicted_low_alarm_ms == int(0.4 * MS_PER_DAY)
    _press(ctl, hal, MS_PER_H)
    predicted = ctl.predicted_low_alarm_ms
    assert predicted == int(0.2 * MS_PER_DAY)
    run_until(ctl, hal, MS_PER_DAY, booted=True)
    raised = [r.t_ms for r in ctl.log.records() if r.code == EventCode.ALARM_RAISED and r.a == AlarmId.LOW_RESERVOIR]
    assert raised == [predicted]


def test_presses_while_delivery_is_stopped_are_refused_and_a_stop_cuts_a_bolus_off() -> None:
    """REQ-PTM-003. 0.3 mL at 0.5 mL/day: empty (the estimate at the 0 mL floor) at 0.6 days; a bolus granted
    at 0.5 days (0.05 mL left, less than its 0.1 mL) is cut off at the empty floor (BOLUS_END with no volume); a
    press while stopped is refused_stopped."""
    ctl, hal = _ctl(fill_nl=300_000)
    _press(ctl, hal, MS_PER_DAY // 2)
    run_until(ctl, hal, MS_PER_DAY, booted=True)
    assert AlarmId.EMPTY_RESERVOIR in ctl.active_alarms
    _press(ctl, hal, MS_PER_DAY + MS_PER_H)
    assert [a for _, a in _results(ctl)] == [PtmResult.GRANTED, PtmResult.REFUSED_STOPPED]
    ends = [r.b for r in ctl.log.records() if r.code == EventCode.BOLUS_END]
    assert ends == [0]


def test_a_press_without_a_patient_bolus_program_is_a_rejected_command() -> None:
    ctl, hal = _ctl(ptm=None)
    _press(ctl, hal, MS_PER_H)
    (rej,) = [r for r in ctl.log.records() if r.code == EventCode.COMMAND_REJECTED]
    assert _results(ctl) == []
    assert rej.b == 5  # CommandKind.PATIENT_BOLUS


def test_a_bolus_that_would_pass_the_maximum_rate_is_refused_with_its_prescription() -> None:
    """REQ-PTM-003. 1 mg in 1 min at 1 mg/mL is 1 mL/min = 1440 mL/day on top of 0.5 mL/day: far above
    24 mL/day. The settings are refused at construction; a reprogram that leaves no room for a valid bolus is
    refused."""
    big = PtmSettings(bolus_ng=1_000_000, duration_ms=MS_PER_MIN, lockout_ms=MS_PER_H, max_per_day=4)
    with pytest.raises(RejectedError) as e:
        _ctl(ptm=big)
    assert "patient bolus on the prescription's highest rate needs 1440.5 mL/day" in str(e.value)
    ctl, hal = _ctl()  # 14.4 mL/day of bolus on 0.5 mL/day basal: fits under 24 mL/day
    hal.inbox.send(Reprogram(Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=10 * CONC)))
    wake_now(ctl, hal, MS_PER_H)  # 10 mL/day + 14.4 mL/day > 24 mL/day
    assert ctl.therapy.rx == BASAL
    rej = [r for r in ctl.log.records() if r.code == EventCode.COMMAND_REJECTED]
    assert len(rej) == 1


def test_settings_are_validated_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="lockout_ms = 60000"):
        PtmSettings(100, 10 * MS_PER_MIN, MS_PER_MIN, 4)
    with pytest.raises(ValueError, match="max_per_day = 25"):
        PtmSettings(100, 10 * MS_PER_MIN, MS_PER_H, 25)
    with pytest.raises(ValueError, match="duration_ms = 1000"):
        PtmSettings(100, 1000, MS_PER_H, 4)
    rej = Rejection(RejectReason.BAD_VALUE, FieldId.PATIENT_BOLUS, 0, 1, 1)
    assert describe_rejection(rej) == "patient_bolus: no patient bolus is programmed"
