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

#: Range of a signed 64-bit integer: every integer the firmware computes stays
#: inside it at the documented extremes (see config.py), so a C port can use int64_t.
#: Written as literals, as in C: 2**63 itself does not fit.
INT64_MAX = 9_223_372_036_854_775_807
INT64_MIN = -INT64_MAX - 1

#: Rates computed from a prescription saturate here: 10^15 pL/day (10^6 mL/day,
#: ten thousand times the highest maximum rate a pump may have). A prescription
#: that needs more is refused anyway, and the cap keeps every product of a rate
#: with a time or a concentration inside int64 whatever dose a command carries.
RATE_CEILING_PL_PER_DAY = 10**15


def ceil_div(a: int, b: int) -> int:
    """Return ceil(a / b) for integers, b > 0 (exact, no floating point)."""
    return -((-a) // b)


def round_div(a: int, b: int) -> int:
    """Return a / b rounded half up, for a >= 0 and b > 0."""
    return (2 * a + b) // (2 * b)


def scale(value: int, num: int, den: int, cap: int) -> int:
    """``value * num / den`` rounded half up, saturating at *cap*; value >= 0, num and den > 0.

    Results from ``(cap // num) * num`` upward read as *cap* (exact when *num*
    divides *cap*, as for the rate ceiling).

    Computed as ``q * num + round(r * num / den)`` with ``q, r = divmod(value, den)``,
    which equals ``round_div(value * num, den)`` but never forms ``value * num``:
    the largest intermediates are ``q * num < cap`` and ``2 * r * num + den <
    (2 * num + 1) * den``, so the result is int64-safe whenever ``cap`` and
    ``(2 * num + 1) * den`` are (callers keep ``num * den <= 2.2e17``).
    """
    q, r = divmod(value, den)
    if q >= cap // num:
        return cap
    return min(q * num + round_div(r * num, den), cap)


def rate_pl_per_day_from_dose(dose_ng_per_day: int, conc_ng_per_ml: int) -> int:
    """Volume rate that delivers *dose_ng_per_day* of a drug at *conc_ng_per_ml*.

    rate [pL/day] = dose [ng/day] / conc [ng/mL] * 1e9 [pL/mL], rounded to the
    nearest pL/day and capped at :data:`RATE_CEILING_PL_PER_DAY`. int64: conc
    <= 10^8 ng/mL, so ``num * den <= 10^17`` in :func:`scale`. Raises
    ValueError if the concentration is not positive or the dose is negative.
    """
    if conc_ng_per_ml <= 0:
        raise ValueError(f"concentration must be > 0 ng/mL, got {conc_ng_per_ml}")
    if dose_ng_per_day < 0:
        raise ValueError(f"dose must be >= 0 ng/day, got {dose_ng_per_day}")
    return scale(dose_ng_per_day, PL_PER_ML, conc_ng_per_ml, RATE_CEILING_PL_PER_DAY)


def volume_pl_from_mass(mass_ng: int, conc_ng_per_ml: int) -> int:
    """Volume (pL) that holds *mass_ng* of drug at *conc_ng_per_ml*, rounded, capped at 10^15 pL (1000 L)."""
    if conc_ng_per_ml <= 0:
        raise ValueError(f"concentration must be > 0 ng/mL, got {conc_ng_per_ml}")
    return scale(mass_ng, PL_PER_ML, conc_ng_per_ml, RATE_CEILING_PL_PER_DAY)


def dose_ng_per_day_from_rate(rate_pl_per_day: int, conc_ng_per_ml: int) -> int:
    """Dose rate (ng/day) delivered by *rate_pl_per_day* at *conc_ng_per_ml*, rounded.

    int64: at 100 mL/day (10^11 pL/day) and 100 mg/mL the plain product
    would be 10^19; :func:`scale` splits it (``num * den = 10^17``).
    """
    return scale(rate_pl_per_day, conc_ng_per_ml, PL_PER_ML, INT64_MAX)
