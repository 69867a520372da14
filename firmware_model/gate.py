"""The delivery gate: the one place that decides whether the motor may deliver.

Delivery stops while any alarm in :data:`STOPPING_ALARMS` is active
(REQ-ALM-003: the empty-reservoir alarm stops the motor, rate 0, not the
minimum rate). The gate remembers which alarms hold it in
``FirmwareState.stop_mask`` (bit ``AlarmId - 1`` each), logs
``DELIVERY_STOPPED`` once per alarm that starts holding it, and cancels a
priming bolus that delivery stopping cuts off (REQ-RX-008). The scheduler
(:mod:`.delivery`) programs no strokes while the mask is non-zero.

Where the faults and safety issues plug in: motor stall and battery end of
service are new alarm ids added to :data:`STOPPING_ALARMS`; a battery-fault
minimum rate or a drug-library hard limit that *limits* rather than stops
delivery becomes a rate cap held here with its reason, which the scheduler
applies to the rate table it programs.
"""

from __future__ import annotations

from typing import Final

from .alarms import AlarmId
from .eventlog import EventCode
from .state import FirmwareState

#: Alarms that stop delivery while they are active.
STOPPING_ALARMS: Final = (AlarmId.EMPTY_RESERVOIR,)


def gate_delivery(s: FirmwareState, now_ms: int) -> None:
    """Wake-up step (after the alarms): hold or release delivery for each stopping alarm."""
    for alarm in STOPPING_ALARMS:
        bit = 1 << (alarm - 1)
        held = alarm in s.alarm_due_ms
        if held and not s.stop_mask & bit:
            s.stop_mask |= bit
            s.log.append(now_ms, EventCode.DELIVERY_STOPPED, alarm, 0)
            s.prime_left = 0  # REQ-RX-008: a priming bolus cut off by a stop is cancelled
        elif not held and s.stop_mask & bit:
            s.stop_mask &= ~bit


def delivery_stopped(s: FirmwareState) -> bool:
    """True while any alarm holds delivery stopped."""
    return s.stop_mask != 0
