"""Firmware log records -> event records (the lines of events.jsonl).

:func:`decode` is a pure function of one record and, for a refill, of what the
refill did in the plant (passed in explicitly). It keeps no state and knows
nothing of the simulation, so anything that reads the controller's log can use
it: the engine after each wake-up, and a bench host turning a serial device's
log into events.jsonl.

The firmware logs integers (``firmware_model.eventlog``: time, code, a, b);
this module gives them names and clinician units (mL, mg, s). A code it does
not know (a newer firmware) becomes a raw ``log`` event; an argument it cannot
name becomes ``unknown(N)``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Literal, NamedTuple, cast

from firmware_model import (
    ALARM_NAMES,
    BOLUS_NAMES,
    COMMAND_NAMES,
    LIMIT_NAMES,
    MODE_NAMES,
    PTM_RESULT_NAMES,
    REJECT_NAMES,
    EventCode,
    LimitId,
    LogRecord,
    TonePattern,
)
from firmware_model.alarms import tone_for

from ..plant import RefillOutcome
from ..results.records import (
    AlarmEvent,
    BolusEvent,
    BootEvent,
    DeliveryStoppedEvent,
    DrugLimitEvent,
    Event,
    LogEvent,
    PredictionEvent,
    PtmEvent,
    PtmResultName,
    RefillEvent,
    RejectedEvent,
    ReprogramEvent,
    ThresholdEvent,
    ToneEvent,
)
from ..units import MS_PER_H, MS_PER_S, NG_PER_MG, NL_PER_ML

# ---------------------------------------------------------------- name tables


class _Names(dict[int, str]):
    """Lower-case names by value; a value without a name reads ``unknown(N)``."""

    def __missing__(self, value: int) -> str:
        return f"unknown({value})"


# The firmware's own name tables (firmware_model exports one per code family).
_ALARMS = _Names(ALARM_NAMES)
_BOLUSES = _Names(BOLUS_NAMES)
_MODES = _Names(MODE_NAMES)
_REASONS = _Names(REJECT_NAMES)
_COMMANDS = _Names(COMMAND_NAMES)
_LIMITS = _Names(LIMIT_NAMES)
#: The press results the ptm event names (tests/unit/test_engine_parts.py checks the record's Literal lists
#: exactly these); a result this decoder does not know is a raw record.
_PTM_RESULTS: dict[int, PtmResultName] = {v: cast(PtmResultName, n) for v, n in PTM_RESULT_NAMES.items()}


class _Tone(NamedTuple):
    pattern: str
    duration_ms: int


def _tone_of(pattern: TonePattern) -> _Tone:
    return _Tone(pattern.name, pattern.duration_ms)


#: The tone each alarm plays (its length is a sum over segments: computed once here).
_TONES: dict[int, _Tone] = {a: _tone_of(tone_for(a)) for a in ALARM_NAMES}


# ---------------------------------------------------------------- the decoder


def decode(rec: LogRecord, refill: RefillOutcome | None = None) -> Event:
    """The event record for log record *rec*.

    *refill* is the plant's side of the refill a ``REFILL`` record reports
    (the real volume and mixed concentration); without it (a bench with no
    simulated reservoir) those two fields are left out. Never raises for
    unknown codes or arguments.
    """
    translate = _TRANSLATORS.get(rec.code)
    return _raw(rec) if translate is None else translate(rec, refill)


# One translator per log code, looked up by code in _TRANSLATORS: each says
# what the record's a and b mean.


def _tone(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = the alarm that owns the tone, b = its priority (the pattern follows from the alarm)."""
    tone = _TONES.get(rec.a)
    if tone is None:
        return _raw(rec)
    ev: ToneEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "tone", "pattern": tone.pattern,
                     "alarm": _ALARMS[rec.a], "duration_ms": tone.duration_ms}
    return ev


def _bolus(rec: LogRecord, refill: RefillOutcome | None, state: Literal["start", "end"]) -> Event:
    """a = bolus kind, b = volume (nL) for priming and bridge boluses, else 0."""
    ev: BolusEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "bolus", "bolus": _BOLUSES[rec.a],
                      "state": state}
    if rec.b:
        ev["volume_ml"] = rec.b / NL_PER_ML
    return ev


def _alarm(rec: LogRecord, refill: RefillOutcome | None, state: Literal["raised", "cleared"]) -> Event:
    """a = alarm id, b = the firmware's reservoir estimate (nL)."""
    ev: AlarmEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "alarm", "alarm": _ALARMS[rec.a],
                      "state": state, "reservoir_estimated_ml": rec.b / NL_PER_ML}
    return ev


