"""Delivery accuracy: mean flow error and trumpet curve (IEC 60601-2-24 method, adapted to implantable rates).

The method, its symbols, sources and the parts that are unconfirmed are in
docs/accuracy.md; in short, with V(t) the delivered volume:

1. **Volume.** A balance reading W (g) becomes a volume with the density d
   (g/mL) and the evaporation rate E (g/s) measured without flow:
   ``V(t) = (W(t) - W(t0) + E (t - t0)) / d``. A volume series is used as is.
2. **Grid.** The analysis period (start T1, length T2) is sampled every S:
   ``V_j = V(T1 + j S)``, j = 0..N with ``N = floor(T2 / S)``, by linear
   interpolation of the series (exact when the series was recorded on the
   grid). The series must have a sample at least every S there.
3. **Stroke cycles** (Bissig et al. 2022 [C]). For a pump that delivers in
   strokes of volume v at rate r, the cycle is ``T = v / r``; S is rounded to a
   whole number of cycles (at least one), and every window is a whole number
   of S, so every window holds whole cycles and stroke quantisation does not
   show up as error.
4. **Mean flow error** over the analysis period: ``Q = (V_N - V_0) / (N S)``,
   ``A = 100 (Q - r) / r`` %.
5. **Trumpet curve.** For each observation window P = n S and every start j
   = 0..N-n (m = N - n + 1 windows, sliding by S):
   ``E_P(j) = 100 ((V_{j+n} - V_j) / P - r) / r`` %, the same as the
   standard's ``(S/P) sum_i 100 (Q_i - r) / r`` over the window's intervals;
   ``Ep(max)`` and ``Ep(min)`` are the largest and smallest.

Without a set rate r, the reference is the measured mean flow Q (A is then 0
by definition and not reported).

**Defaults for implantable rates** [D]: the standard's protocol (S = 0.5 min,
analysis in the second hour of a 2-hour test, windows 1, 2, 5, 11, 19, 31 min
[C]) stretched in time by :data:`TIME_SCALE` = 12, so its 2-hour test becomes a
24-hour one: S = 6 min, analysis from 12 h for 12 h, windows 12 min to 6.2 h.
At 0.5 mL/day (20.8 uL/h) a 12-min window holds 4.2 uL, 17 strokes of 0.25 uL,
and 400 times a semi-micro balance's 0.01 mg readability. The standard itself
covers external pumps; whether a time-scaled protocol is what ISO 14708-4
expects of an implantable pump is [U].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..units import MS_PER_DAY, MS_PER_MIN, MS_PER_S, NL_PER_ML, NL_PER_UL
from .series import FloatArray, Series

_S_PER_MIN = MS_PER_MIN // MS_PER_S
_S_PER_DAY = MS_PER_DAY // MS_PER_S

#: IEC 60601-2-24 sampling interval, min ([C] B. Braun manuals, domain.md §9.2).
IEC_INTERVAL_MIN = 0.5
#: IEC 60601-2-24 analysis period: the second hour of a 120-min test ([C] §9.2).
IEC_START_MIN = 60
IEC_LENGTH_MIN = 60
#: IEC 60601-2-24 observation windows, min ([C] §9.2: 2, 5, 11, 19, 31 in 1998; 1 added later).
IEC_WINDOWS_MIN = (1, 2, 5, 11, 19, 31)
#: The defaults stretch the standard's protocol by this factor in time ([D]): a 2-hour test becomes 24 hours.
TIME_SCALE = 12

DEFAULT_INTERVAL_S = IEC_INTERVAL_MIN * TIME_SCALE * _S_PER_MIN
DEFAULT_START_S = float(IEC_START_MIN * TIME_SCALE * _S_PER_MIN)
DEFAULT_LENGTH_S = float(IEC_LENGTH_MIN * TIME_SCALE * _S_PER_MIN)
DEFAULT_WINDOWS_S = tuple(float(p * TIME_SCALE * _S_PER_MIN) for p in IEC_WINDOWS_MIN)

#: Density of water at 20 °C, g/mL ([C] domain.md §9.2); the default density is 1 g/mL unless given.
WATER_DENSITY_20C = 0.998
DEFAULT_DENSITY = 1.0

_G_PER_MG = 1e-3
_S_PER_H = 60 * _S_PER_MIN


class AccuracyError(ValueError):
    """The series does not allow the analysis asked for (too short, too sparse); one line saying why."""


@dataclass(frozen=True)
class TrumpetParams:
    """What to analyse and how. Times in seconds; see the module docstring for the defaults.

    *start_s* is measured from the series' first sample; *rate_ml_per_day*
    is the set rate r (None: the measured mean flow);
    *stroke_volume_ul* or *cycle_s* gives the stroke cycle (both None: no
    rounding to whole cycles); *density_g_per_ml* and
    *evaporation_mg_per_h* convert a mass series to volume.
    """

    rate_ml_per_day: float | None = None
    interval_s: float = DEFAULT_INTERVAL_S
    start_s: float = DEFAULT_START_S
    length_s: float = DEFAULT_LENGTH_S
    windows_s: tuple[float, ...] = DEFAULT_WINDOWS_S
    stroke_volume_ul: float | None = None
    cycle_s: float | None = None
    density_g_per_ml: float = DEFAULT_DENSITY
    evaporation_mg_per_h: float = 0.0


@dataclass(frozen=True)
class TrumpetPoint:
    """One observation window P = n S: how many windows were evaluated and the extreme errors."""

    window_s: float
    #: Grid intervals per window (P / S).
    n: int
    #: Number of windows evaluated (m = N - n + 1).
    windows: int
    ep_max_pct: float
    ep_min_pct: float


@dataclass(frozen=True)
class TrumpetResult:
    """The analysis: the reference rate, the grid it was evaluated on, the mean flow error and the curve."""

    params: TrumpetParams
    #: The reference rate r: the set rate, or the measured mean flow when none was given.
    rate_ml_per_day: float
    rate_given: bool
    #: The stroke cycle T used to round S, or None.
    cycle_s: float | None
    #: The sampling interval S actually used (rounded to whole cycles), s.
    interval_s: float
    #: The grid: times (s) and volumes (mL, from the first grid point) at T1 + j S, j = 0..N.
    grid_t_s: FloatArray
    grid_volume_ml: FloatArray
    mean_flow_ml_per_day: float
    points: tuple[TrumpetPoint, ...]

    @property
    def start_s(self) -> float:
        return float(self.grid_t_s[0])

    @property
    def length_s(self) -> float:
        """The analysis period actually used: N S."""
        return float(self.grid_t_s[-1] - self.grid_t_s[0])

    @property
    def mean_error_pct(self) -> float | None:
        """A = 100 (Q - r) / r, or None without a set rate."""
        if not self.rate_given:
            return None
        return 100 * (self.mean_flow_ml_per_day - self.rate_ml_per_day) / self.rate_ml_per_day

    def curve(self) -> dict[str, list[float]]:
        """The trumpet curve as columns, for a plot: ``window_min``, ``ep_max_pct``, ``ep_min_pct``.

        Draw Ep(max) and Ep(min) against the window length, with the mean
        flow error :attr:`mean_error_pct` as a horizontal line.
        """
        return {
            "window_min": [p.window_s / _S_PER_MIN for p in self.points],
            "ep_max_pct": [p.ep_max_pct for p in self.points],
            "ep_min_pct": [p.ep_min_pct for p in self.points],
        }

    def flow(self) -> dict[str, FloatArray]:
        """Flow over each grid interval, for the standard's flow graph: ``t_s`` (interval end), ``flow_ml_per_day``."""
        return {"t_s": self.grid_t_s[1:],
                "flow_ml_per_day": np.diff(self.grid_volume_ml) / self.interval_s * _S_PER_DAY}


