"""The firmware controller, driven through the in-memory FakeHal."""

from __future__ import annotations

import itertools

import pytest

from firmware_model import (
    EVENT_NAMES,
    MS_PER_DAY,
    MS_PER_H,
    AlarmId,
    EventCode,
    EventLog,
    FlexStep,
    MotorProgram,
    Prescription,
    PrescriptionMode,
    PrimingBolus,
    PumpConfig,
    PumpController,
    Refill,
    Reprogram,
    SetLowReservoirThreshold,
)
from firmware_model.testing import FakeHal, run_until, wake_now

CONT = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=250_000)  # 0.5 mL/day at 500 mcg/mL


def _ctl(rx: Prescription = CONT, fill_nl: int = 20_000_000, **cfg: int) -> tuple[PumpController, FakeHal]:
    hal = FakeHal()
    return PumpController(hal, PumpConfig(**cfg), rx, 500_000, fill_nl), hal


def _codes(ctl: PumpController, code: EventCode) -> list[tuple[int, int, int]]:
    return [(r.t_ms, r.a, r.b) for r in ctl.log.records() if r.code == code]


def test_motor_program_timing_is_exact() -> None:
    """Stroke k fires at start + ceil((k*cost - credit0)/rate); strokes_by inverts it."""
    p = MotorProgram(start_ms=1000, strokes=10, rate_pl_per_day=300_000_000, stroke_cost=250_000 * MS_PER_DAY,
                     credit0=0)
    # 0.3 mL/day, 0.25 uL strokes: one stroke every 72 s exactly.
    assert [p.stroke_time_ms(k) for k in (1, 2, 10)] == [73_000, 145_000, 721_000]
    assert p.strokes_by(72_999) == 0 and p.strokes_by(73_000) == 1 and p.strokes_by(10**9) == 10
    with pytest.raises(ValueError, match="credit0"):
        MotorProgram(0, 1, 1, 10, 10)


def test_low_alarm_exactly_at_threshold_stroke() -> None:
    """REQ-ALM-001: the alarm is raised at the stroke that brings the estimate to the threshold (day 36)."""
    ctl, hal = _ctl()
    run_until(ctl, hal, 37 * MS_PER_DAY)
    (raised,) = _codes(ctl, EventCode.ALARM_RAISED)
    assert raised == (36 * MS_PER_DAY, AlarmId.LOW_RESERVOIR, 2_000_000)
    assert ctl.status().reservoir_estimate_nl < 2_000_000
    # Predicted exactly at boot; once raised there is nothing left to predict.
    assert _codes(ctl, EventCode.LOW_ALARM_PREDICTION)[0][1] == 36 * 86_400
    assert ctl.predicted_low_alarm_ms is None


def test_refill_clears_alarms_and_restarts_delivery() -> None:
    """A refill above the threshold clears low and empty alarms and delivery resumes (REQ-ALM-003)."""
    ctl, hal = _ctl()
    run_until(ctl, hal, 41 * MS_PER_DAY)
    st = ctl.status()
    assert st.active_alarms == (AlarmId.LOW_RESERVOIR, AlarmId.EMPTY_RESERVOIR) and st.delivery_stopped
    assert hal.motor.program is None
    hal.inbox.send(Refill(reservoir_nl=20_000_000, conc_ng_per_ml=500_000))
    wake_now(ctl, hal, 41 * MS_PER_DAY)
    st = ctl.status()
    assert st.active_alarms == () and not st.delivery_stopped
    assert hal.motor.program is not None and hal.motor.program.rate_pl_per_day == 500_000_000
    assert [a for _, a, _ in _codes(ctl, EventCode.ALARM_CLEARED)] == [AlarmId.LOW_RESERVOIR, AlarmId.EMPTY_RESERVOIR]
    assert ctl.predicted_low_alarm_ms == (41 + 36) * MS_PER_DAY


