"""Drug-library limits in the firmware: hard limits refuse (REQ-LIM-001), soft ones need the clinician's
confirmation (REQ-LIM-002), and a refused command changes nothing (REQ-LIM-003). Ziconotide's limits are the
reference's: at most 19.2 mcg/day, steps of at most +2.4 mcg/day ([C] domain.md §6.2, §10.10)."""

from __future__ import annotations

import pytest

from firmware_model import (
    MS_PER_DAY,
    DrugLimits,
    EventCode,
    FieldId,
    LimitId,
    Prescription,
    PrescriptionMode,
    PtmSettings,
    PumpConfig,
    PumpController,
    Refill,
    RejectedError,
    Rejection,
    RejectReason,
    Reprogram,
    limit_violations,
)
from firmware_model.describe import describe_rejection
from firmware_model.testing import FakeHal, run_until, wake_now

ZICONOTIDE = DrugLimits(conc_hard=100_000, daily_hard=19_200, step_hard=2_400, step_interval_ms=2 * MS_PER_DAY)
MORPHINE = DrugLimits(conc_hard=25_000_000, daily_soft=20_000_000, bolus_soft=1_000_000)
ZIC_CONC = 25_000  # 25 mcg/mL


def _rx(ng_per_day: int) -> Prescription:
    return Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=ng_per_day)


def _ziconotide() -> tuple[PumpController, FakeHal]:
    hal = FakeHal()
    ctl = PumpController(hal, PumpConfig(), _rx(2_400), ZIC_CONC, 20_000_000, limits=ZICONOTIDE)
    run_until(ctl, hal, 0)
    return ctl, hal


def _send(ctl: PumpController, hal: FakeHal, t_ms: int, cmd: object) -> list[tuple[int, int, int]]:
    """Send *cmd* at *t_ms*; the (code, a, b) of the records the wake-up logged."""
    run_until(ctl, hal, t_ms, booted=True)
    seq = ctl.log.next_seq
    hal.inbox.send(cmd)
    wake_now(ctl, hal, t_ms)
    return [(r.code, r.a, r.b) for r in ctl.log.since(seq)[0]]


def test_a_jump_from_2_4_to_50_mcg_per_day_of_ziconotide_is_refused_and_changes_nothing() -> None:
    """REQ-LIM-001/003: 50 mcg/day is above the 19.2 mcg/day maximum and a +47.6 mcg/day step is above the
    +2.4 mcg/day one, both hard: refused even confirmed; the therapy, the estimate's basis and the predicted
    alarm are those of before."""
    ctl, hal = _ziconotide()
    before = (ctl.therapy, ctl.estimate_basis(), ctl.predicted_low_alarm_ms)
    recs = _send(ctl, hal, 7 * MS_PER_DAY, Reprogram(_rx(50_000), confirm=True))
    assert recs == [(EventCode.LIMIT_HARD, LimitId.DAILY_DOSE, 50_000),
                    (EventCode.LIMIT_HARD, LimitId.DOSE_STEP, 47_600),
                    (EventCode.COMMAND_REJECTED, RejectReason.HARD_LIMIT, 2)]
    assert (ctl.therapy, ctl.estimate_basis(), ctl.predicted_low_alarm_ms) == before


def test_ziconotide_titration_steps_of_2_4_are_accepted_and_not_more_often_than_the_interval() -> None:
    """REQ-LIM-002. +2.4 mcg/day at day 7 is fine. Another +2.4 at day 8 is within the 2-day interval (a soft limit):
    refused unless confirmed; confirmed, it is accepted and the override logged."""
    ctl, hal = _ziconotide()
    assert _send(ctl, hal, 7 * MS_PER_DAY, Reprogram(_rx(4_800)))[0][0] == EventCode.REPROGRAM
    recs = _send(ctl, hal, 8 * MS_PER_DAY, Reprogram(_rx(7_200)))
    assert recs == [(EventCode.LIMIT_SOFT, LimitId.STEP_INTERVAL, MS_PER_DAY),
                    (EventCode.COMMAND_REJECTED, RejectReason.SOFT_LIMIT, 2)]
    assert ctl.therapy.rx == _rx(4_800)
    recs = _send(ctl, hal, 8 * MS_PER_DAY, Reprogram(_rx(7_200), confirm=True))
    assert recs[0] == (EventCode.LIMIT_OVERRIDDEN, LimitId.STEP_INTERVAL, MS_PER_DAY)
    assert ctl.therapy.rx == _rx(7_200)
    # A decrease is never a step, however soon.
    assert _send(ctl, hal, 8 * MS_PER_DAY + 1, Reprogram(_rx(2_400)))[0][0] == EventCode.REPROGRAM


