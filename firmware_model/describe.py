"""English text for the firmware's integer records. Host side, not part of the C port.

The firmware reports everything as integers (:class:`~firmware_model.Rejection`,
:class:`~firmware_model.LogRecord`); a host (the simulator's loader and engine,
a bench console, a user's test) turns them into the one line a person reads::

    >>> from firmware_model import FieldId, Rejection, RejectReason
    >>> describe_rejection(Rejection(RejectReason.RATE_TOO_HIGH, FieldId.DOSE, 30 * 10**9, 48 * 10**6, 24 * 10**9))
    "dose: needs 30 mL/day, above the pump's maximum rate 24 mL/day"

Floating point is fine here: nothing in this module runs on the pump.
"""

from __future__ import annotations

from ._units import PL_PER_ML, RATE_CEILING_PL_PER_DAY
from .alarms import ALARM_NAMES
from .boluses import BOLUS_NAMES
from .commands import COMMAND_NAMES
from .druglib import LIMIT_NAMES
from .eventlog import EVENT_NAMES, EventCode, LogRecord
from .prescription import MODE_NAMES
from .ptm import PTM_RESULT_NAMES
from .rejection import FIELD_NAMES, REJECT_NAMES, FieldId, Rejection, RejectReason
from .tones import PRIORITY_NAMES

#: Unit of a rejection's value and range, per field (rates are shown in mL/day).
FIELD_UNITS: dict[int, str] = {
    FieldId.CONCENTRATION: "ng/mL",
    FieldId.DOSE: "pL/day",
    FieldId.STEP_DOSE: "pL/day",
    FieldId.BOLUS: "pL/day",
    FieldId.RESERVOIR: "nL",
    FieldId.LOW_RESERVOIR_ALARM: "nL",
    FieldId.PRIMING_BOLUS: "nL",
    FieldId.COMMAND: "",
    FieldId.DAILY_DOSE: "ng/day",
    FieldId.BOLUS_DOSE: "ng",
    FieldId.DOSE_STEP: "ng/day",
    FieldId.STEP_INTERVAL: "ms",
    FieldId.PATIENT_BOLUS: "pL/day",
}

#: How a drug-library limit reads in a sentence, per field.
_LIMIT_WORDS: dict[int, str] = {
    FieldId.CONCENTRATION: "concentration",
    FieldId.DAILY_DOSE: "daily dose",
    FieldId.BOLUS_DOSE: "bolus",
    FieldId.DOSE_STEP: "dose increase",
}


def rejection_field(rej: Rejection) -> str:
    """The field at fault as hosts name it: ``"dose"``, ``"steps[2].dose"``, ``"bolus"``, ``"reservoir"``, ..."""
    if rej.field == FieldId.STEP_DOSE:
        return f"steps[{rej.index}].dose"
    return FIELD_NAMES.get(rej.field, f"field {rej.field}")


def rejection_message(rej: Rejection) -> str:
    """What is wrong with the field: the value, the accepted limit or range, and the unit."""
    f, v, lo, hi = rej.field, rej.value, rej.lo, rej.hi
    low = rej.reason == RejectReason.RATE_TOO_LOW
    if rej.reason in (RejectReason.HARD_LIMIT, RejectReason.SOFT_LIMIT):
        kind = "hard" if rej.reason == RejectReason.HARD_LIMIT else "soft"
        after = "" if kind == "hard" else " (confirm to override)"
        unit = FIELD_UNITS.get(f, "")
        if f == FieldId.STEP_INTERVAL:
            return (f"dose raised again after {v / 3_600_000:g} h, sooner than the drug library's {kind} limit of "
                    f"{lo / 3_600_000:g} h between increases{after}")
        per = unit.removeprefix("ng")  # "/mL", "/day" or ""
        return (f"{_LIMIT_WORDS.get(f, FIELD_NAMES.get(f, 'value'))} {_mass(v, hi, per)} is above the drug "
                f"library's {kind} limit {_mass(hi, hi, per)}{after}")
    if f == FieldId.PATIENT_BOLUS and rej.reason == RejectReason.RATE_TOO_HIGH:
        return (f"patient bolus on the prescription's highest rate {_needs(v)}, above the pump's maximum rate "
                f"{_ml_day(hi)} mL/day: lengthen the patient bolus duration or lower its dose")
    if f == FieldId.PATIENT_BOLUS:
        return "no patient bolus is programmed"
    if f in (FieldId.DOSE, FieldId.STEP_DOSE, FieldId.BOLUS) and (low or rej.reason == RejectReason.RATE_TOO_HIGH):
        what = hint = ""
        if f == FieldId.BOLUS and low:
            what, hint = "bolus over bolus_duration ", ": shorten bolus_duration or raise the bolus dose"
        elif f == FieldId.BOLUS:
            what, hint = "bolus plus basal ", ": lengthen bolus_duration or lower the bolus dose"
        if low:
            return f"{what}{_needs(v)}, below the pump's minimum rate {_ml_day(lo)} mL/day{hint}"
        return f"{what}{_needs(v)}, above the pump's maximum rate {_ml_day(hi)} mL/day{hint}"
    if f == FieldId.PRIMING_BOLUS:
        return f"delivery is stopped (empty reservoir: estimate {v} nL, at or below the empty floor {lo} nL)"
    if f == FieldId.COMMAND:
        return f"unknown command (kind {v}, expected {lo}..{hi})"
    unit = FIELD_UNITS.get(f, "")
    reason = "" if rej.reason == RejectReason.BAD_VALUE else f" ({REJECT_NAMES.get(rej.reason, rej.reason)})"
    return f"{v} {unit}: expected {lo}..{hi} {unit}{reason}"


