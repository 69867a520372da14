"""The firmware's data: slotted records, integer constant sets and their name tables, structured
rejections and the host-side text made from them, and the int64-safe unit arithmetic."""

from __future__ import annotations

import pickle

import pytest

import firmware_model as fm
from firmware_model import (
    ALARM_NAMES,
    BOLUS_NAMES,
    COMMAND_NAMES,
    EVENT_NAMES,
    FIELD_NAMES,
    LIMIT_NAMES,
    MODE_NAMES,
    MS_PER_DAY,
    PL_PER_ML,
    PRIORITY_NAMES,
    PTM_RESULT_NAMES,
    REJECT_NAMES,
    AlarmId,
    BolusKind,
    CommandKind,
    EventCode,
    FieldId,
    FlexStep,
    LimitId,
    LogRecord,
    Prescription,
    PrescriptionMode,
    Priority,
    PtmResult,
    PumpConfig,
    Refill,
    RejectedError,
    Rejection,
    RejectReason,
    check_prescription,
)
from firmware_model._record import name_table
from firmware_model._units import INT64_MAX, RATE_CEILING_PL_PER_DAY, round_div, scale
from firmware_model.describe import FIELD_UNITS, describe_record, describe_rejection, rejection_field
from firmware_model.testing import FakeHal

FAMILIES = [
    (AlarmId, ALARM_NAMES), (BolusKind, BOLUS_NAMES), (CommandKind, COMMAND_NAMES), (EventCode, EVENT_NAMES),
    (FieldId, FIELD_NAMES), (PrescriptionMode, MODE_NAMES), (Priority, PRIORITY_NAMES), (RejectReason, REJECT_NAMES),
    (PtmResult, PTM_RESULT_NAMES), (LimitId, LIMIT_NAMES),
]


@pytest.mark.parametrize(("constants", "names"), FAMILIES)
def test_each_constant_set_has_one_lowercase_name_table(constants: type, names: dict[int, str]) -> None:
    """Every upper-case constant appears once, by value, under its lowercase name (what events.jsonl shows)."""
    members = {k: v for k, v in vars(constants).items() if k.isupper()}
    assert names == {v: k.lower() for k, v in members.items()}
    assert list(names) == sorted(names) and all(type(v) is int for v in names)


def test_name_tables_keep_the_names_logs_have_always_used() -> None:
    """The decoded names in events.jsonl are unchanged (docs/output-format.md lists them)."""
    assert REJECT_NAMES == {1: "rate_too_high", 2: "rate_too_low", 3: "volume_above_capacity",
                            4: "bad_concentration", 5: "bad_value", 6: "hard_limit", 7: "soft_limit"}
    assert COMMAND_NAMES == {1: "refill", 2: "reprogram", 3: "priming_bolus", 4: "set_low_reservoir",
                             5: "patient_bolus"}
    assert BOLUS_NAMES == {1: "periodic", 2: "single", 3: "priming", 4: "bridge", 5: "patient"}
    assert PTM_RESULT_NAMES == {1: "granted", 2: "refused_lockout", 3: "refused_max", 4: "refused_stopped"}
    assert MODE_NAMES == {0: "stopped", 1: "continuous", 2: "flex", 3: "periodic_bolus", 4: "single_bolus"}


def test_name_table_refuses_two_names_for_one_value() -> None:
    class Clash:
        A = 1
        B = 1

    with pytest.raises(ValueError, match="share a value"):
        name_table(Clash)


def test_records_compare_hash_and_print_like_frozen_dataclasses() -> None:
    """Equal fields and class => equal and same hash; another class is never equal; repr names the fields."""
    a = Prescription(PrescriptionMode.FLEX, steps=(FlexStep(0, 100), FlexStep(3_600_000, 200)))
    b = Prescription(PrescriptionMode.FLEX, steps=(FlexStep(0, 100), FlexStep(3_600_000, 200)))
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert a != Prescription(PrescriptionMode.FLEX, steps=(FlexStep(0, 100),))
    assert FlexStep(0, 100) != (0, 100) and LogRecord(0, 1, 2, 3, 4) != Rejection(0, 1, 2, 3, 4)
    assert repr(FlexStep(0, 100)) == "FlexStep(start_ms=0, dose_ng_per_day=100)"
    assert pickle.loads(pickle.dumps(a)) == a  # sweeps ship scenarios to worker processes


