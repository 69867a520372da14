"""Prescriptions and the rate schedule they produce.

A :class:`Prescription` is what the clinician programs, in dose units (ng/day,
ng per bolus); a :class:`Therapy` binds it to the concentration in the pump and
to the time it was programmed, and answers the two questions the controller
asks at every wake-up: *what volume rate now?* and *when does that change?*

Dose-based programming follows SynchroMed practice: the programmer stores the
dose and computes the rate from dose / concentration ([C] functionalneuro
.surgery, domain.md section 3). So when the concentration changes at a refill,
the dose is kept and the rate follows.

Time of day is counted from the simulation epoch, which is midnight.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import IntEnum

from ._units import MS_PER_DAY, PL_PER_ML, rate_pl_per_day_from_dose, volume_pl_from_mass
from .config import MAX_FLEX_STEPS, PumpConfig


class PrescriptionMode(IntEnum):
    """Infusion modes ([C] functionalneuro.surgery; periodic bolus [U] name)."""

    STOPPED = 0  # minimum rate only
    CONTINUOUS = 1  # constant dose rate
    FLEX = 2  # time-of-day steps, repeating daily
    PERIODIC_BOLUS = 3  # constant basal plus a bolus every interval
    SINGLE_BOLUS = 4  # one bolus, then stopped (minimum rate)


@dataclass(frozen=True, slots=True)
class FlexStep:
    """A flex-dosing step: from *start_ms* (time of day) the dose rate is *dose_ng_per_day*."""

    start_ms: int
    dose_ng_per_day: int


@dataclass(frozen=True, slots=True)
class Prescription:
    """A programmed prescription in dose units. Validated structurally at construction.

    Whether the resulting rates are deliverable depends on the concentration and
    the pump, so that is checked separately by :func:`check_prescription`.
    """

    mode: PrescriptionMode
    #: Basal dose rate for CONTINUOUS and PERIODIC_BOLUS, ng/day.
    dose_ng_per_day: int = 0
    #: Steps for FLEX, sorted by start; the first starts at 00:00.
    steps: tuple[FlexStep, ...] = ()
    #: Bolus dose for PERIODIC_BOLUS and SINGLE_BOLUS, ng.
    bolus_ng: int = 0
    #: Time over which a bolus is delivered, ms.
    bolus_duration_ms: int = 0
    #: Time between bolus starts for PERIODIC_BOLUS, ms.
    bolus_interval_ms: int = 0
    #: Time of day of the first periodic bolus, ms after midnight.
    bolus_start_ms: int = 0

    def __post_init__(self) -> None:
        m = self.mode
        if self.dose_ng_per_day < 0:
            raise ValueError(f"dose_ng_per_day = {self.dose_ng_per_day}: expected >= 0 ng/day")
        if m in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS) and self.dose_ng_per_day <= 0:
            raise ValueError(f"dose_ng_per_day = {self.dose_ng_per_day}: expected > 0 ng/day")
        if m is PrescriptionMode.FLEX:
            if not 1 <= len(self.steps) <= MAX_FLEX_STEPS:
                raise ValueError(
                    f"steps: {len(self.steps)} given, expected 1..{MAX_FLEX_STEPS} flex steps"
                )
            if self.steps[0].start_ms != 0:
                raise ValueError(
                    f"steps[0].start_ms = {self.steps[0].start_ms}: the first step must start at 00:00"
                )
            for i, (a, b) in enumerate(zip(self.steps, self.steps[1:], strict=False)):
                if not a.start_ms < b.start_ms:
                    raise ValueError(
                        f"steps[{i + 1}].start_ms = {b.start_ms}: steps must be in increasing time order"
                    )
            for i, s in enumerate(self.steps):
                if not 0 <= s.start_ms < MS_PER_DAY:
                    raise ValueError(f"steps[{i}].start_ms = {s.start_ms}: expected 0..{MS_PER_DAY - 1} ms")
                if s.dose_ng_per_day <= 0:
                    raise ValueError(f"steps[{i}].dose_ng_per_day = {s.dose_ng_per_day}: expected > 0 ng/day")
        elif self.steps:
            raise ValueError(f"steps: only a flex prescription has steps (mode is {m.name})")
        if m in (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS):
            if self.bolus_ng <= 0:
                raise ValueError(f"bolus_ng = {self.bolus_ng}: expected > 0 ng")
            if self.bolus_duration_ms <= 0:
                raise ValueError(f"bolus_duration_ms = {self.bolus_duration_ms}: expected > 0 ms")
        if m is PrescriptionMode.PERIODIC_BOLUS:
            if self.bolus_interval_ms <= self.bolus_duration_ms:
                raise ValueError(
                    f"bolus_interval_ms = {self.bolus_interval_ms}: expected longer than "
                    f"bolus_duration_ms = {self.bolus_duration_ms}"
                )
            if not 0 <= self.bolus_start_ms < MS_PER_DAY:
                raise ValueError(f"bolus_start_ms = {self.bolus_start_ms}: expected 0..{MS_PER_DAY - 1} ms")

    def daily_dose_ng(self) -> int:
        """Nominal dose over one day, ng (flex: the sum of its steps)."""
        m = self.mode
        if m is PrescriptionMode.CONTINUOUS:
            return self.dose_ng_per_day
        if m is PrescriptionMode.FLEX:
            total = 0
            ends = [s.start_ms for s in self.steps[1:]] + [MS_PER_DAY]
            for s, end in zip(self.steps, ends, strict=True):
                total += s.dose_ng_per_day * (end - s.start_ms)
            return total // MS_PER_DAY
        if m is PrescriptionMode.PERIODIC_BOLUS:
            return self.dose_ng_per_day + self.bolus_ng * MS_PER_DAY // self.bolus_interval_ms
        return 0


class RejectReason(IntEnum):
    """Why the controller refused a command (logged with COMMAND_REJECTED)."""

    RATE_TOO_HIGH = 1
    RATE_TOO_LOW = 2
    VOLUME_ABOVE_CAPACITY = 3
    BAD_CONCENTRATION = 4
    BAD_VALUE = 5


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused command: *reason*, the *field* at fault and a readable *message*."""

    reason: RejectReason
    field: str
    message: str