def test_only_the_critical_tone_sounds_when_both_alarms_are_active() -> None:
    """REQ-ALM-005: after the empty alarm, the hourly non-critical tone stops; critical every 10 min."""
    ctl, hal = _ctl()
    run_until(ctl, hal, 41 * MS_PER_DAY)
    after = [(t, p.name) for t, p in hal.sounder.played if t >= 40 * MS_PER_DAY]
    assert after and all(name == "critical" for _, name in after)
    before = [t for t, p in hal.sounder.played if t < 40 * MS_PER_DAY]
    assert before[0] == 36 * MS_PER_DAY and all(b - a == MS_PER_H for a, b in itertools.pairwise(before))


def test_rejected_commands_change_nothing() -> None:
    """An overfill, an undeliverable prescription or a bad threshold is logged as rejected and ignored."""
    ctl, hal = _ctl()
    run_until(ctl, hal, MS_PER_DAY)
    before = ctl.status()
    hal.inbox.send(Refill(reservoir_nl=25_000_000, conc_ng_per_ml=500_000))
    hal.inbox.send(Reprogram(Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=10**9)))
    hal.inbox.send(SetLowReservoirThreshold(threshold_nl=30_000_000))
    hal.inbox.send("garbage")
    wake_now(ctl, hal, MS_PER_DAY + 5)
    assert len(_codes(ctl, EventCode.COMMAND_REJECTED)) == 4
    after = ctl.status()
    assert after.prescription == before.prescription and after.low_reservoir_nl == before.low_reservoir_nl
    assert after.reservoir_estimate_nl == before.reservoir_estimate_nl


def test_threshold_change_moves_the_alarm() -> None:
    """Raising the threshold to 4 mL (the safer setting) raises the alarm 4 days earlier: day 32."""
    ctl, hal = _ctl()
    hal.inbox.send(SetLowReservoirThreshold(4_000_000))
    ctl.boot(0)
    wake_now(ctl, hal, 0)
    run_until(ctl, hal, 33 * MS_PER_DAY, booted=True)
    assert _codes(ctl, EventCode.ALARM_RAISED)[0][0] == 32 * MS_PER_DAY


def test_bridge_runs_old_program_for_the_dead_volume() -> None:
    """REQ-RX-005: refill at double strength with a bridge keeps the old rate for dead_volume/stroke strokes."""
    ctl, hal = _ctl(dead_volume_nl=250_000)
    run_until(ctl, hal, MS_PER_DAY)
    hal.inbox.send(Refill(20_000_000, 1_000_000, bridge=True))
    wake_now(ctl, hal, MS_PER_DAY)
    assert ctl.status().bridge_strokes_left == 1000
    assert hal.motor.program is not None and hal.motor.program.rate_pl_per_day == 500_000_000
    run_until(ctl, hal, 2 * MS_PER_DAY, booted=True)
    st = ctl.status()
    assert st.bridge_strokes_left == 0 and st.conc_ng_per_ml == 1_000_000
    assert hal.motor.program is not None and hal.motor.program.rate_pl_per_day == 250_000_000
    (start,) = [t for t, a, _ in _codes(ctl, EventCode.BOLUS_START)]
    (end,) = [t for t, a, _ in _codes(ctl, EventCode.BOLUS_END)]
    assert end - start == 1000 * 43_200  # 1000 strokes at the old 43.2 s interval


def test_no_bridge_switches_rate_at_once() -> None:
    """Without a bridge the new rate applies immediately (the old drug is then under-delivered)."""
    ctl, hal = _ctl()
    hal.inbox.send(Refill(20_000_000, 1_000_000, bridge=False))
    ctl.boot(0)
    wake_now(ctl, hal, 0)
    assert hal.motor.program is not None and hal.motor.program.rate_pl_per_day == 250_000_000