def volume_ml(series: Series, density_g_per_ml: float = DEFAULT_DENSITY, evaporation_mg_per_h: float = 0.0
              ) -> FloatArray:
    """The delivered volume (mL) of *series*, from its first sample: mass corrected for evaporation, over density.

    ``V = (W - W0 + E (t - t0)) / d``. A volume series is returned from its
    first sample and *density* and *evaporation* do not apply to it.
    """
    w, t = series.values, series.t_s
    if not series.is_mass:
        return np.asarray(w - w[0], dtype=np.float64)
    evaporated_g = evaporation_mg_per_h * _G_PER_MG / _S_PER_H * (t - t[0])
    return np.asarray((w - w[0] + evaporated_g) / density_g_per_ml, dtype=np.float64)


def trumpet(series: Series, params: TrumpetParams = TrumpetParams()) -> TrumpetResult:
    """Mean flow error and trumpet curve of *series* (see the module docstring for the method).

    Raises :class:`AccuracyError` when the series does not cover the analysis
    period, has gaps longer than S in it, or the period is too short for a
    window, and ValueError for parameters out of range (non-positive rate,
    interval, length, window, density or cycle).

    Hand-worked example: r = 1 uL/min (1.44 mL/day), S = 1 min, volumes 0,
    1, 2.2, 3.2, 4.0, 5.0, 6.0 uL at 0..6 min. Mean flow 6 uL / 6 min, A = 0 %.
    P = 2 min: window means 1.1, 1.1, 0.9, 0.9, 1.0 uL/min, so Ep(max) = +10 %,
    Ep(min) = -10 % over m = 5 windows. P = 3 min: 3.2/3, 3.0/3, 2.8/3,
    2.8/3, so +6.67 % and -6.67 % over 4.

    >>> s = Series("example", "volume_ml", np.arange(7) * 60.0, np.array([0, 1, 2.2, 3.2, 4.0, 5.0, 6.0]) / 1000)
    >>> r = trumpet(s, TrumpetParams(rate_ml_per_day=1.44, interval_s=60, start_s=0, length_s=360,
    ...                              windows_s=(120, 180)))
    >>> round(r.mean_error_pct, 9), [(p.windows, round(p.ep_max_pct, 2), round(p.ep_min_pct, 2)) for p in r.points]
    (0.0, [(5, 10.0, -10.0), (4, 6.67, -6.67)])
    """
    _check(params)
    v = volume_ml(series, params.density_g_per_ml, params.evaporation_mg_per_h)
    t = series.t_s
    t1 = float(t[0]) + params.start_s
    if t1 + params.length_s > t[-1] + 1e-9:
        raise AccuracyError(
            f"{series.source}: the series covers {_hours(t[-1] - t[0])} from its first sample; the analysis period "
            f"(start {_hours(params.start_s)}, length {_hours(params.length_s)}) needs "
            f"{_hours(params.start_s + params.length_s)}: too short (record longer, or set the start and length)")
    rate_given = params.rate_ml_per_day is not None
    if params.rate_ml_per_day is not None:
        rate = params.rate_ml_per_day
    else:
        rate = _mean_rate(t, v, t1, params.length_s)
        if rate <= 0:
            raise AccuracyError(f"{series.source}: nothing was delivered in the analysis period; give the set rate")
    cycle = params.cycle_s
    if cycle is None and params.stroke_volume_ul is not None:
        cycle = params.stroke_volume_ul / (rate * (NL_PER_ML / NL_PER_UL) / _S_PER_DAY)  # uL / (uL/s)
    s = params.interval_s if cycle is None else max(1, round(params.interval_s / cycle)) * cycle
    n_total = math.floor(params.length_s / s + 1e-9)
    if n_total < 1:
        raise AccuracyError(f"{series.source}: the analysis period {_hours(params.length_s)} is shorter than one "
                            f"sampling interval S = {_minutes(s)}")
    grid = np.asarray(t1 + s * np.arange(n_total + 1), dtype=np.float64)
    _check_gaps(series.source, t, grid, s)
    gv = np.interp(grid, t, v)
    gv = gv - gv[0]
    points: list[TrumpetPoint] = []
    for p in params.windows_s:
        n = max(1, round(p / s))
        if n > n_total:
            raise AccuracyError(
                f"{series.source}: the window {_minutes(p)} ({n} x S = {_minutes(n * s)}) is longer than the "
                f"analysis period {_hours(n_total * s)}: too short for the windows (lengthen the period or drop "
                "the window)")
        if points and points[-1].n == n:
            continue  # two windows rounded to the same multiple of S
        ep = 100 * ((gv[n:] - gv[:-n]) / (n * s) * _S_PER_DAY - rate) / rate
        points.append(TrumpetPoint(n * s, n, len(ep), float(ep.max()), float(ep.min())))
    mean = float(gv[-1] / (n_total * s) * _S_PER_DAY)
    return TrumpetResult(params, rate, rate_given, cycle, s, grid, gv, mean, tuple(points))