def check_prescription(rx: Prescription, conc_ng_per_ml: int, cfg: PumpConfig) -> Rejection | None:
    """Check that *rx* at *conc_ng_per_ml* is deliverable by a pump configured as *cfg*.

    Every basal rate must lie within [min rate, max rate] and basal plus bolus
    rate must not exceed the max rate (REQ-RX-002). Returns None when the
    prescription is deliverable, otherwise the first :class:`Rejection`.
    """
    if conc_ng_per_ml <= 0:
        return Rejection(RejectReason.BAD_CONCENTRATION, "concentration", f"{conc_ng_per_ml} ng/mL is not > 0")
    lo, hi = cfg.min_rate_pl_per_day, cfg.max_rate_pl_per_day
    basal: list[tuple[str, int]] = []
    if rx.mode in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS):
        basal.append(("dose", rate_pl_per_day_from_dose(rx.dose_ng_per_day, conc_ng_per_ml)))
    for i, s in enumerate(rx.steps):
        basal.append((f"steps[{i}].dose", rate_pl_per_day_from_dose(s.dose_ng_per_day, conc_ng_per_ml)))
    for name, rate in basal:
        if rate < lo:
            return Rejection(
                RejectReason.RATE_TOO_LOW, name,
                f"needs {_ml_day(rate)} mL/day, below the pump's minimum rate {_ml_day(lo)} mL/day",
            )
        if rate > hi:
            return Rejection(
                RejectReason.RATE_TOO_HIGH, name,
                f"needs {_ml_day(rate)} mL/day, above the pump's maximum rate {_ml_day(hi)} mL/day",
            )
    if rx.mode is PrescriptionMode.SINGLE_BOLUS and _bolus_rate(rx, conc_ng_per_ml) < lo:
        # A single bolus replaces the basal rate, so it must not run below the minimum.
        return Rejection(
            RejectReason.RATE_TOO_LOW, "bolus",
            f"bolus over bolus_duration needs {_ml_day(_bolus_rate(rx, conc_ng_per_ml))} mL/day, below the "
            f"pump's minimum rate {_ml_day(lo)} mL/day: shorten bolus_duration or raise the bolus dose",
        )
    if rx.mode in (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS):
        top = _bolus_rate(rx, conc_ng_per_ml) + max((r for _, r in basal), default=0)
        if top > hi:
            return Rejection(
                RejectReason.RATE_TOO_HIGH, "bolus",
                f"bolus plus basal needs {_ml_day(top)} mL/day, above the pump's maximum rate "
                f"{_ml_day(hi)} mL/day: lengthen bolus_duration or lower the bolus dose",
            )
    return None


def _ml_day(rate_pl_per_day: int) -> str:
    return f"{rate_pl_per_day / PL_PER_ML:.6g}"