def test_priming_bolus_runs_at_max_rate_for_dead_volume() -> None:
    """A priming bolus pushes ceil(dead/stroke) strokes at the maximum rate, then therapy resumes."""
    ctl, hal = _ctl(dead_volume_nl=234_000)
    hal.inbox.send(PrimingBolus())
    ctl.boot(0)
    wake_now(ctl, hal, 0)
    assert hal.motor.program is not None
    assert hal.motor.program.rate_pl_per_day == PumpConfig().max_rate_pl_per_day
    assert hal.motor.program.strokes == 936
    run_until(ctl, hal, MS_PER_DAY, booted=True)
    assert ctl.status().priming_strokes_left == 0
    ends = _codes(ctl, EventCode.BOLUS_END)
    assert len(ends) == 1 and ends[0][0] == 936 * 900  # 0.9 s per stroke at 24 mL/day


def test_single_bolus_then_minimum_rate() -> None:
    """Single bolus mode delivers its dose over its duration, then the pump runs at the minimum rate."""
    rx = Prescription(PrescriptionMode.SINGLE_BOLUS, bolus_ng=50_000, bolus_duration_ms=MS_PER_H)
    ctl, hal = _ctl(rx)
    run_until(ctl, hal, MS_PER_H)
    assert hal.motor.stroke_count() == 400  # 50 mcg at 500 mcg/mL = 0.1 mL = 400 strokes
    run_until(ctl, hal, MS_PER_H + MS_PER_DAY, booted=True)
    assert hal.motor.stroke_count() - 400 == pytest.approx(192, abs=1)  # 0.048 mL/day


def test_periodic_bolus_adds_to_basal() -> None:
    """Periodic bolus: basal 0.5 mL/day plus 0.05 mL every 6 h = 0.7 mL/day = 2800 strokes/day."""
    rx = Prescription(PrescriptionMode.PERIODIC_BOLUS, dose_ng_per_day=250_000, bolus_ng=25_000,
                      bolus_duration_ms=30 * 60_000, bolus_interval_ms=6 * MS_PER_H, bolus_start_ms=0)
    ctl, hal = _ctl(rx)
    run_until(ctl, hal, MS_PER_DAY)
    assert hal.motor.stroke_count() == pytest.approx(2800, abs=1)
    assert len(_codes(ctl, EventCode.BOLUS_START)) == 5  # 00:00, 06:00, 12:00, 18:00, 24:00


def test_flex_steps_go_into_the_stroke_timer_rate_table() -> None:
    """Flex steps change the motor rate at their start times without a wake-up of their own."""
    rx = Prescription(PrescriptionMode.FLEX, steps=(FlexStep(0, 240_000), FlexStep(12 * MS_PER_H, 480_000)))
    ctl, hal = _ctl(rx)
    nxt = ctl.boot(0)
    assert nxt == MS_PER_DAY  # only the daily housekeeping wake-up
    prog = hal.motor.program
    assert prog is not None
    assert prog.rate_at(12 * MS_PER_H - 1) == 480_000_000 and prog.rate_at(12 * MS_PER_H) == 960_000_000
    assert prog.stroke_time_ms(960) == 12 * MS_PER_H  # 0.48 mL by noon
    assert prog.stroke_time_ms(961) == 12 * MS_PER_H + 22_500  # then one every 22.5 s
    run_until(ctl, hal, MS_PER_DAY, booted=True)
    assert hal.motor.stroke_count() == 960 + 1920


def test_motor_program_rate_table_round_trip() -> None:
    """strokes_by and stroke_time_ms are inverse over a table with a zero-rate row."""
    p = MotorProgram(0, 50, 1_000, 10_000, 5_000, ((20, 0), (40, 3_000)))
    for k in range(1, 51):
        t = p.stroke_time_ms(k)
        assert p.strokes_by(t) >= k and p.strokes_by(t - 1) < k
    assert p.credit_at(30) == 5_000 + 20 * 1_000
    with pytest.raises(ValueError, match="increase"):
        MotorProgram(0, 1, 1, 10, 0, ((0, 5),))


