"""The command path: telemetry commands checked, then applied or refused.

:func:`handle_commands` drains the telemetry inbox at a wake-up. Each command
goes to the handler its ``kind`` names in :data:`COMMAND_PATH`; a handler
validates the command against the pump's state and either applies it or
returns a :class:`~firmware_model.rejection.Rejection`, in which case
``COMMAND_REJECTED`` is logged (reason, command kind) and nothing changes.
An accepted command sets ``replan`` so the low-reservoir prediction is redone.

The checks of a refill or a reprogram, in order: capacity, deliverability
(:func:`~firmware_model.prescription.check_prescription`), the patient
bolus on top (:func:`~firmware_model.ptm.check_ptm`), then the drug library
(:func:`~firmware_model.druglib.check_limits`, REQ-LIM-001/002); only then
does anything change (REQ-LIM-003). A patient's press is the row
``PATIENT_BOLUS`` (:func:`~firmware_model.ptm.press`): it is always handled,
granted or refused, and changes the schedule only when granted.

Where the safety issues plug in: telemetry authentication (HMAC, counter,
roles) is a check in :func:`handle_commands` before dispatch, refusing with
its own reason (a patient's device may send only
:data:`~firmware_model.commands.PATIENT_ROLE_COMMANDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ._units import PL_PER_NL
from .boluses import cancel_bridge, start_bridge, start_priming
from .commands import (
    COMMAND_NAMES,
    CommandKind,
    PatientBolus,
    PrimingBolus,
    Refill,
    Reprogram,
    SetLowReservoirThreshold,
)
from .druglib import check_limits, note_step
from .eventlog import EventCode
from .prescription import Prescription, check_prescription
from .ptm import check_ptm, press
from .rejection import FieldId, Rejection, RejectReason
from .state import FirmwareState
from .therapy import Therapy

#: A handler applies one command, or returns why it refuses it (changing nothing).
Handler = Callable[[FirmwareState, Any, int], "Rejection | None"]


def handle_commands(s: FirmwareState, now_ms: int) -> None:
    """Apply every command waiting in the telemetry inbox, in order."""
    while (cmd := s.hal.inbox.receive()) is not None:
        handle_command(s, cmd, now_ms)


def handle_command(s: FirmwareState, cmd: object, now_ms: int) -> None:
    """Apply *cmd* or log why it is refused (an object that is no known command is refused too)."""
    kind = getattr(cmd, "kind", 0)
    if type(kind) is not int:
        kind = 0
    entry = COMMAND_PATH.get(kind)
    if entry is None or not isinstance(cmd, entry[0]):
        rej: Rejection | None = Rejection(RejectReason.BAD_VALUE, FieldId.COMMAND, kind, 1, max(COMMAND_NAMES))
    else:
        rej = entry[1](s, cmd, now_ms)
    if rej is not None:
        s.log.append(now_ms, EventCode.COMMAND_REJECTED, rej.reason, kind)
    elif kind != CommandKind.PATIENT_BOLUS:  # a press re-plans itself, when granted
        s.replan = True


def _target(s: FirmwareState) -> tuple[Prescription, int]:
    """The program that applies once any bridge has finished."""
    if s.bridge_to is not None:
        return s.bridge_to
    return s.therapy.rx, s.therapy.conc_ng_per_ml


def _refill(s: FirmwareState, cmd: Refill, now_ms: int) -> Rejection | None:
    cfg = s.cfg
    if not 0 < cmd.reservoir_nl <= cfg.reservoir_capacity_nl:
        reason = RejectReason.VOLUME_ABOVE_CAPACITY if cmd.reservoir_nl > 0 else RejectReason.BAD_VALUE
        return Rejection(reason, FieldId.RESERVOIR, cmd.reservoir_nl, 1, cfg.reservoir_capacity_nl)
    rx, conc = _target(s)
    new_rx = cmd.rx if cmd.rx is not None else rx
    rej = check_prescription(new_rx, cmd.conc_ng_per_ml, cfg)
    if rej is None:
        rej = check_ptm(s.ptm, new_rx, cmd.conc_ng_per_ml, cfg)
    if rej is None:
        rej = check_limits(s, new_rx, cmd.conc_ng_per_ml, cmd.confirm, rx, now_ms)
    if rej is not None:
        return rej  # REQ-LIM-003: nothing has changed
    note_step(s, new_rx, rx, now_ms)
    s.est_base_pl = cmd.reservoir_nl * PL_PER_NL
    s.count_base = s.hal.motor.stroke_count()
    s.log.append(now_ms, EventCode.REFILL, cmd.reservoir_nl, cmd.conc_ng_per_ml)
    if cmd.conc_ng_per_ml != conc and cmd.bridge and cfg.dead_volume_nl > 0:
        # REQ-RX-005: keep the old program (old dose at the old concentration)
        # running until the old drug in the dead volume has been delivered.
        start_bridge(s, new_rx, cmd.conc_ng_per_ml, now_ms)
    elif s.bridge_to is not None and cmd.conc_ng_per_ml == conc and cmd.bridge:
        # The same new drug again while its bridge runs: the old drug is
        # still in the line, so the bridge carries on.
        s.bridge_to = (new_rx, cmd.conc_ng_per_ml)
    else:
        # Any other refill cancels a pending bridge: what the clinician
        # entered last is what the reservoir holds (REQ-RX-006).
        cancel_bridge(s, now_ms)
        s.switch_therapy(new_rx, cmd.conc_ng_per_ml, now_ms)
    if cmd.rx is not None:
        s.log.append(now_ms, EventCode.REPROGRAM, new_rx.mode, new_rx.daily_dose_ng())
    return None


def _reprogram(s: FirmwareState, cmd: Reprogram, now_ms: int) -> Rejection | None:
    rx = cmd.rx
    old_rx, conc = _target(s)
    th = s.therapy
    rej = check_prescription(rx, conc, s.cfg)
    if rej is None:
        rej = check_ptm(s.ptm, rx, conc, s.cfg)
    if rej is None and s.bridge_to is not None:
        # REQ-RX-009: during a bridge the new prescription first runs at the old concentration.
        rej = check_prescription(rx, th.conc_ng_per_ml, s.cfg)
        if rej is None:
            rej = check_ptm(s.ptm, rx, th.conc_ng_per_ml, s.cfg)
    if rej is None:
        rej = check_limits(s, rx, conc, cmd.confirm, old_rx, now_ms)
    if rej is not None:
        return rej  # REQ-LIM-003: nothing has changed
    note_step(s, rx, old_rx, now_ms)
    if s.bridge_to is not None:
        # REQ-RX-009: a reprogram takes effect now, also during a bridge: the
        # new prescription runs at the old concentration until the old drug
        # is through, then at the new one.
        s.bridge_to = (rx, conc)
        s.therapy = Therapy(rx, th.conc_ng_per_ml, now_ms, s.cfg.min_rate_pl_per_day)
    else:
        s.therapy = Therapy(rx, conc, now_ms, s.cfg.min_rate_pl_per_day)
    s.log.append(now_ms, EventCode.REPROGRAM, rx.mode, rx.daily_dose_ng())
    return None


def _priming(s: FirmwareState, cmd: PrimingBolus, now_ms: int) -> Rejection | None:
    est_pl = s.estimate_pl()
    if est_pl <= s.floor_pl:
        # REQ-RX-008: nothing to prime with while the reservoir is empty; an
        # accepted request would fire, unasked, at the next refill.
        return Rejection(RejectReason.BAD_VALUE, FieldId.PRIMING_BOLUS, est_pl // PL_PER_NL,
                         s.cfg.empty_floor_nl, s.cfg.reservoir_capacity_nl)
    start_priming(s, now_ms)
    return None


def _set_threshold(s: FirmwareState, cmd: SetLowReservoirThreshold, now_ms: int) -> Rejection | None:
    cfg = s.cfg
    if not cfg.empty_floor_nl <= cmd.threshold_nl <= cfg.reservoir_capacity_nl:
        return Rejection(RejectReason.BAD_VALUE, FieldId.LOW_RESERVOIR_ALARM, cmd.threshold_nl,
                         cfg.empty_floor_nl, cfg.reservoir_capacity_nl)
    s.low_nl = cmd.threshold_nl
    s.low_pl = cmd.threshold_nl * PL_PER_NL
    s.log.append(now_ms, EventCode.ALARM_THRESHOLD_SET, cmd.threshold_nl, 0)
    return None


#: Each command kind, the record class it arrives as, and its handler. A new
#: command is one more row.
COMMAND_PATH: Final[dict[int, tuple[type, Handler]]] = {
    CommandKind.REFILL: (Refill, _refill),
    CommandKind.REPROGRAM: (Reprogram, _reprogram),
    CommandKind.PRIMING_BOLUS: (PrimingBolus, _priming),
    CommandKind.SET_LOW_RESERVOIR: (SetLowReservoirThreshold, _set_threshold),
    CommandKind.PATIENT_BOLUS: (PatientBolus, press),
}