def _bolus_rate(rx: Prescription, conc_ng_per_ml: int) -> int:
    """Extra rate (pL/day) that delivers the bolus volume over its duration."""
    vol_pl = volume_pl_from_mass(rx.bolus_ng, conc_ng_per_ml)
    return (vol_pl * MS_PER_DAY + rx.bolus_duration_ms // 2) // rx.bolus_duration_ms


@dataclass(frozen=True, slots=True)
class Therapy:
    """A prescription bound to a concentration and the time it took effect.

    All rates are precomputed in pL/day so a wake-up costs no division.
    """

    rx: Prescription
    conc_ng_per_ml: int
    start_ms: int
    min_rate_pl_per_day: int
    _basal: int = field(init=False)
    _step_starts: tuple[int, ...] = field(init=False)
    _step_rates: tuple[int, ...] = field(init=False)
    _bolus: int = field(init=False)

    def __post_init__(self) -> None:
        rx, c = self.rx, self.conc_ng_per_ml
        basal = 0
        if rx.mode in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS):
            basal = rate_pl_per_day_from_dose(rx.dose_ng_per_day, c)
        elif rx.mode in (PrescriptionMode.STOPPED, PrescriptionMode.SINGLE_BOLUS):
            basal = self.min_rate_pl_per_day
        object.__setattr__(self, "_basal", basal)
        object.__setattr__(self, "_step_starts", tuple(s.start_ms for s in rx.steps))
        object.__setattr__(
            self, "_step_rates", tuple(rate_pl_per_day_from_dose(s.dose_ng_per_day, c) for s in rx.steps)
        )
        bolus = 0
        if rx.mode in (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS):
            bolus = _bolus_rate(rx, c)
        object.__setattr__(self, "_bolus", bolus)

    def bolus_window(self, t_ms: int) -> tuple[int, int] | None:
        """The bolus window [start, end) containing *t_ms*, or None."""
        rx = self.rx
        if rx.mode is PrescriptionMode.SINGLE_BOLUS:
            end = self.start_ms + rx.bolus_duration_ms
            return (self.start_ms, end) if self.start_ms <= t_ms < end else None
        if rx.mode is PrescriptionMode.PERIODIC_BOLUS:
            phase = (t_ms - rx.bolus_start_ms) % rx.bolus_interval_ms
            if phase < rx.bolus_duration_ms:
                start = t_ms - phase
                return (start, start + rx.bolus_duration_ms)
        return None

    def rate_at(self, t_ms: int) -> tuple[int, int]:
        """(rate in pL/day, time of the next rate change) at *t_ms*.

        The next change is strictly later than *t_ms*; for a constant rate it
        is one day later (the caller wakes at least that often anyway).
        """
        rx = self.rx
        m = rx.mode
        if m is PrescriptionMode.FLEX:
            tod = t_ms % MS_PER_DAY
            day0 = t_ms - tod
            starts = self._step_starts
            i = bisect_right(starts, tod) - 1
            nxt = day0 + (starts[i + 1] if i + 1 < len(starts) else MS_PER_DAY)
            return self._step_rates[i], nxt
        if m is PrescriptionMode.SINGLE_BOLUS:
            end = self.start_ms + rx.bolus_duration_ms
            if self.start_ms <= t_ms < end:
                return self._bolus, end
            return self._basal, t_ms + MS_PER_DAY
        if m is PrescriptionMode.PERIODIC_BOLUS:
            phase = (t_ms - rx.bolus_start_ms) % rx.bolus_interval_ms
            if phase < rx.bolus_duration_ms:
                return self._basal + self._bolus, t_ms - phase + rx.bolus_duration_ms
            return self._basal, t_ms - phase + rx.bolus_interval_ms
        return self._basal, t_ms + MS_PER_DAY

    def rate_rows(self, t0_ms: int, t1_ms: int) -> tuple[int, list[tuple[int, int]], int]:
        """The stroke-timer rate table for [t0, t1): (rate at t0, later (time, rate) rows, credit).

        *credit* is the volume the table accrues over the interval, in the
        timer's units (pL x ms / day). Flex steps are walked straight from the
        step table: this runs at every wake-up.
        """
        if self.rx.mode is not PrescriptionMode.FLEX:
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
        starts, rates = self._step_starts, self._step_rates
        n = len(starts)
        day0 = t0_ms - t0_ms % MS_PER_DAY
        i = bisect_right(starts, t0_ms - day0) - 1
        rate0 = cur = rates[i]
        rows = []
        credit = 0
        t = t0_ms
        while True:
            i += 1
            if i == n:
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
