"""Properties of the controller's integer arithmetic, driven through FakeHal (no simulation)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given, note, settings, strategies as st

import pumpsim
from firmware_model import (
    MS_PER_DAY,
    MS_PER_H,
    MS_PER_MIN,
    NL_PER_ML,
    PL_PER_ML,
    AlarmId,
    BolusKind,
    CommandKind,
    EventCode,
    FlexStep,
    Prescription,
    PrescriptionMode,
    PrimingBolus,
    PumpConfig,
    PumpController,
    Refill,
    SetLowReservoirThreshold,
    Therapy,
    check_prescription,
    rate_pl_per_day_from_dose,
)
from firmware_model.config import MAX_RESERVOIR_NL
from firmware_model.testing import FakeHal
from pumpsim.scenario import Scenario
from pumpsim.testing import concentrations, dose_range, prescriptions, pump_configs, scenarios

# ------------------------------------------------------------------ driving


class Driver:
    """Wakes a controller through FakeHal like run_until/wake_now, noting when LOW_RESERVOIR is raised."""

    def __init__(self, ctl: PumpController, hal: FakeHal, t0: int = 0) -> None:
        self.ctl, self.hal = ctl, hal
        hal.set_time(t0)
        #: When LOW_RESERVOIR was first seen raised after a wake-up (None: not yet).
        self.low_raised_at: int | None = None
        self.next = ctl.boot(t0)
        self._note_alarm(t0)

    def _note_alarm(self, t: int) -> None:
        if self.low_raised_at is None and AlarmId.LOW_RESERVOIR in self.ctl.active_alarms:
            self.low_raised_at = t

    def _wake(self, t: int) -> None:
        self.hal.set_time(t)
        self.next = self.ctl.on_wake(t)
        self._note_alarm(t)

    def run_until(self, t: int) -> None:
        """Every requested wake-up up to and including *t*; the clock is left at *t*."""
        while self.next <= t:
            self._wake(self.next)
        self.hal.set_time(t)

    def wake_now(self, t: int) -> None:
        """An early wake-up at *t* (a telemetry session), after any due wake-ups."""
        self.run_until(t)
        self._wake(t)

    @property
    def strokes(self) -> int:
        return self.hal.motor.stroke_count()


def big_reservoir(cfg: PumpConfig) -> PumpConfig:
    """*cfg* with the largest reservoir (100 mL) and its thresholds at zero: no alarm before 100 mL are pumped."""
    return cfg.replace(reservoir_capacity_nl=MAX_RESERVOIR_NL, low_reservoir_nl=0, empty_floor_nl=0)


# ------------------------------------------------------- stroke-timer credit


def test_zero_stroke_program_keeps_its_credit() -> None:
    """At 0.048 mL/day (one stroke per 7.5 min) a controller that sleeps at most 5 min still delivers (regression)."""
    cfg = PumpConfig(max_sleep_ms=5 * MS_PER_MIN)
    rx = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=24_000)  # 24 mcg/day at 500 mcg/mL
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc_ng_per_ml=500_000, reservoir_nl=20 * NL_PER_ML), hal)
    drv.run_until(MS_PER_DAY)
    assert drv.strokes == 192


def _credit_exact(rx: Prescription, conc: int, cfg: PumpConfig, t0: int, t1: int) -> int:
    """Stroke-timer credit (pL x ms/day) the prescription accrues over [t0, t1), walked segment by segment."""
    th = Therapy(rx, conc, t0, cfg.min_rate_pl_per_day)
    credit, t = 0, t0
    while t < t1:
        rate, nxt = th.rate_at(t)
        nxt = min(nxt, t1)
        credit += rate * (nxt - t)
        t = nxt
    return credit


TimerCase = tuple[PumpConfig, int, Prescription, list[int]]


@st.composite
def timer_case(draw: st.DrawFn) -> TimerCase:
    """A pump that never alarms, a prescription, and times at which to count strokes."""
    cfg = draw(pump_configs())
    conc = draw(concentrations())
    rx = draw(prescriptions(conc, cfg, min_bolus_interval_ms=MS_PER_MIN), label="rx")
    at = sorted(draw(st.lists(st.integers(1, 3 * MS_PER_DAY), min_size=1, max_size=5), label="check times"))
    return big_reservoir(cfg), conc, rx, at  # <= 3 days at <= 30 mL/day


#: 0.048 mL/day (one 0.25 uL stroke per 7.5 min) with a controller that sleeps at most 5 min.
SLOW_RATE_SHORT_SLEEP: TimerCase = (
    big_reservoir(PumpConfig(max_sleep_ms=5 * MS_PER_MIN)),
    500_000,
    Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=24_000),
    [MS_PER_DAY],
)


@example(case=SLOW_RATE_SHORT_SLEEP)
@settings(max_examples=max(10, settings().max_examples // 2))
@given(case=timer_case())
def test_stroke_count_is_the_exact_credit(case: TimerCase) -> None:
    """Strokes delivered by any time equal floor(integral of the programmed rate / stroke cost), exactly."""
    cfg, conc, rx, at = case
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc, cfg.reservoir_capacity_nl), hal)
    for t in at:
        drv.run_until(t)
        assert drv.strokes == _credit_exact(rx, conc, cfg, 0, t) // cfg.stroke_cost, f"at t_ms={t}"


@pytest.mark.parametrize(
    ("bolus_ng", "duration_ms", "conc"),
    [
        (10_000, 12 * MS_PER_H, 500_000),  # 10 mcg over 12 h at 500 mcg/mL: 0.04 mL/day < 0.048 mL/day
        (1, 30 * MS_PER_DAY, 100_000_000),  # 1 ng over 30 days at 100 mg/mL: rounds to 0 pL/day
    ],
)
def test_single_bolus_runs_at_least_at_the_minimum_rate(bolus_ng: int, duration_ms: int, conc: int) -> None:
    """A single bolus is either rejected or delivered at or above the pump's minimum rate (REQ-RX-002, regression)."""
    cfg = PumpConfig()
    rx = Prescription(PrescriptionMode.SINGLE_BOLUS, bolus_ng=bolus_ng, bolus_duration_ms=duration_ms)
    if check_prescription(rx, conc, cfg) is not None:
        return
    hal = FakeHal()
    ctl = PumpController(hal, cfg, rx, conc, 20 * NL_PER_ML)
    ctl.boot(0)
    prog = ctl.motor_program
    assert prog is not None and prog.rate_pl_per_day >= cfg.min_rate_pl_per_day, f"bolus runs as {prog}"


