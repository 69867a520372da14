"""Prescriptions and the check that a pump can deliver them.

A :class:`Prescription` is what the clinician programs, in dose units (ng/day,
ng per bolus); :class:`~firmware_model.therapy.Therapy` binds it to a
concentration and a start time and turns it into rates.

Dose-based programming follows SynchroMed practice: the programmer stores the
dose and computes the rate from dose / concentration ([C] functionalneuro
.surgery, domain.md section 3). So when the concentration changes at a refill,
the dose is kept and the rate follows.

Time of day is counted from the simulation epoch, which is midnight.
"""

from __future__ import annotations

from typing import Final

from ._record import Record, name_table
from ._units import MS_PER_DAY, RATE_CEILING_PL_PER_DAY, rate_pl_per_day_from_dose, scale, volume_pl_from_mass
from .config import MAX_BOLUS_INTERVAL_MS, MAX_BOLUS_MS, MAX_CONC_NG_PER_ML, MAX_FLEX_STEPS, PumpConfig
from .rejection import FieldId, Rejection, RejectReason


class PrescriptionMode:
    """Infusion modes ([C] functionalneuro.surgery; periodic bolus [U] name)."""

    STOPPED: Final = 0  # minimum rate only
    CONTINUOUS: Final = 1  # constant dose rate
    FLEX: Final = 2  # time-of-day steps, repeating daily
    PERIODIC_BOLUS: Final = 3  # constant basal plus a bolus every interval
    SINGLE_BOLUS: Final = 4  # one bolus, then stopped (minimum rate)


#: Lowercase name of each :class:`PrescriptionMode`, also the order modes are listed in.
MODE_NAMES: Final = name_table(PrescriptionMode)


class FlexStep(Record):
    """A flex-dosing step: from *start_ms* (time of day) the dose rate is *dose_ng_per_day*."""

    __slots__ = ("dose_ng_per_day", "start_ms")
    __match_args__ = ("start_ms", "dose_ng_per_day")

    def __init__(self, start_ms: int, dose_ng_per_day: int) -> None:
        self.start_ms: Final = start_ms
        self.dose_ng_per_day: Final = dose_ng_per_day


class Prescription(Record):
    """A programmed prescription in dose units. Validated structurally at construction.

    *mode* is a :class:`PrescriptionMode`. *dose_ng_per_day* is the basal dose
    rate for CONTINUOUS and PERIODIC_BOLUS; *steps* the FLEX steps, sorted by
    start, the first at 00:00; *bolus_ng* the bolus dose for PERIODIC_BOLUS and
    SINGLE_BOLUS, delivered over *bolus_duration_ms* (at most 30 days);
    *bolus_interval_ms* the time between periodic bolus starts, at most 7
    days, and *bolus_start_ms* the time of day of the first. Raises
    ValueError naming the field at fault.
    Whether the rates are deliverable depends on the concentration and the
    pump, so that is checked separately by :func:`check_prescription`.
    """

    __slots__ = (
        "bolus_duration_ms",
        "bolus_interval_ms",
        "bolus_ng",
        "bolus_start_ms",
        "dose_ng_per_day",
        "mode",
        "steps",
    )
    __match_args__ = (
        "mode",
        "dose_ng_per_day",
        "steps",
        "bolus_ng",
        "bolus_duration_ms",
        "bolus_interval_ms",
        "bolus_start_ms",
    )

    def __init__(
        self,
        mode: int,
        dose_ng_per_day: int = 0,
        steps: tuple[FlexStep, ...] = (),
        bolus_ng: int = 0,
        bolus_duration_ms: int = 0,
        bolus_interval_ms: int = 0,
        bolus_start_ms: int = 0,
    ) -> None:
        if mode not in MODE_NAMES:
            raise ValueError(f"mode = {mode}: expected one of {sorted(MODE_NAMES)} (PrescriptionMode)")
        basal = mode in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS)
        bolus = mode in (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS)
        if dose_ng_per_day < 0 or (basal and dose_ng_per_day == 0):
            raise ValueError(f"dose_ng_per_day = {dose_ng_per_day}: expected {'>' if basal else '>='} 0 ng/day")
        if mode == PrescriptionMode.FLEX:
            _check_steps(steps)
        elif steps:
            raise ValueError(f"steps: only a flex prescription has steps (mode is {MODE_NAMES[mode]})")
        if bolus:
            if bolus_ng <= 0:
                raise ValueError(f"bolus_ng = {bolus_ng}: expected > 0 ng")
            if not 0 < bolus_duration_ms <= MAX_BOLUS_MS:
                raise ValueError(f"bolus_duration_ms = {bolus_duration_ms}: expected 1..{MAX_BOLUS_MS} ms")
        if mode == PrescriptionMode.PERIODIC_BOLUS:
            if not bolus_duration_ms < bolus_interval_ms <= MAX_BOLUS_INTERVAL_MS:
                raise ValueError(
                    f"bolus_interval_ms = {bolus_interval_ms}: expected longer than "
                    f"bolus_duration_ms = {bolus_duration_ms} and at most {MAX_BOLUS_INTERVAL_MS} ms"
                )
            if not 0 <= bolus_start_ms < MS_PER_DAY:
                raise ValueError(f"bolus_start_ms = {bolus_start_ms}: expected 0..{MS_PER_DAY - 1} ms")
        self.mode: Final = mode
        self.dose_ng_per_day: Final = dose_ng_per_day
        self.steps: Final = steps
        self.bolus_ng: Final = bolus_ng
        self.bolus_duration_ms: Final = bolus_duration_ms
        self.bolus_interval_ms: Final = bolus_interval_ms
        self.bolus_start_ms: Final = bolus_start_ms

    def daily_dose_ng(self) -> int:
        """Nominal dose over one day, ng (flex: the sum of its steps).

        int64 for a deliverable prescription: a step dose is at most 10^10
        ng/day (100 mL/day of 100 mg/mL), times 8.64e7 ms; a periodic bolus
        at most 7 days at 100 mL/day of 100 mg/mL (7e10 ng), times 8.64e7 ms.
        """
        m = self.mode
        if m == PrescriptionMode.CONTINUOUS:
            return self.dose_ng_per_day
        if m == PrescriptionMode.FLEX:
            total = 0
            ends = [s.start_ms for s in self.steps[1:]] + [MS_PER_DAY]
            for s, end in zip(self.steps, ends, strict=True):
                total += s.dose_ng_per_day * (end - s.start_ms)
            return total // MS_PER_DAY
        if m == PrescriptionMode.PERIODIC_BOLUS:
            return self.dose_ng_per_day + self.bolus_ng * MS_PER_DAY // self.bolus_interval_ms
        return 0


