"""The rate schedule a prescription produces once it runs.

A :class:`Therapy` binds a :class:`~firmware_model.prescription.Prescription`
to the concentration in the pump and to the time it took effect, and answers
the two questions the controller asks at every wake-up: *what volume rate
now?* and *when does that change?*
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Final

from ._record import Record
from ._units import MS_PER_DAY, rate_pl_per_day_from_dose
from .prescription import Prescription, PrescriptionMode, bolus_rate_pl_per_day


class Therapy(Record):
    """A prescription bound to a concentration and the time it took effect.

    Build one only for a prescription :func:`~firmware_model.check_prescription`
    accepts at *conc_ng_per_ml*: every rate is then at most the pump's
    maximum rate (<= 10^11 pL/day). All rates are computed here, once, in
    pL/day.
    """

    __slots__ = (
        "_basal",
        "_bolus",
        "_step_rates",
        "_step_starts",
        "conc_ng_per_ml",
        "min_rate_pl_per_day",
        "rx",
        "start_ms",
    )
    __match_args__ = ("rx", "conc_ng_per_ml", "start_ms", "min_rate_pl_per_day")

    def __init__(self, rx: Prescription, conc_ng_per_ml: int, start_ms: int, min_rate_pl_per_day: int) -> None:
        self.rx: Final = rx
        self.conc_ng_per_ml: Final = conc_ng_per_ml
        self.start_ms: Final = start_ms
        self.min_rate_pl_per_day: Final = min_rate_pl_per_day
        mode = rx.mode
        basal = 0
        if mode in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS):
            basal = rate_pl_per_day_from_dose(rx.dose_ng_per_day, conc_ng_per_ml)
        elif mode in (PrescriptionMode.STOPPED, PrescriptionMode.SINGLE_BOLUS):
            basal = min_rate_pl_per_day
        bolus = 0
        if mode in (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS):
            bolus = bolus_rate_pl_per_day(rx, conc_ng_per_ml)
        #: Basal rate (the minimum rate for STOPPED and after a single bolus), pL/day.
        self._basal: Final = basal
        #: Extra rate during a bolus window, pL/day.
        self._bolus: Final = bolus
        #: Flex steps: start times of day and rates, pL/day.
        self._step_starts: Final = tuple(s.start_ms for s in rx.steps)
        self._step_rates: Final = tuple(rate_pl_per_day_from_dose(s.dose_ng_per_day, conc_ng_per_ml) for s in rx.steps)

    def bolus_window(self, t_ms: int) -> tuple[int, int] | None:
        """The bolus window [start, end) containing *t_ms*, or None."""
        rx = self.rx
        if rx.mode == PrescriptionMode.SINGLE_BOLUS:
            end = self.start_ms + rx.bolus_duration_ms
            return (self.start_ms, end) if self.start_ms <= t_ms < end else None
        if rx.mode == PrescriptionMode.PERIODIC_BOLUS:
            phase = (t_ms - rx.bolus_start_ms) % rx.bolus_interval_ms
            if phase < rx.bolus_duration_ms:
                start = t_ms - phase
                return (start, start + rx.bolus_duration_ms)
        return None

    def rate_at(self, t_ms: int) -> tuple[int, int]:
        """(rate in pL/day, time of the next rate change) at *t_ms*.

        The next change is strictly later than *t_ms*; for a constant rate it
        is one day later (the caller wakes at least that often anyway). It is
        at most 7 days later (a periodic bolus interval).
        """
        rx = self.rx
        m = rx.mode
        if m == PrescriptionMode.FLEX:
            tod = t_ms % MS_PER_DAY
            day0 = t_ms - tod
            starts = self._step_starts
            i = bisect_right(starts, tod) - 1
            nxt = day0 + (starts[i + 1] if i + 1 < len(starts) else MS_PER_DAY)
            return self._step_rates[i], nxt
        if m == PrescriptionMode.SINGLE_BOLUS:
            end = self.start_ms + rx.bolus_duration_ms
            if self.start_ms <= t_ms < end:
                return self._bolus, end
            return self._basal, t_ms + MS_PER_DAY
        if m == PrescriptionMode.PERIODIC_BOLUS:
            phase = (t_ms - rx.bolus_start_ms) % rx.bolus_interval_ms
            if phase < rx.bolus_duration_ms:
                return self._basal + self._bolus, t_ms - phase + rx.bolus_duration_ms
            return self._basal, t_ms - phase + rx.bolus_interval_ms
        return self._basal, t_ms + MS_PER_DAY

    def rate_rows(self, t0_ms: int, t1_ms: int) -> tuple[int, list[tuple[int, int]], int]:
        """The stroke-timer rate table for [t0, t1): (rate at t0, later (time, rate) rows, credit).

        *credit* is the volume the table accrues over the interval, in the
        timer's units (pL x ms / day); int64 for an interval of at most a day
        (10^11 pL/day x 8.64e7 ms). Rows are listed only where the rate changes.
        """
        if self.rx.mode == PrescriptionMode.FLEX:
            return self._flex_rows(t0_ms, t1_ms)
        rate0, t = self.rate_at(t0_ms)
        rows: list[tuple[int, int]] = []
        credit = rate0 * (min(t, t1_ms) - t0_ms)
        cur = rate0
        while t < t1_ms:
            r, nxt = self.rate_at(t)
            nxt = min(nxt, t1_ms)
            if r != cur:
                rows.append((t, r))
                cur = r
            credit += r * (nxt - t)
            t = nxt
        return rate0, rows, credit

    def _flex_rows(self, t0_ms: int, t1_ms: int) -> tuple[int, list[tuple[int, int]], int]:
        """:meth:`rate_rows` for FLEX, walking the step table from step to step.

        The same table :meth:`rate_at` would give, without a search per step:
        this runs at every wake-up of a flex pump (half the cost of a wake-up).
        """
        starts, rates = self._step_starts, self._step_rates
        day0 = t0_ms - t0_ms % MS_PER_DAY
        i = bisect_right(starts, t0_ms - day0) - 1
        rate0 = cur = rates[i]
        rows: list[tuple[int, int]] = []
        credit = 0
        t = t0_ms
        while True:
            i += 1
            if i == len(starts):  # past the last step: the first step of the next day
                i = 0
                day0 += MS_PER_DAY
            nxt = day0 + starts[i]
            if nxt >= t1_ms:
                return rate0, rows, credit + cur * (t1_ms - t)
            credit += cur * (nxt - t)
            t = nxt
            if rates[i] != cur:
                cur = rates[i]
                rows.append((t, cur))