def _prediction(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = predicted low-reservoir alarm time in whole seconds, -1 if never."""
    ev: PredictionEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "prediction",
                           "predicted_low_reservoir_t_s": None if rec.a < 0 else float(rec.a)}
    return ev


def _delivery_stopped(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = the alarm that stopped delivery."""
    ev: DeliveryStoppedEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "delivery_stopped",
                                "alarm": _ALARMS[rec.a]}
    return ev


def _refill(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = the new reservoir estimate (nL), b = the new concentration (ng/mL)."""
    ev: RefillEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "refill",
                       "entered_ml": rec.a / NL_PER_ML, "concentration_mg_per_ml": rec.b / NG_PER_MG}
    if refill is not None:
        ev["reservoir_actual_ml"] = refill.volume_nl / NL_PER_ML
        ev["mixed_concentration_mg_per_ml"] = refill.conc_ng_per_nl  # ng/nL = mg/mL
    return ev


def _reprogram(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = prescription mode, b = nominal daily dose (ng/day)."""
    ev: ReprogramEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "reprogram",
                          "mode": _MODES[rec.a], "daily_dose_mg": rec.b / NG_PER_MG}
    return ev


def _rejected(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = reject reason, b = command kind."""
    ev: RejectedEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "rejected",
                         "reason": _REASONS[rec.a], "command": _COMMANDS[rec.b]}
    return ev


def _threshold(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = the new low-reservoir threshold (nL)."""
    ev: ThresholdEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "threshold",
                          "low_reservoir_ml": rec.a / NL_PER_ML}
    return ev


def _ptm(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = the press's result, b = the bolus dose (ng) if granted."""
    result = _PTM_RESULTS.get(rec.a)
    if result is None:
        return _raw(rec)
    ev: PtmEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "ptm", "result": result}
    if rec.b:
        ev["bolus_mg"] = rec.b / NG_PER_MG
    return ev


#: Each drug-library limit's value in clinician units: (divisor from the firmware's unit, unit).
_LIMIT_UNITS: dict[int, tuple[int, str]] = {
    LimitId.CONCENTRATION: (NG_PER_MG, "mg/mL"),  # ng/mL
    LimitId.DAILY_DOSE: (NG_PER_MG, "mg/day"),  # ng/day
    LimitId.BOLUS: (NG_PER_MG, "mg"),  # ng
    LimitId.DOSE_STEP: (NG_PER_MG, "mg/day"),  # ng/day
    LimitId.STEP_INTERVAL: (MS_PER_H, "h"),  # ms
}


def _limit(rec: LogRecord, refill: RefillOutcome | None, severity: Literal["hard", "soft"],
           outcome: Literal["refused", "overridden"]) -> Event:
    """a = the limit (LimitId), b = the value that exceeds it, in the limit's firmware unit."""
    unit = _LIMIT_UNITS.get(rec.a)
    if unit is None:
        return _raw(rec)
    ev: DrugLimitEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "drug_limit",
                          "limit": _LIMITS[rec.a], "severity": severity, "outcome": outcome,
                          "value": rec.b / unit[0], "unit": unit[1]}
    return ev


def _boot(rec: LogRecord, refill: RefillOutcome | None) -> Event:
    """a = firmware version."""
    ev: BootEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "boot", "firmware_version": rec.a}
    return ev


def _raw(rec: LogRecord) -> Event:
    """A code (or argument) this decoder does not know: the record's integers as they are."""
    ev: LogEvent = {"t_s": rec.t_ms / MS_PER_S, "t_ms": rec.t_ms, "kind": "log", "code": int(rec.code),
                    "a": rec.a, "b": rec.b}
    return ev


_TRANSLATORS: dict[int, Callable[[LogRecord, RefillOutcome | None], Event]] = {
    EventCode.BOOT: _boot,
    EventCode.ALARM_RAISED: partial(_alarm, state="raised"),
    EventCode.ALARM_CLEARED: partial(_alarm, state="cleared"),
    EventCode.TONE: _tone,
    EventCode.REFILL: _refill,
    EventCode.REPROGRAM: _reprogram,
    EventCode.BOLUS_START: partial(_bolus, state="start"),
    EventCode.BOLUS_END: partial(_bolus, state="end"),
    EventCode.LOW_ALARM_PREDICTION: _prediction,
    EventCode.COMMAND_REJECTED: _rejected,
    EventCode.ALARM_THRESHOLD_SET: _threshold,
    EventCode.DELIVERY_STOPPED: _delivery_stopped,
    EventCode.PATIENT_BOLUS: _ptm,
    EventCode.LIMIT_HARD: partial(_limit, severity="hard", outcome="refused"),
    EventCode.LIMIT_SOFT: partial(_limit, severity="soft", outcome="refused"),
    EventCode.LIMIT_OVERRIDDEN: partial(_limit, severity="soft", outcome="overridden"),
}
