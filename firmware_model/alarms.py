"""Alarm identities, priorities and tone schedules.

Conditions are evaluated by the controller; this module says what each alarm
sounds like and how often it repeats (REQ-ALM-001..005 in docs/requirements.md).
"""

from __future__ import annotations

from enum import IntEnum

from .config import PumpConfig
from .tones import CRITICAL_TONE, NON_CRITICAL_TONE, Priority, TonePattern


class AlarmId(IntEnum):
    """Alarms the controller can raise."""

    LOW_RESERVOIR = 1
    EMPTY_RESERVOIR = 2


#: Priority of each alarm ([C] SynchroMed II: low reservoir non-critical, empty
#: reservoir critical; domain.md section 2.1).
PRIORITY: dict[AlarmId, Priority] = {
    AlarmId.LOW_RESERVOIR: Priority.NON_CRITICAL,
    AlarmId.EMPTY_RESERVOIR: Priority.CRITICAL,
}


def tone_for(alarm: AlarmId) -> TonePattern:
    """The tone pattern an alarm plays."""
    return CRITICAL_TONE if PRIORITY[alarm] is Priority.CRITICAL else NON_CRITICAL_TONE


def repeat_interval_ms(alarm: AlarmId, cfg: PumpConfig) -> int:
    """How long after one tone of *alarm* the next one is due."""
    if PRIORITY[alarm] is Priority.CRITICAL:
        return cfg.critical_tone_interval_ms
    return cfg.non_critical_tone_interval_ms