@pytest.mark.parametrize("bridge", [False, True])
def test_refill_with_new_drug_does_not_repeat_a_single_bolus(bridge: bool) -> None:
    """REQ-RX-007: a refill that keeps the prescription does not deliver its single bolus again."""
    cfg = PumpConfig()
    rx = Prescription(PrescriptionMode.SINGLE_BOLUS, bolus_ng=1_000_000, bolus_duration_ms=MS_PER_H)  # 1 mg / 1 h
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc_ng_per_ml=10_000_000, reservoir_nl=20 * NL_PER_ML), hal)
    drv.run_until(MS_PER_DAY)  # the bolus was given in the first hour; since then the minimum rate
    seq = drv.ctl.log.next_seq
    k0 = drv.strokes
    hal.inbox.send(Refill(20 * NL_PER_ML, 20_000_000, bridge=bridge))  # 10 -> 20 mg/mL, same prescription
    drv.wake_now(MS_PER_DAY)
    drv.run_until(11 * MS_PER_DAY)  # a bridge of 0.234 mL at 0.048 mL/day takes ~5 days
    starts = [r for r in drv.ctl.log.since(seq)[0] if r.code == EventCode.BOLUS_START and r.a == BolusKind.SINGLE]
    assert not starts, f"single bolus started again at {[r.t_ms for r in starts]} ms"
    assert drv.strokes - k0 <= 10 * 192 + 1, "a day at the minimum rate (0.048 mL/day) is 192 strokes"


@pytest.mark.parametrize("wrong_conc", [20_000_000, 5_000_000])  # 50 % under-dose / 2x over-dose
def test_refill_correcting_a_bridged_refill_cancels_the_bridge(wrong_conc: int) -> None:
    """REQ-RX-006: a refill with the running drug cancels a pending bridge: the dose stays as prescribed."""
    cfg = PumpConfig()
    rx = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=5_000_000)  # morphine 5 mg/day
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc_ng_per_ml=10_000_000, reservoir_nl=20 * NL_PER_ML), hal)
    drv.run_until(MS_PER_DAY)
    hal.inbox.send(Refill(20 * NL_PER_ML, wrong_conc, bridge=True))  # concentration entered wrongly
    drv.wake_now(MS_PER_DAY)
    hal.inbox.send(Refill(20 * NL_PER_ML, 10_000_000))  # corrected a minute later: it is still 10 mg/mL
    drv.wake_now(MS_PER_DAY + MS_PER_MIN)
    drv.run_until(3 * MS_PER_DAY)
    assert drv.ctl.status().conc_ng_per_ml == 10_000_000
    assert drv.ctl.dose_rate_ng_per_day() == 5_000_000


