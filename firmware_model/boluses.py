"""Bolus phases: the bridge and priming boluses, and the logged bolus windows.

Bridge and priming boluses are counted in strokes: ``ceil(dead volume /
stroke volume)`` of them. A **priming bolus** runs at the maximum rate until
its strokes are done. A **bridge bolus** (REQ-RX-005) keeps the old program
running after a refill with a new concentration until the old drug in the dead
volume has been pushed out, then switches to the new program. Periodic and
single boluses are part of the prescription (:class:`~firmware_model.therapy.Therapy`);
this room only logs when their windows open and close.

The patient-activated bolus (PTM) has its own room, :mod:`.ptm`: a time
window on top of the therapy, started from the command path and ended by its
own wake-up step.
"""

from __future__ import annotations

from typing import Final

from ._record import name_table
from ._units import PL_PER_NL, ceil_div
from .eventlog import EventCode
from .prescription import Prescription, PrescriptionMode
from .state import FirmwareState


class BolusKind:
    """Kinds of bolus, as logged with BOLUS_START / BOLUS_END."""

    PERIODIC: Final = 1
    SINGLE: Final = 2
    PRIMING: Final = 3
    BRIDGE: Final = 4
    PATIENT: Final = 5  # a patient-activated bolus (firmware_model.ptm)


#: Lowercase name of each :class:`BolusKind`.
BOLUS_NAMES: Final = name_table(BolusKind)


def dead_volume_strokes(s: FirmwareState) -> int:
    """Strokes that push the dead volume through: ceil(dead volume / stroke volume)."""
    return ceil_div(s.cfg.dead_volume_nl * PL_PER_NL, s.cfg.stroke_volume_pl)


def count_bolus_strokes(s: FirmwareState, strokes: int) -> None:
    """*strokes* delivered since the last wake-up count down the running boluses."""
    if s.prime_left:
        s.prime_left = max(0, s.prime_left - strokes)
    if s.bridge_left:
        s.bridge_left = max(0, s.bridge_left - strokes)


def start_priming(s: FirmwareState, now_ms: int) -> None:
    """Start (or restart) a priming bolus: the dead volume at the maximum rate."""
    s.prime_left = dead_volume_strokes(s)
    if s.prime_left and not s.priming_open:
        s.priming_open = True
        s.log.append(now_ms, EventCode.BOLUS_START, BolusKind.PRIMING, s.cfg.dead_volume_nl)


def start_bridge(s: FirmwareState, rx: Prescription, conc_ng_per_ml: int, now_ms: int) -> None:
    """REQ-RX-005: keep the program in force until the dead volume is through, then run *rx* at *conc*."""
    if s.bridge_to is not None:  # a bridge still running is superseded
        s.log.append(now_ms, EventCode.BOLUS_END, BolusKind.BRIDGE, 0)
    s.bridge_to = (rx, conc_ng_per_ml)
    s.bridge_left = dead_volume_strokes(s)
    s.log.append(now_ms, EventCode.BOLUS_START, BolusKind.BRIDGE, s.cfg.dead_volume_nl)


def cancel_bridge(s: FirmwareState, now_ms: int) -> None:
    """End a running bridge without switching (its end is logged with no volume)."""
    if s.bridge_to is not None:
        s.log.append(now_ms, EventCode.BOLUS_END, BolusKind.BRIDGE, 0)
        s.bridge_to = None
        s.bridge_left = 0


def finish_boluses(s: FirmwareState, now_ms: int) -> None:
    """Wake-up step: end the bridge and priming boluses whose strokes are done."""
    dead_nl = s.cfg.dead_volume_nl
    if s.bridge_to is not None and s.bridge_left == 0:
        rx, conc = s.bridge_to
        s.bridge_to = None
        s.switch_therapy(rx, conc, now_ms)
        s.log.append(now_ms, EventCode.BOLUS_END, BolusKind.BRIDGE, dead_nl)
    if s.priming_open and s.prime_left == 0:
        s.priming_open = False
        s.log.append(now_ms, EventCode.BOLUS_END, BolusKind.PRIMING, dead_nl)


def log_bolus_window(s: FirmwareState, now_ms: int) -> None:
    """Wake-up step: log a periodic or single bolus window opening or closing.

    A window does not count as open while delivery is stopped or a priming
    bolus runs (the motor does not deliver it then).
    """
    th = s.therapy
    window = None if s.stop_mask or s.prime_left else th.bolus_window(now_ms)
    if window == s.window:
        return
    if s.window is not None:
        # The kind of the window that closes, even if the mode has changed since.
        s.log.append(now_ms, EventCode.BOLUS_END, s.window_kind, 0)
    if window is not None:
        single = th.rx.mode == PrescriptionMode.SINGLE_BOLUS
        s.window_kind = BolusKind.SINGLE if single else BolusKind.PERIODIC
        s.log.append(now_ms, EventCode.BOLUS_START, s.window_kind, 0)
    s.window = window
