"""Motor scheduling: reading what the motor did, and programming what it does next.

At the start of a wake-up :func:`read_motor` reads the stroke counter and
carries the stroke timer's credit over; at the end :func:`schedule` programs
the motor up to the next decision and sets the RTC wake-up. In between, the
hardware stroke timer delivers the strokes it was programmed with, so a day
of therapy costs a handful of wake-ups, not one per stroke.

The controller wakes for things it must act on: a tone, a bolus edge it logs
(a patient bolus's end too), the stroke at which the estimate reaches an alarm threshold or a bridge or
priming bolus ends, and the daily housekeeping bound (``max_sleep_ms``).
Rate changes in between, such as flex-dosing steps, go into the stroke
timer's rate table instead of costing a wake-up each.

int64: a program spans at most ``max_sleep_ms`` <= 1 day, so its credit is at
most 10^11 pL/day x 8.64e7 ms = 8.64e18, plus the carried credit (< one
stroke cost, <= 8.64e14): below 2**63 - 1 = 9.22e18.
"""

from __future__ import annotations

from typing import Final

from ._units import ceil_div
from .alarms import AlarmId, next_tone_ms
from .boluses import count_bolus_strokes
from .hal import MotorProgram
from .prescription import PrescriptionMode
from .state import FirmwareState

#: Modes whose rate changes are bolus edges the controller logs, so it wakes for each.
LOGGED_EDGE_MODES: Final = (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS)


def read_motor(s: FirmwareState, now_ms: int) -> None:
    """First step of a wake-up: count the strokes delivered since the last one and carry the credit over."""
    count = s.hal.motor.stroke_count()
    delta = count - s.last_count
    s.last_count = count
    count_bolus_strokes(s, delta)
    prog = s.program
    if prog is None:
        return
    # Carry the credit even when the program fired no stroke: at low rates a
    # wake-up interval can be shorter than a stroke interval, and dropping
    # the partial stroke each time would under-deliver.
    credit = prog.credit_at(now_ms) - delta * s.stroke_cost
    # A stall would leave owed strokes; never deliver them as a burst.
    s.credit = min(max(credit, 0), s.stroke_cost - 1)


def stroke_limit(s: FirmwareState) -> int:
    """Strokes until the next stroke-counted decision (threshold, bridge or priming end); 0 for none.

    The estimate only falls between wake-ups, so the next threshold still
    above it (low, then the empty floor) is the nearer of the two.
    """
    limit = 0
    for n in (s.bridge_left, s.prime_left):
        if n > 0 and (limit == 0 or n < limit):
            limit = n
    est_pl = s.estimate_pl()
    over_pl = 0
    if est_pl > s.low_pl and AlarmId.LOW_RESERVOIR not in s.alarm_due_ms:
        over_pl = est_pl - s.low_pl
    elif est_pl > s.floor_pl and AlarmId.EMPTY_RESERVOIR not in s.alarm_due_ms:
        over_pl = est_pl - s.floor_pl
    if over_pl > 0:
        n = ceil_div(over_pl, s.cfg.stroke_volume_pl)
        if limit == 0 or n < limit:
            limit = n
    return limit


def schedule(s: FirmwareState, now_ms: int) -> int:
    """Last step of a wake-up: program the motor up to the next decision and set the RTC; returns the wake-up time."""
    t_wake = now_ms + s.cfg.max_sleep_ms
    tone_ms = next_tone_ms(s)
    if 0 <= tone_ms < t_wake:
        t_wake = tone_ms
    rate, later, t_wake, gain = _rate_plan(s, now_ms, t_wake)
    motor = s.hal.motor
    if rate == 0 and not later:
        motor.stop()
        s.program = None
        s.credit = 0
    else:
        strokes = (s.credit + gain) // s.stroke_cost
        limit = stroke_limit(s)
        if 0 < limit <= strokes:
            s.program = MotorProgram(now_ms, limit, rate, s.stroke_cost, s.credit, later)
            # Wake exactly at the stroke that reaches the limit (REQ-ALM-001:
            # the alarm sounds within one stroke of the threshold).
            t_wake = s.program.stroke_time_ms(limit)
        else:
            s.program = MotorProgram(now_ms, strokes, rate, s.stroke_cost, s.credit, later)
        motor.run(s.program)
    s.hal.rtc.set_wakeup(t_wake)
    return t_wake


def _rate_plan(s: FirmwareState, now_ms: int, t_wake: int) -> tuple[int, tuple[tuple[int, int], ...], int, int]:
    """The program from *now_ms*: (rate now, later rate-table rows, wake-up time, credit it accrues by then)."""
    if s.stop_mask:
        return 0, (), t_wake, 0
    if s.prime_left:
        rate = s.cfg.max_rate_pl_per_day
        return rate, (), t_wake, rate * (t_wake - now_ms)
    extra = 0
    if now_ms < s.ptm_end_ms:
        # A patient bolus runs on top of the therapy until its end, where the controller wakes to log it
        # (REQ-PTM-003; check_ptm keeps the sum within the maximum rate).
        extra = s.ptm_rate
        t_wake = min(t_wake, s.ptm_end_ms)
    th = s.therapy
    cap = s.cfg.max_rate_pl_per_day
    if th.rx.mode in LOGGED_EDGE_MODES:
        # Bolus edges are logged, so the controller wakes for each: one rate until then.
        rate, t_change = th.rate_at(now_ms)
        t_wake = min(t_wake, t_change)
        if extra:
            rate = min(rate + extra, cap)
        return rate, (), t_wake, rate * (t_wake - now_ms)
    rate, rows, gain = th.rate_rows(now_ms, t_wake)
    if extra:
        # Never above the maximum rate (check_ptm keeps the sum within it, except when a bridge bolus ends during
        # a patient bolus computed at the old concentration: then the bolus gives way).
        rate = min(rate + extra, cap)
        rows = [(t, min(r + extra, cap)) for t, r in rows]
        gain = _credit(now_ms, t_wake, rate, rows)
    return rate, tuple(rows), t_wake, gain


def _credit(t0_ms: int, t1_ms: int, rate: int, rows: list[tuple[int, int]]) -> int:
    """Credit a rate table accrues over [t0, t1): *rate* from t0, each row's rate from its time (<= 8.64e18)."""
    credit, t, r = 0, t0_ms, rate
    for t_row, r_row in rows:
        credit += r * (t_row - t)
        t, r = t_row, r_row
    return credit + r * (t1_ms - t)