# ------------------------------------------------------------ dose to rate


@settings(max_examples=max(10, settings().max_examples // 2))
@given(
    sv=st.integers(50_000, 1_000_000),
    conc=concentrations(),
    max_sleep=st.integers(6 * MS_PER_H, MS_PER_DAY),
    data=st.data(),
)
def test_ten_years_of_continuous_delivery_do_not_drift(sv: int, conc: int, max_sleep: int, data: st.DataObject) -> None:
    """Over 10 years at a random dose, strokes stay within one of dose/conc*time/stroke volume (rate in pL/day).

    The 100 mL reservoir is refilled with the same drug whenever half of it has
    been pumped, and at random telemetry sessions; refills with the running
    drug must not disturb delivery.
    """
    cfg = PumpConfig(stroke_volume_pl=sv, max_sleep_ms=max_sleep, min_rate_pl_per_day=PL_PER_ML // 1000)
    doses = dose_range(conc, cfg.min_rate_pl_per_day, cfg.max_rate_pl_per_day)
    assert doses is not None
    dose = data.draw(st.integers(*doses), label="dose ng/day")
    rx = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=dose)
    years = 10
    t_end = years * 365 * MS_PER_DAY
    cfg = big_reservoir(cfg)
    rate = rate_pl_per_day_from_dose(dose, conc)
    half_ms = cfg.reservoir_capacity_nl * 1000 // 2 * MS_PER_DAY // rate  # time to pump half the reservoir
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc, cfg.reservoir_capacity_nl), hal)
    sessions = set(data.draw(st.lists(st.integers(1, t_end), max_size=10), label="sessions"))
    refills = sessions | set(range(half_ms, t_end, half_ms))
    checks = sessions | {y * 365 * MS_PER_DAY for y in range(1, years + 1)}
    for t in sorted(refills | checks):
        if t in refills:
            hal.inbox.send(Refill(cfg.reservoir_capacity_nl, conc))
            drv.wake_now(t)
        else:
            drv.run_until(t)
        if t in checks:
            exact = Fraction(dose * PL_PER_ML * t, conc * MS_PER_DAY * sv)
            note(f"t={t} strokes={drv.strokes} exact={float(exact)}")
            assert abs(drv.strokes - (exact.numerator // exact.denominator)) <= 1, f"at t_ms={t}"
    assert not drv.ctl.active_alarms


# -------------------------------------------------------------------- flex


@st.composite
def flex_case(draw: st.DrawFn) -> tuple[PumpConfig, int, Prescription]:
    """A pump that never alarms, a drug, and a flex prescription of 1..24 steps."""
    cfg = draw(pump_configs())
    conc = draw(concentrations())
    # At most 4 days (boot time + 3 days) at 20 mL/day: 80 mL of the 100 mL reservoir.
    rx = draw(prescriptions(conc, cfg, modes=[PrescriptionMode.FLEX], max_rate_pl_per_day=20 * PL_PER_ML))
    return big_reservoir(cfg), conc, rx


@given(case=flex_case(), boot_at=st.integers(0, MS_PER_DAY - 1), days=st.integers(1, 3))
def test_flex_delivers_each_step_and_each_day_within_one_stroke(
    case: tuple[PumpConfig, int, Prescription], boot_at: int, days: int
) -> None:
    """Each flex step window, and each whole day, delivers its programmed volume within one stroke."""
    cfg, conc, rx = case
    sv = cfg.stroke_volume_pl
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc, cfg.reservoir_capacity_nl), hal, t0=boot_at)
    steps: tuple[FlexStep, ...] = rx.steps
    ends = [s.start_ms for s in steps[1:]] + [MS_PER_DAY]
    slack = 1 + Fraction(1, 2 * sv) * len(steps)  # one stroke, plus the pL/day rounding of each step's rate
    assert rx.daily_dose_ng() == sum(s.dose_ng_per_day * (e - s.start_ms) for s, e in zip(steps, ends, strict=True)) \
        // MS_PER_DAY
    for d in range(1, days + 1):
        day0 = d * MS_PER_DAY
        drv.run_until(day0)
        k_day0 = drv.strokes
        day_exact = Fraction(0)
        for s, end in zip(steps, ends, strict=True):
            drv.run_until(day0 + s.start_ms)
            k0 = drv.strokes
            drv.run_until(day0 + end)
            exact = Fraction(s.dose_ng_per_day * PL_PER_ML * (end - s.start_ms), conc * MS_PER_DAY * sv)
            day_exact += exact
            n = drv.strokes - k0
            assert abs(n - exact) < slack, f"day {d}, step at {s.start_ms} ms: {n} strokes, exact {float(exact)}"
        n_day = drv.strokes - k_day0
        assert abs(n_day - day_exact) < slack, f"day {d}: {n_day} strokes, exact {float(day_exact)}"