def describe_rejection(rej: Rejection) -> str:
    """One line for a person: ``"<field>: <message>"``."""
    return f"{rejection_field(rej)}: {rejection_message(rej)}"


def describe_record(rec: LogRecord) -> str:
    """One line for a log record, its integers decoded: ``"t=... ms #seq code: ..."``."""
    code, a, b = rec.code, rec.a, rec.b
    head = f"t={rec.t_ms} ms #{rec.seq} {EVENT_NAMES.get(code, f'code {code}')}"
    if code in (EventCode.ALARM_RAISED, EventCode.ALARM_CLEARED):
        body = f"{ALARM_NAMES.get(a, a)}, estimate {b} nL"
    elif code == EventCode.TONE:
        body = f"{ALARM_NAMES.get(a, a)}, {PRIORITY_NAMES.get(b, b)}"
    elif code == EventCode.DELIVERY_STOPPED:
        body = f"by {ALARM_NAMES.get(a, a)}"
    elif code == EventCode.REFILL:
        body = f"{a} nL at {b} ng/mL"
    elif code == EventCode.REPROGRAM:
        body = f"{MODE_NAMES.get(a, a)}, {b} ng/day"
    elif code in (EventCode.BOLUS_START, EventCode.BOLUS_END):
        body = f"{BOLUS_NAMES.get(a, a)}, {b} nL"
    elif code == EventCode.LOW_ALARM_PREDICTION:
        body = "never" if a < 0 else f"at {a} s"
    elif code == EventCode.COMMAND_REJECTED:
        body = f"{COMMAND_NAMES.get(b, b)}: {REJECT_NAMES.get(a, a)}"
    elif code == EventCode.ALARM_THRESHOLD_SET:
        body = f"{a} nL"
    elif code == EventCode.PATIENT_BOLUS:
        body = f"{PTM_RESULT_NAMES.get(a, a)}" + (f", {b} ng" if b else "")
    elif code in (EventCode.LIMIT_HARD, EventCode.LIMIT_SOFT, EventCode.LIMIT_OVERRIDDEN):
        body = f"{LIMIT_NAMES.get(a, a)} {b}"
    elif code == EventCode.BOOT:
        body = f"firmware version {a}"
    else:
        body = f"a={a} b={b}"
    return f"{head}: {body}"


def _mass(ng: int, scale_ng: int, per: str) -> str:
    """*ng* (a mass, or a mass per mL or per day) in mcg if *scale_ng* is below a mg, else in mg."""
    if scale_ng < 1_000_000:
        return f"{ng / 1_000:g} mcg{per}"
    return f"{ng / 1_000_000:g} mg{per}"


def _needs(rate_pl_per_day: int) -> str:
    if rate_pl_per_day >= RATE_CEILING_PL_PER_DAY:
        return f"needs {_ml_day(rate_pl_per_day)} mL/day or more"
    return f"needs {_ml_day(rate_pl_per_day)} mL/day"


def _ml_day(rate_pl_per_day: int) -> str:
    return f"{rate_pl_per_day / PL_PER_ML:.6g}"