def test_a_refill_above_the_hard_concentration_is_refused_and_changes_nothing() -> None:
    """REQ-LIM-001/003. 200 mcg/mL ziconotide (the strongest is 100 mcg/mL [C]): the refill is refused, the firmware
    keeps its 25 mcg/mL and its estimate (the plant, in a simulation, has still been refilled). (A pump with a 0.001
    mL/day minimum rate, so 2.4 mcg/day at 200 mcg/mL, 0.012 mL/day, is deliverable: the library refuses it.)"""
    hal = FakeHal()
    ctl = PumpController(hal, PumpConfig(min_rate_pl_per_day=10**6), _rx(2_400), ZIC_CONC, 20_000_000,
                         limits=ZICONOTIDE)
    run_until(ctl, hal, 0)
    before = (ctl.conc_ng_per_ml, ctl.estimate_basis(), ctl.therapy)
    recs = _send(ctl, hal, MS_PER_DAY, Refill(20_000_000, 200_000, confirm=True))
    assert recs[-1] == (EventCode.COMMAND_REJECTED, RejectReason.HARD_LIMIT, 1)
    assert (ctl.conc_ng_per_ml, ctl.estimate_basis(), ctl.therapy) == before


def test_soft_limits_at_implant_need_confirmation_and_are_logged_at_boot() -> None:
    """REQ-LIM-002. Morphine 25 mg/day at 25 mg/mL: above the 20 mg/day caution [C]. Unconfirmed: refused at
    construction; confirmed: booted, and the override logged before the first REPROGRAM."""
    rx = _rx(25_000_000)
    with pytest.raises(RejectedError) as e:
        PumpController(FakeHal(), PumpConfig(), rx, 25_000_000, 20_000_000, limits=MORPHINE)
    assert str(e.value) == ("daily_dose: daily dose 25 mg/day is above the drug library's soft limit "
                            "20 mg/day (confirm to override)")
    hal = FakeHal()
    ctl = PumpController(hal, PumpConfig(), rx, 25_000_000, 20_000_000, limits=MORPHINE, confirm=True)
    run_until(ctl, hal, 0)
    codes = [(r.code, r.a) for r in ctl.log.records()][:3]
    assert codes == [(EventCode.BOOT, 1), (EventCode.LIMIT_OVERRIDDEN, LimitId.DAILY_DOSE),
                     (EventCode.REPROGRAM, PrescriptionMode.CONTINUOUS)]


def test_the_daily_dose_counts_every_patient_bolus_allowed() -> None:
    """Morphine 12 mg/day plus 4 patient boluses of 1 mg allowed a day: 16 mg/day, within 20; 8 allowed: 20 mg,
    at the limit; 9: 21 mg, above it. A 1.5 mg patient bolus is above the 1 mg bolus caution."""
    rx = _rx(12_000_000)
    for n, over in ((4, False), (8, False), (9, True)):
        ptm = PtmSettings(1_000_000, 10 * 60_000, 3_600_000, n)
        v = limit_violations(MORPHINE, rx, 25_000_000, ptm, -1, -1, 0)
        assert bool(v) is over and (not v or v[0].value == 12_000_000 + n * 1_000_000)
    v = limit_violations(MORPHINE, rx, 25_000_000, PtmSettings(1_500_000, 600_000, 3_600_000, 1), -1, -1, 0)
    assert [(x.limit, x.value) for x in v] == [(LimitId.BOLUS, 1_500_000)]


def test_limits_are_validated_and_described() -> None:
    with pytest.raises(ValueError, match="daily_soft = 30: expected at most daily_hard = 20"):
        DrugLimits(daily_soft=30, daily_hard=20)
    with pytest.raises(ValueError, match="limits must be >= 0"):
        DrugLimits(conc_hard=-1)
    rej = Rejection(RejectReason.SOFT_LIMIT, FieldId.STEP_INTERVAL, 86_400_000, 172_800_000, 365 * 86_400_000)
    assert describe_rejection(rej) == ("step_interval: dose raised again after 24 h, sooner than the drug library's "
                                       "soft limit of 48 h between increases (confirm to override)")