def test_construction_rejects_bad_setup() -> None:
    """An undeliverable prescription or an overfull reservoir is refused at construction."""
    with pytest.raises(ValueError, match="maximum rate"):
        _ctl(Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=10**9))
    with pytest.raises(ValueError, match=r"reservoir: 21000000 nL: expected 0\.\.20000000 nL"):
        _ctl(fill_nl=21_000_000)
    with pytest.raises(ValueError, match="low_reservoir_nl"):
        PumpConfig(low_reservoir_nl=30_000_000)


def test_event_log_ring_buffer_reports_losses() -> None:
    """The ring keeps the newest `capacity` records and tells a lapped reader how many it lost."""
    log = EventLog(capacity=4)
    for i in range(10):
        log.append(i, EventCode.TONE, i)
    recs, lost = log.since(0)
    assert [r.seq for r in recs] == [6, 7, 8, 9] and lost == 6
    recs, lost = log.since(8)
    assert [r.a for r in recs] == [8, 9] and lost == 0
    with pytest.raises(ValueError):
        EventLog(0)


def test_priming_is_refused_while_empty_and_never_fires_later() -> None:
    """REQ-RX-008: a priming bolus asked for from an empty pump is rejected; the next refill gives no bolus."""
    ctl, hal = _ctl(fill_nl=1_000_000)  # 1 mL at 0.5 mL/day: empty at day 2
    run_until(ctl, hal, 3 * MS_PER_DAY)
    assert ctl.status().delivery_stopped
    hal.inbox.send(PrimingBolus())
    wake_now(ctl, hal, 3 * MS_PER_DAY)
    assert ctl.status().priming_strokes_left == 0
    assert _codes(ctl, EventCode.COMMAND_REJECTED)[-1][1:] == (5, 3)  # BAD_VALUE, PRIMING_BOLUS
    hal.inbox.send(Refill(20_000_000, 500_000))
    wake_now(ctl, hal, 5 * MS_PER_DAY)
    assert hal.motor.program is not None and hal.motor.program.rate_pl_per_day == 500_000_000


def test_reprogram_during_a_bridge_takes_effect_at_once() -> None:
    """REQ-RX-009: STOPPED sent during a bridge runs now (at the old concentration), not after the bridge."""
    ctl, hal = _ctl(dead_volume_nl=234_000)
    run_until(ctl, hal, MS_PER_DAY)
    hal.inbox.send(Refill(20_000_000, 1_000_000, bridge=True))
    wake_now(ctl, hal, MS_PER_DAY)
    hal.inbox.send(Reprogram(Prescription(PrescriptionMode.STOPPED)))
    wake_now(ctl, hal, MS_PER_DAY + 60_000)
    st = ctl.status()
    assert st.prescription.mode == PrescriptionMode.STOPPED and st.conc_ng_per_ml == 500_000
    assert st.bridge_strokes_left > 0
    assert hal.motor.program is not None
    assert hal.motor.program.rate_pl_per_day == PumpConfig().min_rate_pl_per_day


def test_bolus_end_keeps_the_kind_it_started_with() -> None:
    """A periodic bolus window closed by a switch to single-bolus mode is logged as a periodic end."""
    rx = Prescription(PrescriptionMode.PERIODIC_BOLUS, dose_ng_per_day=250_000, bolus_ng=25_000,
                      bolus_duration_ms=30 * 60_000, bolus_interval_ms=6 * MS_PER_H, bolus_start_ms=0)
    ctl, hal = _ctl(rx)
    run_until(ctl, hal, 10 * 60_000)
    hal.inbox.send(Reprogram(Prescription(PrescriptionMode.SINGLE_BOLUS, bolus_ng=50_000,
                                          bolus_duration_ms=MS_PER_H)))
    wake_now(ctl, hal, 10 * 60_000)
    run_until(ctl, hal, 2 * MS_PER_H, booted=True)
    edges = (EventCode.BOLUS_START, EventCode.BOLUS_END)
    kinds = [(EVENT_NAMES[r.code], r.a) for r in ctl.log.records() if r.code in edges]
    assert kinds == [("bolus_start", 1), ("bolus_end", 1), ("bolus_start", 2), ("bolus_end", 2)]
