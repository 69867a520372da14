"""Alarms: identities, priorities, the conditions that raise them, and the tones.

The wake-up steps here raise and clear the reservoir alarms from the estimate
(REQ-ALM-001, REQ-ALM-002) and let the highest-priority active alarm sound,
each alarm keeping its own repeat rhythm (REQ-ALM-004, REQ-ALM-005); see
docs/requirements.md. Alarms that stop delivery do so through the delivery
gate (:mod:`.gate`), which reads the active set.

Alarms the faults issues add (battery ERI / end of service, motor stall) are
one id and one :data:`PRIORITY` row each, raised by their own wake-up step with
:func:`set_alarm`; tone arbitration and repeats need no change.
"""

from __future__ import annotations

from typing import Final

from ._record import name_table
from ._units import PL_PER_NL
from .config import PumpConfig
from .eventlog import EventCode
from .state import NO_PREDICTION, FirmwareState
from .tones import CRITICAL_TONE, NON_CRITICAL_TONE, Priority, TonePattern


class AlarmId:
    """Alarms the controller can raise (ids start at 1: bit ``id - 1`` in an alarm mask)."""

    LOW_RESERVOIR: Final = 1
    EMPTY_RESERVOIR: Final = 2


#: Lowercase name of each :class:`AlarmId`, also the order alarms are listed in.
ALARM_NAMES: Final = name_table(AlarmId)

#: Priority of each alarm ([C] SynchroMed II: low reservoir non-critical, empty
#: reservoir critical; domain.md section 2.1).
PRIORITY: Final[dict[int, int]] = {
    AlarmId.LOW_RESERVOIR: Priority.NON_CRITICAL,
    AlarmId.EMPTY_RESERVOIR: Priority.CRITICAL,
}


def tone_for(alarm: int) -> TonePattern:
    """The tone pattern an alarm plays."""
    return CRITICAL_TONE if PRIORITY[alarm] == Priority.CRITICAL else NON_CRITICAL_TONE


def repeat_interval_ms(alarm: int, cfg: PumpConfig) -> int:
    """How long after one tone of *alarm* the next one is due."""
    if PRIORITY[alarm] == Priority.CRITICAL:
        return cfg.critical_tone_interval_ms
    return cfg.non_critical_tone_interval_ms


def set_alarm(s: FirmwareState, alarm: int, on: bool, now_ms: int, est_nl: int) -> None:
    """Raise or clear *alarm*, logging the change with the reservoir estimate *est_nl*.

    A raised alarm's first tone is due at once.
    """
    if on and alarm not in s.alarm_due_ms:
        s.alarm_due_ms[alarm] = now_ms
        s.log.append(now_ms, EventCode.ALARM_RAISED, alarm, est_nl)
    elif not on and alarm in s.alarm_due_ms:
        del s.alarm_due_ms[alarm]
        s.log.append(now_ms, EventCode.ALARM_CLEARED, alarm, est_nl)


def update_alarms(s: FirmwareState, now_ms: int) -> None:
    """Wake-up step: the reservoir alarms follow the estimate.

    REQ-ALM-001: low-reservoir alarm while the estimate is at or below the
    threshold. REQ-ALM-002: empty-reservoir alarm at or below the empty floor.
    """
    est_pl = s.estimate_pl()
    low = est_pl <= s.low_pl
    set_alarm(s, AlarmId.LOW_RESERVOIR, low, now_ms, est_pl // PL_PER_NL)
    set_alarm(s, AlarmId.EMPTY_RESERVOIR, est_pl <= s.floor_pl, now_ms, est_pl // PL_PER_NL)
    if low:
        s.predicted_low_ms = NO_PREDICTION  # raised: nothing left to predict


def sounding_alarm(active: dict[int, int]) -> int:
    """The active alarm that owns the sounder: highest priority, then lowest id (0 if none)."""
    top = 0
    for alarm in active:
        if top == 0 or PRIORITY[alarm] > PRIORITY[top] or (PRIORITY[alarm] == PRIORITY[top] and alarm < top):
            top = alarm
    return top


def sound_tones(s: FirmwareState, now_ms: int) -> None:
    """Wake-up step: REQ-ALM-004/005, each active alarm repeats its tone; only the highest priority sounds.

    Lower-priority alarms stay silent while a higher one is active, but keep
    their own rhythm so they resume on time once it clears.
    """
    top = sounding_alarm(s.alarm_due_ms)
    if top and s.alarm_due_ms[top] <= now_ms:
        pattern = tone_for(top)
        s.hal.sounder.play(pattern)
        s.log.append(now_ms, EventCode.TONE, top, pattern.priority)
    for alarm, due_ms in s.alarm_due_ms.items():
        if due_ms <= now_ms:
            s.alarm_due_ms[alarm] = now_ms + repeat_interval_ms(alarm, s.cfg)


def next_tone_ms(s: FirmwareState) -> int:
    """When the next tone of any active alarm is due, ms (-1 if no alarm is active)."""
    due = -1
    for t in s.alarm_due_ms.values():
        if due < 0 or t < due:
            due = t
    return due
