"""Integer units and integer arithmetic helpers used throughout the firmware.

Everything the controller stores is an integer in a fixed unit, as it would be
in C: time in milliseconds, volume in nanolitres (nL), drug mass in nanograms
(ng), concentration in ng per mL, dose rates in ng per day.

Flow rates are kept in **picolitres per day** (pL/day). A rate rounded to whole
nL/day can be off by 0.5 nL/day, which adds up to 1.8 uL (seven 0.25 uL strokes)
over ten years; at pL/day resolution the same rounding stays below 2 nL over ten
years, less than one stroke.
"""

from __future__ import annotations

MS_PER_S = 1_000
MS_PER_MIN = 60 * MS_PER_S
MS_PER_H = 60 * MS_PER_MIN
MS_PER_DAY = 24 * MS_PER_H

NL_PER_UL = 1_000
NL_PER_ML = 1_000_000
PL_PER_NL = 1_000
PL_PER_ML = PL_PER_NL * NL_PER_ML

NG_PER_MCG = 1_000
NG_PER_MG = 1_000_000

#: Largest value a signed 64-bit integer holds; used to document and check the
#: bounds a C port must respect.
INT64_MAX = 2**63 - 1


def ceil_div(a: int, b: int) -> int:
    """Return ceil(a / b) for integers, b > 0 (exact, no floating point)."""
    return -((-a) // b)


def round_div(a: int, b: int) -> int:
    """Return a / b rounded half away from zero, for a >= 0 and b > 0."""
    return (2 * a + b) // (2 * b)


def rate_pl_per_day_from_dose(dose_ng_per_day: int, conc_ng_per_ml: int) -> int:
    """Volume rate that delivers *dose_ng_per_day* of a drug at *conc_ng_per_ml*.

    rate [pL/day] = dose [ng/day] / conc [ng/mL] * 1e9 [pL/mL], rounded to the
    nearest pL/day. Raises ValueError if the concentration is not positive or
    the dose is negative.
    """
    if conc_ng_per_ml <= 0:
        raise ValueError(f"concentration must be > 0 ng/mL, got {conc_ng_per_ml}")
    if dose_ng_per_day < 0:
        raise ValueError(f"dose must be >= 0 ng/day, got {dose_ng_per_day}")
    return round_div(dose_ng_per_day * PL_PER_ML, conc_ng_per_ml)


def volume_pl_from_mass(mass_ng: int, conc_ng_per_ml: int) -> int:
    """Volume (pL) that holds *mass_ng* of drug at *conc_ng_per_ml*, rounded."""
    if conc_ng_per_ml <= 0:
        raise ValueError(f"concentration must be > 0 ng/mL, got {conc_ng_per_ml}")
    return round_div(mass_ng * PL_PER_ML, conc_ng_per_ml)


def dose_ng_per_day_from_rate(rate_pl_per_day: int, conc_ng_per_ml: int) -> int:
    """Dose rate (ng/day) delivered by *rate_pl_per_day* at *conc_ng_per_ml*, rounded."""
    return round_div(rate_pl_per_day * conc_ng_per_ml, PL_PER_ML)