def test_pump_config_replace_validates_again() -> None:
    cfg = PumpConfig()
    assert cfg.replace(log_capacity=8) == PumpConfig(log_capacity=8)
    with pytest.raises(ValueError, match=r"low_reservoir_nl = 30000000: expected 0\.\.20000000 nL"):
        cfg.replace(low_reservoir_nl=30_000_000)
    with pytest.raises(TypeError, match="no field 'colour'"):
        cfg.replace(colour=1)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"stroke_volume_pl": 999}, "stroke_volume_pl = 999: expected 1000..10000000 pL"),
        ({"reservoir_capacity_nl": 100_000_001}, "expected 1..100000000 nL"),
        ({"max_rate_pl_per_day": 100 * PL_PER_ML + 1}, "max_rate_pl_per_day"),
        ({"critical_tone_interval_ms": MS_PER_DAY + 1}, "critical_tone_interval_ms"),
    ],
)
def test_pump_config_refuses_values_past_the_documented_extremes(kwargs: dict[str, int], fragment: str) -> None:
    """The limits within which the firmware's integers are proven to fit int64 (firmware_model.config)."""
    with pytest.raises(ValueError, match=fragment):
        PumpConfig(**kwargs)


def test_prescription_refuses_an_unknown_mode_and_a_long_interval() -> None:
    with pytest.raises(ValueError, match="mode = 9"):
        Prescription(9)
    with pytest.raises(ValueError, match="bolus_interval_ms"):
        Prescription(PrescriptionMode.PERIODIC_BOLUS, dose_ng_per_day=1, bolus_ng=1, bolus_duration_ms=1,
                     bolus_interval_ms=8 * MS_PER_DAY)


def test_scale_equals_the_plain_formula_and_saturates() -> None:
    """scale(v, n, d, cap) = round_div(v * n, d) without forming v * n; at or past cap it reads cap."""
    for v in (0, 1, 7, 499_999_999, 500_000_000, 10**10, 123_456_789_012):
        for d in (1, 3, 500_000, 100_000_000):
            exact = round_div(v * PL_PER_ML, d)
            assert scale(v, PL_PER_ML, d, INT64_MAX) == min(exact, INT64_MAX)
            assert scale(v, PL_PER_ML, d, RATE_CEILING_PL_PER_DAY) == min(exact, RATE_CEILING_PL_PER_DAY)
    # 10^10 ng/day at 1 ng/mL needs 10^19 pL/day: past int64, it reads as the cap.
    assert scale(10**10, PL_PER_ML, 1, INT64_MAX) == INT64_MAX


# ---------------------------------------------------------------- rejections


def _rej(rx: Prescription, conc: int = 500_000) -> Rejection:
    rej = check_prescription(rx, conc, PumpConfig())
    assert rej is not None
    return rej


def test_rejections_carry_integers_only() -> None:
    """30 mL/day asked of a 24 mL/day pump: reason, field, value and range, all in pL/day."""
    rej = _rej(Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=15_000_000))  # 15 mg/day at 0.5 mg/mL
    assert rej == Rejection(RejectReason.RATE_TOO_HIGH, FieldId.DOSE, 30 * PL_PER_ML, 48_000_000, 24 * PL_PER_ML)
    assert all(type(getattr(rej, f)) is int for f in Rejection.__match_args__)