# -------------------------------------------------------------- prediction


PredictionCase = tuple[PumpConfig, int, Prescription, int]


@st.composite
def prediction_case(draw: st.DrawFn) -> PredictionCase:
    """A pump, drug and prescription, and a fill that reaches the low threshold within a few thousand wake-ups."""
    cfg = draw(pump_configs())
    conc = draw(concentrations())
    rx = draw(prescriptions(conc, cfg, min_bolus_interval_ms=MS_PER_MIN), label="rx")
    per_day_nl = _credit_exact(rx, conc, cfg, 0, 2 * MS_PER_DAY) // (2 * MS_PER_DAY * 1000) + 1
    wakes_per_day = MS_PER_DAY // cfg.max_sleep_ms + len(rx.steps)
    if rx.mode == PrescriptionMode.PERIODIC_BOLUS:
        wakes_per_day += 2 * MS_PER_DAY // rx.bolus_interval_ms
    days = max(1, min(20, 20_000 // wakes_per_day))
    head = draw(st.integers(-cfg.stroke_volume_pl // 1000, per_day_nl * days), label="fill above threshold")
    fill = min(cfg.reservoir_capacity_nl, max(0, cfg.low_reservoir_nl + head))
    return cfg, conc, rx, fill


def _check_prediction(drv: Driver, seq0: int, horizon_ms: int) -> None:
    """The prediction made by the last wake-up is exactly when LOW_RESERVOIR is raised (REQ-ALM-001)."""
    ctl = drv.ctl
    predicted = ctl.predicted_low_alarm_ms
    now = drv.hal.rtc.now_ms()
    if predicted is None:
        assert AlarmId.LOW_RESERVOIR in ctl.active_alarms
        return
    assert predicted > now
    assert AlarmId.LOW_RESERVOIR not in ctl.active_alarms
    log_pred = [r for r in ctl.log.since(seq0)[0] if r.code == EventCode.LOW_ALARM_PREDICTION]
    assert log_pred and log_pred[-1].a == predicted // 1000, "the log records the prediction in seconds"
    drv.low_raised_at = None
    drv.run_until(min(predicted, now + horizon_ms))
    raised = drv.low_raised_at
    if predicted <= now + horizon_ms:
        assert raised == predicted, f"predicted {predicted} ms, raised at {raised}"
    else:
        assert raised is None, f"predicted {predicted} ms, raised at {raised}"


@given(case=prediction_case())
def test_predicted_low_alarm_time_is_exact_from_boot(case: PredictionCase) -> None:
    """The low-reservoir alarm time predicted at boot is the millisecond the alarm is raised, for every mode."""
    cfg, conc, rx, fill = case
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc, fill), hal)
    _check_prediction(drv, 0, 40 * MS_PER_DAY)


@given(case=prediction_case(), data=st.data())
def test_predicted_low_alarm_time_is_exact_after_commands(case: PredictionCase, data: st.DataObject) -> None:
    """After a refill (new drug, bridge bolus, new rx), priming or threshold change, the new prediction is exact.

    REQ-RX-005: the prediction walks the bridge under the old program, then the new one.
    """
    cfg, conc, rx, fill = case
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc, cfg.reservoir_capacity_nl), hal)
    t1 = data.draw(st.integers(0, 2 * MS_PER_DAY), label="command time")
    drv.run_until(t1)
    new_conc = data.draw(st.one_of(st.just(conc), concentrations()), label="new conc")
    new_rx = data.draw(st.one_of(st.none(), prescriptions(new_conc, cfg, min_bolus_interval_ms=MS_PER_MIN)))
    if new_rx is None and check_prescription(rx, new_conc, cfg) is not None:
        new_rx = data.draw(prescriptions(new_conc, cfg, min_bolus_interval_ms=MS_PER_MIN), label="needed rx")
    bridge = data.draw(st.booleans(), label="bridge")
    cmds: list[object] = [Refill(max(fill, cfg.empty_floor_nl + 1), new_conc, bridge=bridge, rx=new_rx)]
    if data.draw(st.booleans(), label="priming"):
        cmds.append(PrimingBolus())
    if data.draw(st.booleans(), label="threshold"):
        cmds.append(SetLowReservoirThreshold(data.draw(st.integers(cfg.empty_floor_nl, cfg.reservoir_capacity_nl))))
    cmds = data.draw(st.permutations(cmds), label="order")
    seq0 = drv.ctl.log.next_seq
    for c in cmds:
        hal.inbox.send(c)
    empty_before = drv.ctl.status().delivery_stopped
    drv.wake_now(t1)
    rejected = [r for r in drv.ctl.log.since(seq0)[0] if r.code == EventCode.COMMAND_REJECTED]
    # REQ-RX-008: the only refusal allowed is a priming bolus sent to an empty pump before its refill.
    priming_first = [type(c).__name__ for c in cmds].index("PrimingBolus") if any(
        isinstance(c, PrimingBolus) for c in cmds) else len(cmds)
    refill_pos = next(i for i, c in enumerate(cmds) if isinstance(c, Refill))
    allowed = empty_before and priming_first < refill_pos
    assert all(r.b == CommandKind.PRIMING_BOLUS for r in rejected) and (not rejected or allowed), rejected
    _check_prediction(drv, seq0, 40 * MS_PER_DAY)


