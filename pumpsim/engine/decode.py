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

from enum import IntEnum

from firmware_model import AlarmId, BolusKind, EventCode, LogRecord, PrescriptionMode, RejectReason, TonePattern
from firmware_model.alarms import tone_for
from firmware_model.commands import CommandKind

from ..plant import RefillOutcome
from ..results.records import (
    AlarmEvent,
    BolusEvent,
    BootEvent,
    DeliveryStoppedEvent,
    Event,
    LogEvent,
    PredictionEvent,
    RefillEvent,
    RejectedEvent,
    ReprogramEvent,
    ThresholdEvent,
    ToneEvent,
)
from ..units import MS_PER_S, NG_PER_MG, NL_PER_ML

# ---------------------------------------------------------------- name tables


def _names(values: type[IntEnum]) -> dict[int, str]:
    return {int(v): v.name.lower() for v in values}


_ALARMS = _names(AlarmId)
_BOLUSES = _names(BolusKind)
_MODES = _names(PrescriptionMode)
_REASONS = _names(RejectReason)
_COMMANDS = _names(CommandKind)
_TONES: dict[int, TonePattern] = {int(a): tone_for(a) for a in AlarmId}


def _name(table: dict[int, str], value: int) -> str:
    name = table.get(value)
    return name if name is not None else f"unknown({value})"


# ---------------------------------------------------------------- the decoder


def decode(rec: LogRecord, refill: RefillOutcome | None = None) -> Event:
    """The event record for log record *rec*.

    *refill* is the plant's side of the refill a ``REFILL`` record reports
    (the real volume and mixed concentration); without it (a bench with no
    simulated reservoir) those two fields are left out. Never raises for
    unknown codes or arguments.
    """
    t = rec.t_ms
    t_s = t / MS_PER_S
    a, b = rec.a, rec.b
    # Cases in rough order of frequency: tones and bolus edges dominate long runs.
    match rec.code:
        case EventCode.TONE if a in _TONES:
            pattern = _TONES[a]
            tone: ToneEvent = {"t_s": t_s, "t_ms": t, "kind": "tone", "pattern": pattern.name,
                               "alarm": _name(_ALARMS, a), "duration_ms": pattern.duration_ms}
            return tone
        case EventCode.BOLUS_START | EventCode.BOLUS_END:
            bolus: BolusEvent = {"t_s": t_s, "t_ms": t, "kind": "bolus", "bolus": _name(_BOLUSES, a),
                                 "state": "start" if rec.code == EventCode.BOLUS_START else "end"}
            if b:
                bolus["volume_ml"] = b / NL_PER_ML
            return bolus
        case EventCode.ALARM_RAISED | EventCode.ALARM_CLEARED:
            alarm: AlarmEvent = {"t_s": t_s, "t_ms": t, "kind": "alarm", "alarm": _name(_ALARMS, a),
                                 "state": "raised" if rec.code == EventCode.ALARM_RAISED else "cleared",
                                 "reservoir_estimated_ml": b / NL_PER_ML}
            return alarm
        case EventCode.LOW_ALARM_PREDICTION:
            # a = predicted time in whole seconds, -1 if never
            prediction: PredictionEvent = {"t_s": t_s, "t_ms": t, "kind": "prediction",
                                           "predicted_low_reservoir_t_s": None if a < 0 else float(a)}
            return prediction
        case EventCode.DELIVERY_STOPPED:
            stopped: DeliveryStoppedEvent = {"t_s": t_s, "t_ms": t, "kind": "delivery_stopped",
                                             "alarm": _name(_ALARMS, a)}
            return stopped
        case EventCode.REFILL:
            # a = estimate (nL), b = concentration (ng/mL)
            ev: RefillEvent = {"t_s": t_s, "t_ms": t, "kind": "refill", "entered_ml": a / NL_PER_ML,
                               "concentration_mg_per_ml": b / NG_PER_MG}
            if refill is not None:
                ev["reservoir_actual_ml"] = refill.volume_nl / NL_PER_ML
                ev["mixed_concentration_mg_per_ml"] = refill.conc_ng_per_nl  # ng/nL = mg/mL
            return ev
        case EventCode.REPROGRAM:
            # a = mode, b = daily dose (ng/day)
            reprogram: ReprogramEvent = {"t_s": t_s, "t_ms": t, "kind": "reprogram", "mode": _name(_MODES, a),
                                         "daily_dose_mg": b / NG_PER_MG}
            return reprogram
        case EventCode.COMMAND_REJECTED:
            rejected: RejectedEvent = {"t_s": t_s, "t_ms": t, "kind": "rejected", "reason": _name(_REASONS, a),
                                       "command": _name(_COMMANDS, b)}
            return rejected
        case EventCode.ALARM_THRESHOLD_SET:
            threshold: ThresholdEvent = {"t_s": t_s, "t_ms": t, "kind": "threshold", "low_reservoir_ml": a / NL_PER_ML}
            return threshold
        case EventCode.BOOT:
            boot: BootEvent = {"t_s": t_s, "t_ms": t, "kind": "boot", "firmware_version": a}
            return boot
    raw: LogEvent = {"t_s": t_s, "t_ms": t, "kind": "log", "code": int(rec.code), "a": a, "b": b}
    return raw