def _check(p: TrumpetParams) -> None:
    checks: Sequence[tuple[str, float | None]] = (
        ("rate", p.rate_ml_per_day), ("interval", p.interval_s), ("length", p.length_s),
        ("stroke volume", p.stroke_volume_ul), ("cycle", p.cycle_s), ("density", p.density_g_per_ml),
    )
    for name, value in checks:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} {value}: expected a number above 0")
    if not p.windows_s or any(not (math.isfinite(w) and w > 0) for w in p.windows_s):
        raise ValueError(f"windows {p.windows_s}: expected one or more durations above 0")
    if list(p.windows_s) != sorted(p.windows_s):
        raise ValueError(f"windows {p.windows_s}: expected increasing durations")
    if not math.isfinite(p.start_s) or p.start_s < 0:
        raise ValueError(f"start {p.start_s}: expected a time >= 0 after the first sample")
    if not math.isfinite(p.evaporation_mg_per_h) or p.evaporation_mg_per_h < 0:
        raise ValueError(f"evaporation {p.evaporation_mg_per_h}: expected a number >= 0")


def _mean_rate(t: FloatArray, v: FloatArray, t1: float, length_s: float) -> float:
    a, b = np.interp([t1, t1 + length_s], t, v)
    return float((b - a) / length_s * _S_PER_DAY)


def _check_gaps(source: str, t: FloatArray, grid: FloatArray, s: float) -> None:
    """The series must have a sample at least every S across the grid, or interpolation would invent data."""
    lo = max(int(np.searchsorted(t, grid[0], side="right")) - 1, 0)
    hi = min(int(np.searchsorted(t, grid[-1], side="left")), len(t) - 1)
    gaps = np.diff(t[lo:hi + 1])
    if gaps.size and gaps.max() > s * (1 + 1e-9):
        i = int(gaps.argmax())
        raise AccuracyError(
            f"{source}: samples {gaps.max():g} s apart at t_s = {t[lo + i]:g} in the analysis period; expected at "
            f"most the sampling interval S = {s:g} s (record more often, e.g. a shorter trace_interval, or "
            "raise the interval)")


def _hours(s: float) -> str:
    return f"{s / _S_PER_H:g} h"


def _minutes(s: float) -> str:
    return f"{s / _S_PER_MIN:g} min"