def test_prediction_after_a_bridge_consumed_by_priming() -> None:
    """Refill with new drug, bridge bolus and priming bolus: the alarm comes when predicted (REQ-RX-005, regression)."""
    cfg = PumpConfig()  # 20 mL, 2 mL alarm, 0.234 mL dead volume
    rx = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=5_000_000)  # morphine 5 mg/day
    hal = FakeHal()
    drv = Driver(PumpController(hal, cfg, rx, conc_ng_per_ml=10_000_000, reservoir_nl=20 * NL_PER_ML), hal)
    drv.run_until(MS_PER_DAY)
    hal.inbox.send(Refill(20 * NL_PER_ML, 20_000_000, bridge=True))  # 10 -> 20 mg/mL: 0.5 -> 0.25 mL/day
    hal.inbox.send(PrimingBolus())
    drv.wake_now(MS_PER_DAY)
    predicted = drv.ctl.predicted_low_alarm_ms
    assert predicted is not None
    drv.run_until(predicted - 1)
    assert AlarmId.LOW_RESERVOIR not in drv.ctl.active_alarms
    drv.run_until(predicted)
    assert AlarmId.LOW_RESERVOIR in drv.ctl.active_alarms, f"predicted day {predicted / MS_PER_DAY:.3f}, not raised"


# ------------------------------------------------------- engine prediction


def _replay(sc: Scenario, until_ms: int) -> tuple[int | None, int | None]:
    """Run the scenario's firmware alone on FakeHal: (last prediction, LOW_RESERVOIR raise time)."""
    hal = FakeHal()
    ctl = PumpController(hal, sc.firmware_config(), sc.prescription, sc.drug.conc_ng_per_ml, sc.pump.fill_nl)
    drv = Driver(ctl, hal)
    if sc.priming_bolus:
        drv.hal.inbox.send(PrimingBolus())
        drv.wake_now(0)
    predicted = ctl.predicted_low_alarm_ms
    drv.run_until(until_ms)
    return predicted, drv.low_raised_at


@given(scenarios(max_visits=0))
def test_engine_reports_the_firmware_prediction(sc: Scenario) -> None:
    """Without visits, the engine reports the firmware's prediction and raises the alarm at that millisecond."""
    res = pumpsim.simulate(sc)
    predictions = res.events_of("prediction")
    assert predictions, "the firmware logs a prediction at boot"
    predicted_s = predictions[-1]["predicted_low_reservoir_t_s"]
    assert predicted_s == res.summary["predicted_low_reservoir_t_s"]
    raised = [e["t_ms"] for e in res.events_of("alarm") if e["alarm"] == "low_reservoir" and e["state"] == "raised"]
    fw_pred, fw_raised = _replay(sc, sc.duration_ms)
    assert predicted_s == (None if fw_pred is None else fw_pred // 1000)
    assert (raised[0] if raised else None) == fw_raised, "the engine drives the firmware like FakeHal does"
    if fw_pred is None:
        assert raised and raised[0] <= predictions[-1]["t_ms"]
    elif fw_pred <= sc.duration_ms:
        assert raised and raised[0] == fw_pred, "the alarm is raised at the predicted millisecond"
    else:
        assert not raised
