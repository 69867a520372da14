"""The patient's CSF: a one-compartment pharmacokinetic model fed by the drug leaving the catheter tip.

Model (domain.md §7, [D] structure; the per-drug numbers in :mod:`.drugs`)::

    V dC/dt = I(t) - CL C          C: CSF concentration (ng/mL), V: volume (mL),
                                   CL: clearance (mL/min), I: drug input at the tip (ng/min)
    k = CL / V,  t½ = ln 2 / k,    steady state Css = I / CL

The input is the drug mass that left the catheter tip, ``delivered_mg`` of the
run's trace: between two trace rows it is taken as constant (the mass
difference over the time difference), and over such an interval the model is
solved exactly::

    C(t0 + τ) = Css_i + (C(t0) - Css_i) e^(-k τ),   Css_i = I_i / CL

Trace rows come at every ``trace_interval`` and at every event (bolus edges,
refills, a dry reservoir), so a change of input rate falls on a row, except a
flex step that starts between two grid rows. Within an interval C moves
monotonically, so the times it spends below, inside and above a band, and
when it crosses a level, are exact too.

Withdrawal (a drug with a withdrawal syndrome, :mod:`.drugs`): an *episode*
starts when C falls below the withdrawal level after having been at or above it
(a drug-naive patient cannot withdraw), and ends when C is back at the level.
Severe withdrawal develops from ``from_s`` to ``to_s`` after the start (baclofen
24-72 h [C2] §6.3); time spent in an episode beyond ``from_s`` is *at risk*.

Everything here is computed row by row in a fixed order, so the results do not
depend on how the trace was split into batches (bulk and exact runs agree to
the byte). The model is an analysis of a run: the engine feeds it trace rows,
it never changes what the pump does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..results.records import WithdrawalEpisode
from ..units import MS_PER_DAY, MS_PER_H, MS_PER_MIN, MS_PER_S, NG_PER_MG
from .series import FloatArray

_S_PER_MIN = MS_PER_MIN // MS_PER_S
_S_PER_DAY = MS_PER_DAY // MS_PER_S
_S_PER_H = MS_PER_H // MS_PER_S
#: Step of a trial's CSF curve, s.
TRIAL_STEP_S = 60.0


@dataclass(frozen=True)
class CsfModel:
    """One well-mixed CSF compartment: distribution volume (mL) and clearance (mL/min)."""

    volume_ml: float
    clearance_ml_per_min: float

    def __post_init__(self) -> None:
        if not (self.volume_ml > 0 and self.clearance_ml_per_min > 0):
            raise ValueError(f"volume {self.volume_ml} mL, clearance {self.clearance_ml_per_min} mL/min: "
                             "expected both above 0")

    @property
    def k_per_s(self) -> float:
        """Elimination rate constant k = CL / V, 1/s."""
        return self.clearance_ml_per_min / self.volume_ml / _S_PER_MIN

    @property
    def half_life_h(self) -> float:
        return math.log(2) / self.k_per_s / _S_PER_H

    def steady_state_ng_per_ml(self, dose_ng_per_day: float) -> float:
        """Css = dose rate / CL.

        Hand-worked (domain.md §10.12): ziconotide 2.4 mcg/day = 1.667 ng/min;
        CL 0.38 mL/min -> 4.39 ng/mL.

        >>> round(CsfModel(150, 0.38).steady_state_ng_per_ml(2400), 2)
        4.39
        """
        return dose_ng_per_day / (self.clearance_ml_per_min * _S_PER_DAY / _S_PER_MIN)

    def after(self, c0: float, dt_s: float, input_ng_per_s: float) -> float:
        """C after *dt_s* at a constant input, from *c0* (exact)."""
        css = self._css(input_ng_per_s)
        return css + (c0 - css) * math.exp(-self.k_per_s * dt_s)

    def crossing_s(self, c0: float, c1: float, input_ng_per_s: float, level: float) -> float | None:
        """When, within an interval going from *c0* to *c1* at a constant input, C passes *level* (None if not)."""
        if not (min(c0, c1) < level < max(c0, c1)):
            return None
        css = self._css(input_ng_per_s)
        return math.log((c0 - css) / (level - css)) / self.k_per_s

    def _css(self, input_ng_per_s: float) -> float:
        return input_ng_per_s / (self.k_per_s * self.volume_ml)


@dataclass(frozen=True)
class WithdrawalRule:
    """Below *below_ng_per_ml* an episode starts; severe withdrawal develops from *from_s* to *to_s* after it."""

    below_ng_per_ml: float
    from_s: float
    to_s: float


class CsfTracker:
    """Follows the CSF concentration along a run's trace rows; keeps band times and withdrawal episodes.

    Feed it the rows in time order (:meth:`feed`, any batch size); read
    :meth:`summary` at any time. *band* is (low, high) in ng/mL, either side
    may be None; *withdrawal* None means the drug has none (or no level is set).
    """

    def __init__(self, model: CsfModel, start_ng_per_ml: float = 0.0,
                 band: tuple[float | None, float | None] = (None, None),
                 withdrawal: WithdrawalRule | None = None) -> None:
        self.model = model
        self.band = band
        self.withdrawal = withdrawal
        self.start_ng_per_ml = start_ng_per_ml
        self.c = start_ng_per_ml
        self.t_s: float | None = None
        self._mass_ng = 0.0
        self.c_min = self.c_max = start_ng_per_ml
        self.below_s = self.inside_s = self.above_s = 0.0
        self.episodes: list[WithdrawalEpisode] = []
        self._armed = withdrawal is not None and start_ng_per_ml >= withdrawal.below_ng_per_ml

    def feed(self, t_s: Sequence[float] | FloatArray, delivered_ng: Sequence[float] | FloatArray
             ) -> dict[str, np.ndarray]:
        """Rows at times *t_s* with the cumulative mass out of the tip *delivered_ng*: the pk.csv columns.

        Columns: ``t_s``; ``tip_dose_rate_mg_per_day`` (over the interval ending
        at the row; 0 at the first row); ``csf_ng_per_ml``; ``withdrawal_risk``
        (1 while an episode has lasted at least ``from_s``).
        """
        n = len(t_s)
        rate = np.zeros(n)
        conc = np.zeros(n)
        risk = np.zeros(n, dtype=np.int64)
        for i, (t, m) in enumerate(zip(np.asarray(t_s).tolist(), np.asarray(delivered_ng).tolist(), strict=True)):
            if self.t_s is None:
                self.t_s, self._mass_ng = t, m
            else:
                dt = t - self.t_s
                if dt <= 0:
                    raise ValueError(f"t_s {t} after {self.t_s}: expected increasing times")
                inp = (m - self._mass_ng) / dt
                self._interval(self.t_s, dt, inp)
                self.t_s, self._mass_ng = t, m
                rate[i] = inp * _S_PER_DAY / NG_PER_MG
            conc[i] = self.c
            risk[i] = self._at_risk_now(t)
        return {"t_s": np.asarray(t_s, dtype=np.float64), "tip_dose_rate_mg_per_day": rate, "csf_ng_per_ml": conc,
                "withdrawal_risk": risk}

    def _interval(self, t0: float, dt: float, inp: float) -> None:
        m = self.model
        c0 = self.c
        c1 = m.after(c0, dt, inp)
        lo, hi = self.band
        below = self._time_below(c0, c1, dt, inp, lo) if lo is not None else 0.0
        above = dt - self._time_below(c0, c1, dt, inp, hi) if hi is not None else 0.0
        self.below_s += below
        self.above_s += above
        self.inside_s += dt - below - above
        w = self.withdrawal
        if w is not None:
            level = w.below_ng_per_ml
            tau = m.crossing_s(c0, c1, inp, level)
            open_ep = self.episodes[-1] if self.episodes and self.episodes[-1]["recovered_t_s"] is None else None
            if c1 < level and c0 >= level and self._armed and open_ep is None:
                start = t0 + (tau if tau is not None else 0.0)
                self.episodes.append({"below_t_s": start, "onset_from_t_s": start + w.from_s,
                                      "onset_to_t_s": start + w.to_s, "recovered_t_s": None})
            elif c1 >= level and open_ep is not None:
                open_ep["recovered_t_s"] = t0 + (tau if tau is not None else 0.0)
            if max(c0, c1) >= level:
                self._armed = True
        self.c = c1
        self.c_min = min(self.c_min, c1)
        self.c_max = max(self.c_max, c1)

    def _time_below(self, c0: float, c1: float, dt: float, inp: float, level: float) -> float:
        if c0 < level and c1 < level:
            return dt
        if c0 >= level and c1 >= level:
            return 0.0
        tau = self.model.crossing_s(c0, c1, inp, level)
        tau = dt if tau is None else tau
        return tau if c0 < level else dt - tau

    def _at_risk_now(self, t: float) -> int:
        if not self.episodes or self.episodes[-1]["recovered_t_s"] is not None:
            return 0
        return int(t >= self.episodes[-1]["onset_from_t_s"])

    def at_risk_s(self) -> float:
        """Time spent in withdrawal episodes beyond their onset-from time, up to the last row."""
        now = self.t_s if self.t_s is not None else 0.0
        total = 0.0
        for ep in self.episodes:
            end = ep["recovered_t_s"] if ep["recovered_t_s"] is not None else now
            total += max(0.0, end - ep["onset_from_t_s"])
        return total


def csf_curve(model: CsfModel, t_s: Sequence[float] | FloatArray, delivered_mg: Sequence[float] | FloatArray,
              start_ng_per_ml: float = 0.0) -> dict[str, np.ndarray]:
    """The CSF concentration along a trace's rows (``t_s``, ``delivered_mg``), as :meth:`CsfTracker.feed` gives it.

    For plots and the Python API: ``csf_curve(model, res.trace["t_s"], res.trace["delivered_mg"])``.
    """
    return CsfTracker(model, start_ng_per_ml).feed(t_s, np.asarray(delivered_mg, dtype=np.float64) * NG_PER_MG)


def trial_curve(model: CsfModel, amount_ng: float, duration_s: float, observe_s: float,
                step_s: float = TRIAL_STEP_S) -> dict[str, np.ndarray]:
    """The CSF curve of a trial dose: *amount_ng* at a constant rate over *duration_s*, then *observe_s* without.

    Columns ``t_s`` (from the start of the dose; every *step_s* and at the
    end of the dose) and ``csf_ng_per_ml``. The peak is at the end of the dose.

    Hand-worked: baclofen 50 mcg over 1 min into 150 mL, t½ 5 h (k = ln 2 / 18,000
    s = 3.851e-5 /s, so k × 60 s = 0.00231): peak = Css (1 - e^(-k 60 s)) with
    Css = (50,000 ng / 60 s) / (k V), i.e. 50,000 / 150 = 333.3 ng/mL × (1 -
    e^(-0.00231)) / 0.00231 = 332.9 ng/mL at 1 min; 5 h later half that, 166.5.

    >>> m = CsfModel(150, math.log(2) * 150 / 300)
    >>> c = trial_curve(m, 50_000, 60, 10 * 3600)
    >>> round(float(c["csf_ng_per_ml"].max()), 1), float(c["t_s"][c["csf_ng_per_ml"].argmax()])
    (332.9, 60.0)
    >>> round(float(c["csf_ng_per_ml"][c["t_s"] == 60 + 5 * 3600][0]), 1)
    166.5
    """
    grid = np.arange(0.0, duration_s + observe_s + step_s / 2, step_s)
    t = np.unique(np.concatenate([grid[grid <= duration_s + observe_s], [duration_s, duration_s + observe_s]]))
    delivered = np.minimum(t, duration_s) / duration_s * amount_ng
    cols = CsfTracker(model).feed(t, delivered)
    return {"t_s": cols["t_s"], "csf_ng_per_ml": cols["csf_ng_per_ml"]}
