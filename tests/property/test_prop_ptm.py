"""Patient boluses under Hypothesis: with a patient bolus running (also through a bridge bolus), the low-reservoir
prediction is still the millisecond the alarm is raised, and the motor never runs above the maximum rate
(REQ-PTM-003, REQ-ALM-001, REQ-RX-002)."""

from __future__ import annotations

from hypothesis import event, given, strategies as st
from test_prop_firmware import Driver, PredictionCase, _check_prediction, prediction_case

from firmware_model import (
    MS_PER_DAY,
    MS_PER_H,
    MS_PER_MIN,
    PL_PER_ML,
    EventCode,
    PatientBolus,
    PtmResult,
    PtmSettings,
    PumpController,
    Refill,
    check_prescription,
    check_ptm,
)
from firmware_model.ptm import top_rate_pl_per_day
from firmware_model.testing import FakeHal
from pumpsim.testing import check_controller, concentrations


@st.composite
def fitting_ptm(draw: st.DrawFn, case: PredictionCase) -> PtmSettings | None:
    """A patient bolus that fits on the case's prescription (None if there is no room under the maximum rate)."""
    cfg, conc, rx, _ = case
    duration = draw(st.integers(MS_PER_MIN, 6 * MS_PER_H), label="ptm duration")
    most_pl = (cfg.max_rate_pl_per_day - top_rate_pl_per_day(rx, conc, cfg)) * duration // MS_PER_DAY
    if most_pl < 1:
        return None
    bolus_ng = max(1, draw(st.integers(1, most_pl), label="ptm volume pL") * conc // PL_PER_ML)
    ptm = PtmSettings(bolus_ng, duration, duration, 4)
    return ptm if check_ptm(ptm, rx, conc, cfg) is None else None


@given(case=prediction_case(), data=st.data())
def test_the_prediction_is_exact_with_a_patient_bolus_running(case: PredictionCase, data: st.DataObject) -> None:
    """Boot, maybe a refill with a new drug and a bridge bolus, then a granted press: the prediction logged after
    the press is when LOW_RESERVOIR is raised; the controller's invariants hold throughout."""
    cfg, conc, rx, fill = case
    ptm = data.draw(fitting_ptm(case), label="ptm")
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc, cfg.reservoir_capacity_nl, ptm=ptm), hal)
    t1 = data.draw(st.integers(0, MS_PER_DAY), label="press time")
    if data.draw(st.booleans(), label="refill first"):
        new_conc = data.draw(st.one_of(st.just(conc), concentrations()), label="new conc")
        if check_prescription(rx, new_conc, cfg) is None and check_ptm(ptm, rx, new_conc, cfg) is None:
            drv.run_until(t1)
            hal.inbox.send(Refill(max(fill, cfg.empty_floor_nl + 1), new_conc, bridge=True))
            drv.wake_now(t1)
    drv.run_until(t1)
    seq0 = drv.ctl.log.next_seq
    hal.inbox.send(PatientBolus())
    drv.wake_now(t1)
    check_controller(drv.ctl)
    presses = [r.a for r in drv.ctl.log.since(seq0)[0] if r.code == EventCode.PATIENT_BOLUS]
    event("no patient bolus fits" if ptm is None else f"press {presses}")
    if ptm is not None and presses == [PtmResult.GRANTED]:
        _check_prediction(drv, seq0, 40 * MS_PER_DAY)
        check_controller(drv.ctl)
