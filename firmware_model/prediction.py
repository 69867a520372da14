"""Low-reservoir prediction: when will the low-reservoir alarm sound if nothing changes?

The prediction walks the schedule forward with the same integer stroke-timer
arithmetic the motor uses (priming, then the bridge under the old program,
then the target program), so it is exact to the millisecond. It is redone when
a command changes the schedule and logged as ``LOW_ALARM_PREDICTION`` (in
whole seconds).

int64: the walk works in stroke-timer credit (pL x ms/day). The most it ever
needs is the credit of the strokes down to the threshold, at most ``(100 mL +
one stroke) x 8.64e7 ms/day`` = 8.65e18 < 2**63. A segment's credit is formed
only when it is below what is still needed (otherwise the time it takes is
found by division), so no product exceeds that either, whatever the segment
length (a periodic bolus interval may be a week). Every rate is >= 1 pL/day,
so the predicted time is at most now + 8.65e18 ms.
"""

from __future__ import annotations

from ._units import MS_PER_DAY, MS_PER_S, ceil_div
from .alarms import AlarmId
from .eventlog import EventCode
from .prescription import PrescriptionMode
from .state import NO_PREDICTION, FirmwareState
from .therapy import Therapy


def update_prediction(s: FirmwareState, now_ms: int) -> None:
    """Wake-up step: re-predict and log the low-reservoir alarm time after the schedule changed."""
    if not s.replan:
        return
    s.replan = False
    s.predicted_low_ms = predict_low_alarm(s, now_ms)
    pred_s = -1 if s.predicted_low_ms == NO_PREDICTION else s.predicted_low_ms // MS_PER_S
    s.log.append(now_ms, EventCode.LOW_ALARM_PREDICTION, pred_s, 0)


def predict_low_alarm(s: FirmwareState, now_ms: int) -> int:
    """Time the low-reservoir alarm will be raised if nothing changes, ms.

    NO_PREDICTION if the alarm is already active, delivery is stopped or the
    threshold is never reached.
    """
    if s.stop_mask or AlarmId.LOW_RESERVOIR in s.alarm_due_ms:
        return NO_PREDICTION
    est_pl = s.estimate_pl()
    if est_pl <= s.low_pl:
        return NO_PREDICTION
    cfg, cost = s.cfg, s.stroke_cost
    strokes = ceil_div(est_pl - s.low_pl, cfg.stroke_volume_pl)  # to the threshold
    t, credit = now_ms, s.credit
    if s.prime_left:
        p = min(s.prime_left, strokes)
        t = t + ceil_div(p * cost - credit, cfg.max_rate_pl_per_day)
        credit = credit + cfg.max_rate_pl_per_day * (t - now_ms) - p * cost
        strokes -= p
        if strokes == 0:
            return t
    th = s.therapy
    # A patient bolus running adds its rate until its end, whichever program runs (REQ-PTM-003).
    ptm = (s.ptm_end_ms, s.ptm_rate, cfg.max_rate_pl_per_day) if now_ms < s.ptm_end_ms else _NO_PTM
    if s.bridge_to is not None:
        bridge = s.bridge_left - s.prime_left
        t_switch = t
        if bridge > 0:
            b = min(bridge, strokes)
            t, credit = _walk(th, t, b * cost - credit, ptm)
            if t == NO_PREDICTION:
                return NO_PREDICTION
            strokes -= b
            if strokes == 0:
                return t
            t_switch = t
        elif s.prime_left:
            # The bridge ended inside the priming bolus, at its bridge_left-th stroke.
            t_switch = now_ms + ceil_div(s.bridge_left * cost - s.credit, cfg.max_rate_pl_per_day)
        rx, conc = s.bridge_to
        # As FirmwareState.switch_therapy: the same prescription continues its program.
        th = Therapy(rx, conc, th.start_ms if rx == th.rx else t_switch, cfg.min_rate_pl_per_day)
    return _walk(th, t, strokes * cost - credit, ptm)[0]


#: No patient bolus running: (end, rate, cap).
_NO_PTM = (0, 0, 0)


def _walk_segments(th: Therapy, t: int, need: int, t_stop: int, extra: int = 0,
                   cap: int = 0) -> tuple[int, int, int]:
    """Accrue credit along *th* (plus *extra* pL/day, at most *cap* in all) from *t* until *need* is met or
    *t_stop* is reached (the delivery plan's arithmetic).

    Returns (t, need left, leftover credit). When met (need left == 0), *t* is
    the first millisecond at which the accrued credit reaches *need*;
    otherwise *t* is *t_stop* and the leftover is 0.
    """
    while t < t_stop:
        rate, nxt = th.rate_at(t)
        if extra:
            rate = min(rate + extra, cap)
        nxt = min(nxt, t_stop)
        if rate > 0:
            dt = ceil_div(need, rate)  # time this rate takes to meet the need
            if dt <= nxt - t:
                return t + dt, 0, rate * dt - need
            need -= rate * (nxt - t)  # less than need: within int64
        t = nxt
    return t, need, 0


def _walk(th: Therapy, t: int, need: int, ptm: tuple[int, int, int] = _NO_PTM) -> tuple[int, int]:
    """(time, leftover credit) when *need* credit has accrued along *th*; (NO_PREDICTION, 0) if never.

    *ptm* = (end, rate, cap): a patient bolus adds *rate* until *end*, the sum at most *cap*.
    """
    if need <= 0:
        return t, -need
    ptm_end, ptm_rate, cap = ptm
    if t < ptm_end:
        t, need, left = _walk_segments(th, t, need, ptm_end, ptm_rate, cap)
        if need == 0:
            return t, left
    rx = th.rx
    if rx.mode == PrescriptionMode.SINGLE_BOLUS:
        end = th.start_ms + rx.bolus_duration_ms
        if t < end:
            t, need, left = _walk_segments(th, t, need, end)
            if need == 0:
                return t, left
    # From here the schedule is periodic. Walk one period; if that is not
    # enough, skip the whole periods still needed arithmetically (a years-long
    # prediction costs a few dozen steps, not one per segment), then walk the
    # last, partial period.
    period = rx.bolus_interval_ms if rx.mode == PrescriptionMode.PERIODIC_BOLUS else MS_PER_DAY
    start_need = need
    t, need, left = _walk_segments(th, t, need, t + period)
    if need == 0:
        return t, left
    per_period = start_need - need  # credit accrued over one whole period
    if per_period <= 0:
        return NO_PREDICTION, 0
    skip = (need - 1) // per_period
    t += skip * period
    need -= skip * per_period
    t, need, left = _walk_segments(th, t, need, t + period)
    return (t, left) if need == 0 else (NO_PREDICTION, 0)