@pytest.mark.parametrize(
    ("rx", "conc", "text"),
    [
        (Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=15_000_000), 500_000,
         "dose: needs 30 mL/day, above the pump's maximum rate 24 mL/day"),
        (Prescription(PrescriptionMode.FLEX, steps=(FlexStep(0, 250_000), FlexStep(3_600_000, 1))), 500_000,
         "steps[1].dose: needs 2e-06 mL/day, below the pump's minimum rate 0.048 mL/day"),
        (Prescription(PrescriptionMode.SINGLE_BOLUS, bolus_ng=10_000, bolus_duration_ms=12 * 3_600_000), 500_000,
         "bolus: bolus over bolus_duration needs 0.04 mL/day, below the pump's minimum rate 0.048 mL/day: "
         "shorten bolus_duration or raise the bolus dose"),
        (Prescription(PrescriptionMode.SINGLE_BOLUS, bolus_ng=10_000_000, bolus_duration_ms=60_000), 500_000,
         "bolus: bolus plus basal needs 28800 mL/day, above the pump's maximum rate 24 mL/day: "
         "lengthen bolus_duration or lower the bolus dose"),
        (Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=INT64_MAX), 1,
         "dose: needs 1e+06 mL/day or more, above the pump's maximum rate 24 mL/day"),
        (Prescription(PrescriptionMode.STOPPED), 100_000_001,
         "concentration: 100000001 ng/mL: expected 1..100000000 ng/mL (bad_concentration)"),
    ],
)
def test_describe_rejection_names_field_value_limit_and_unit(rx: Prescription, conc: int, text: str) -> None:
    """The English line hosts show (the loader wraps it with the TOML key) is made from the integers."""
    assert describe_rejection(_rej(rx, conc)) == text


def test_describe_every_command_rejection() -> None:
    assert describe_rejection(Rejection(RejectReason.VOLUME_ABOVE_CAPACITY, FieldId.RESERVOIR, 25, 1, 20)) == (
        "reservoir: 25 nL: expected 1..20 nL (volume_above_capacity)")
    assert describe_rejection(Rejection(RejectReason.BAD_VALUE, FieldId.LOW_RESERVOIR_ALARM, -1, 0, 20)) == (
        "low_reservoir_alarm: -1 nL: expected 0..20 nL")
    assert describe_rejection(Rejection(RejectReason.BAD_VALUE, FieldId.PRIMING_BOLUS, -3, 0, 20)) == (
        "priming_bolus: delivery is stopped (empty reservoir: estimate -3 nL, at or below the empty floor 0 nL)")
    assert describe_rejection(Rejection(RejectReason.BAD_VALUE, FieldId.COMMAND, 0, 1, 4)) == (
        "command: unknown command (kind 0, expected 1..4)")
    assert set(FIELD_UNITS) == set(FIELD_NAMES)
    assert rejection_field(Rejection(RejectReason.RATE_TOO_LOW, FieldId.STEP_DOSE, 1, 2, 3, index=4)) == "steps[4].dose"


def test_controller_construction_raises_the_rejection() -> None:
    """RejectedError is a ValueError whose text comes from describe and which carries the integers."""
    rx = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=15_000_000)
    with pytest.raises(RejectedError, match="dose: needs 30 mL/day") as info:
        fm.PumpController(FakeHal(), PumpConfig(), rx, 500_000, 0)
    assert info.value.rejection.reason == RejectReason.RATE_TOO_HIGH


def test_describe_record_decodes_every_event_code() -> None:
    """One line per log record with its integers named (a bench console's view of the log)."""
    lines = [describe_record(LogRecord(i, 1_000, code, 1, 2)) for i, code in enumerate(EVENT_NAMES)]
    assert lines[0] == "t=1000 ms #0 boot: firmware version 1"
    assert lines[1] == "t=1000 ms #1 alarm_raised: low_reservoir, estimate 2 nL"
    assert lines[3] == "t=1000 ms #3 tone: low_reservoir, critical"
    assert lines[9] == "t=1000 ms #9 command_rejected: reprogram: rate_too_high"
    assert describe_record(LogRecord(0, 0, 99, 1, 2)) == "t=0 ms #0 code 99: a=1 b=2"
    assert describe_record(LogRecord(0, 0, EventCode.LOW_ALARM_PREDICTION, -1, 0)).endswith("never")
    assert "refill" in describe_record(LogRecord(0, 0, EventCode.REFILL, Refill(1, 1).reservoir_nl, 1))