def _check_steps(steps: tuple[FlexStep, ...]) -> None:
    if not 1 <= len(steps) <= MAX_FLEX_STEPS:
        raise ValueError(f"steps: {len(steps)} given, expected 1..{MAX_FLEX_STEPS} flex steps")
    if steps[0].start_ms != 0:
        raise ValueError(f"steps[0].start_ms = {steps[0].start_ms}: the first step must start at 00:00")
    for i in range(1, len(steps)):
        if not steps[i - 1].start_ms < steps[i].start_ms:
            raise ValueError(f"steps[{i}].start_ms = {steps[i].start_ms}: steps must be in increasing time order")
    for i, s in enumerate(steps):
        if not 0 <= s.start_ms < MS_PER_DAY:
            raise ValueError(f"steps[{i}].start_ms = {s.start_ms}: expected 0..{MS_PER_DAY - 1} ms")
        if s.dose_ng_per_day <= 0:
            raise ValueError(f"steps[{i}].dose_ng_per_day = {s.dose_ng_per_day}: expected > 0 ng/day")


def check_prescription(rx: Prescription, conc_ng_per_ml: int, cfg: PumpConfig) -> Rejection | None:
    """Check that *rx* at *conc_ng_per_ml* is deliverable by a pump configured as *cfg*.

    The concentration must be 1 ng/mL .. 100 mg/mL; every basal rate must lie
    within [min rate, max rate], basal plus bolus rate must not exceed the max
    rate, and a single bolus must not run below the min rate (REQ-RX-002).
    Returns None when the prescription is deliverable, otherwise the first
    :class:`Rejection` (rates in pL/day, saturated at 10^15 pL/day).
    """
    if not 0 < conc_ng_per_ml <= MAX_CONC_NG_PER_ML:
        return Rejection(RejectReason.BAD_CONCENTRATION, FieldId.CONCENTRATION, conc_ng_per_ml, 1, MAX_CONC_NG_PER_ML)
    lo, hi = cfg.min_rate_pl_per_day, cfg.max_rate_pl_per_day
    top_basal = 0
    if rx.mode in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS):
        rate = rate_pl_per_day_from_dose(rx.dose_ng_per_day, conc_ng_per_ml)
        rej = _check_rate(FieldId.DOSE, -1, rate, lo, hi)
        if rej is not None:
            return rej
        top_basal = rate
    for i, s in enumerate(rx.steps):
        rate = rate_pl_per_day_from_dose(s.dose_ng_per_day, conc_ng_per_ml)
        rej = _check_rate(FieldId.STEP_DOSE, i, rate, lo, hi)
        if rej is not None:
            return rej
        top_basal = max(top_basal, rate)
    if rx.mode == PrescriptionMode.SINGLE_BOLUS:
        # A single bolus replaces the basal rate, so it must not run below the minimum.
        rate = bolus_rate_pl_per_day(rx, conc_ng_per_ml)
        if rate < lo:
            return Rejection(RejectReason.RATE_TOO_LOW, FieldId.BOLUS, rate, lo, hi)
    if rx.mode in (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS):
        top = bolus_rate_pl_per_day(rx, conc_ng_per_ml) + top_basal
        if top > hi:
            return Rejection(RejectReason.RATE_TOO_HIGH, FieldId.BOLUS, top, lo, hi)
    return None


def _check_rate(field: int, index: int, rate: int, lo: int, hi: int) -> Rejection | None:
    if rate < lo:
        return Rejection(RejectReason.RATE_TOO_LOW, field, rate, lo, hi, index)
    if rate > hi:
        return Rejection(RejectReason.RATE_TOO_HIGH, field, rate, lo, hi, index)
    return None


def bolus_rate_pl_per_day(rx: Prescription, conc_ng_per_ml: int) -> int:
    """Extra rate (pL/day) that delivers the bolus volume over its duration, rounded.

    rate = bolus volume (pL) x 8.64e7 ms/day / duration (ms), saturated at
    10^15 pL/day. int64: :func:`~firmware_model._units.scale` with ``num *
    den`` at most 8.64e7 x 2.6e9 (a 30-day bolus) = 2.2e17.
    """
    vol_pl = volume_pl_from_mass(rx.bolus_ng, conc_ng_per_ml)
    return scale(vol_pl, MS_PER_DAY, rx.bolus_duration_ms, RATE_CEILING_PL_PER_DAY)
