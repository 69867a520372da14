"""Refill planning: the clinic's arithmetic of domain.md §10, items 1-5, said once.

The formulas (symbols as in §10; every volume in one unit, every rate in that
unit per day):

* **Days to a threshold** (§10.1): ``t = (V_fill - V_alarm) / Q``; to empty
  with ``V_alarm = 0``. :func:`time_to_threshold` is the one implementation;
  the simulator's output-size estimate (:mod:`pumpsim.scenario.sizing`) walks
  the firmware's estimate with it too.
* **Patient boluses** (§10.2, Prometra PTC): the planning rate assumes every
  allotted bolus is used, ``Q = Q_basal + n_max × V_bolus``.
* **Flow-accuracy band** ±e (§10.1): the real flow lies in ``Q (1 ± e)``, so
  the *real* reservoir reaches the alarm volume between ``(V_fill - V_alarm) /
  (Q (1 + e))`` and ``(V_fill - V_alarm) / (Q (1 - e))``. A pump that counts
  strokes (SynchroMed-like, and pumpsim's firmware) raises its alarm from its
  *estimate*, which falls at the nominal rate: at the nominal day whatever its
  error. So a pump fast by e is really empty at ``V_fill / (Q (1 + e))``,
  which can come before its own alarm; the plan says so.
* **Recommended refill day** (a design rule, documented in the README):
  the earliest day the real reservoir can reach the alarm volume (the pump
  fast by e), rounded down to a whole day, less a margin (default 0 days).
  The alarm volume stays in the pump as the reserve; Prometra plans the same
  way to its 3.0 mL residual and rounds down ([C] §1.2).
* **Dose and rate** (§10.3): ``Q = dose / C``, with the firmware's own integer
  conversion (:func:`firmware_model.rate_pl_per_day_from_dose`), so a plan and
  a simulated pump agree to the pL/day.
* **Dead volume** (§10.4): ``V_dead = L × 0.0026 mL/cm`` (Prometra catheter
  [C]; the per-cm volume is the scenario schema's ``PROMETRA_PER_CM``) plus
  the pump's internal volume; :func:`catheter_volume_nl` is the one
  implementation (the scenario loader uses it).
* **Concentration change** (§10.5): until the dead volume has been pushed
  out, the patient gets the old concentration at the new rate, ``Q_new ×
  C_old``, for ``V_dead / Q_new`` days. A bridge bolus instead pushes
  ``V_dead`` at the old rate, taking ``V_dead / Q_old`` days, so the dose at
  the tip stays continuous (the firmware counts it as ``ceil(V_dead /
  stroke)`` strokes, REQ-RX-005).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from firmware_model import dose_ng_per_day_from_rate, rate_pl_per_day_from_dose

from ..units import NL_PER_ML, PL_PER_ML, PL_PER_NL


def time_to_threshold(volume: float, threshold: float, rate: float) -> float:
    """Time for *volume* to fall to *threshold* at *rate* (volume per unit time): ``(volume - threshold) / rate``.

    0 if the volume is already at or below the threshold; ``inf`` if the rate
    is not positive. Any consistent units (mL and mL/day give days).

    >>> time_to_threshold(20.0, 2.0, 0.5)   # SynchroMed II 20 mL, 2 mL alarm, 0.5 mL/day (§10.1)
    36.0
    """
    if volume <= threshold:
        return 0.0
    if rate <= 0:
        return math.inf
    return (volume - threshold) / rate


def catheter_volume_nl(length_cm: Decimal, volume_per_cm_nl: Decimal) -> int:
    """Internal volume of *length_cm* of catheter at *volume_per_cm_nl*, in whole nL.

    >>> catheter_volume_nl(Decimal(90), Decimal(2600))   # 110 cm trimmed by 20 cm, 0.0026 mL/cm (§10.4)
    234000
    """
    return int((length_cm * volume_per_cm_nl).to_integral_value())


def rate_from_dose(dose_ng_per_day: int, conc_ng_per_ml: int) -> int:
    """The flow rate (pL/day) that delivers *dose_ng_per_day* at *conc_ng_per_ml*, rounded as the firmware does."""
    return rate_pl_per_day_from_dose(dose_ng_per_day, conc_ng_per_ml)


def dose_from_rate(rate_pl_per_day: int, conc_ng_per_ml: int) -> int:
    """The dose rate (ng/day) that *rate_pl_per_day* delivers at *conc_ng_per_ml*, rounded as the firmware does."""
    return dose_ng_per_day_from_rate(rate_pl_per_day, conc_ng_per_ml)


def _ml(nl: float) -> float:
    return nl / NL_PER_ML


def _ml_per_day(pl_per_day: float) -> float:
    return pl_per_day / PL_PER_ML


@dataclass(frozen=True)
class Span:
    """A time in days: nominal, and the earliest and latest within the flow-accuracy band."""

    nominal: float
    earliest: float
    latest: float


@dataclass(frozen=True)
class RefillPlan:
    """Days to the alarm and to empty for one fill, and the recommended refill day. See :func:`plan_refill`."""

    fill_nl: int
    alarm_nl: int
    conc_ng_per_ml: int
    #: Programmed (basal) rate, and the patient-bolus volume per day the plan assumes on top of it.
    rate_pl_per_day: int
    bolus_pl_per_day: int
    #: Flow-accuracy band ±e, as a fraction.
    accuracy: float
    margin_days: int
    #: When the *real* reservoir holds the alarm volume (nominal; pump fast by e; pump slow by e).
    alarm: Span
    #: When the real reservoir is empty.
    empty: Span
    #: Recommended refill: whole days after the fill.
    refill_day: int

    @property
    def planning_rate_pl_per_day(self) -> int:
        """Basal rate plus every allotted patient bolus."""
        return self.rate_pl_per_day + self.bolus_pl_per_day

    @property
    def dose_ng_per_day(self) -> int:
        """The daily dose at the planning rate."""
        return dose_from_rate(self.planning_rate_pl_per_day, self.conc_ng_per_ml)

    @property
    def pump_alarm_days(self) -> float:
        """When a stroke-counting pump raises its low-reservoir alarm: its estimate falls at the nominal rate."""
        return self.alarm.nominal

    def warnings(self) -> list[str]:
        """What a clinician must know about this plan, in words (empty if nothing)."""
        out = []
        if self.alarm.nominal == 0:
            out.append("the fill is at or below the alarm volume: the alarm sounds at once")
        if self.accuracy > 0 and self.empty.earliest < self.pump_alarm_days:
            out.append(f"a pump {self.accuracy * 100:g} % fast is really empty at day {self.empty.earliest:.1f}, "
                       f"before its own alarm at day {self.pump_alarm_days:.1f} (it counts strokes)")
        if self.refill_day < 0:
            out.append("no refill day is early enough with this margin: refill at once")
        return out


def plan_refill(
    fill_nl: int, alarm_nl: int, rate_pl_per_day: int, conc_ng_per_ml: int, *, accuracy: float = 0.0,
    margin_days: int = 0, bolus_pl_per_day: int = 0,
) -> RefillPlan:
    """The refill plan for a reservoir filled to *fill_nl* with a low-reservoir alarm at *alarm_nl*.

    *rate_pl_per_day* is the programmed rate; *bolus_pl_per_day* the patient
    boluses allotted per day (all assumed used); *accuracy* the flow-accuracy
    band e (0.15 = ±15 %); *margin_days* the days the recommended refill comes
    before the earliest real alarm day. Raises ValueError for a rate that is
    not positive, an accuracy outside [0, 1) or a negative volume.

    Hand-worked (domain.md §10.1): 20 mL, alarm 2 mL, 0.5 mL/day, e = 0.15:
    alarm 18 / 0.5 = 36.0 days (18 / 0.575 = 31.30 to 18 / 0.425 = 42.35),
    empty 40.0 days (20 / 0.575 = 34.78 to 47.06), refill on day 31.

    >>> p = plan_refill(20_000_000, 2_000_000, 500_000_000, 500_000, accuracy=0.15)
    >>> round(p.alarm.nominal, 1), round(p.alarm.earliest, 1), round(p.alarm.latest, 1), p.refill_day
    (36.0, 31.3, 42.4, 31)
    """
    if rate_pl_per_day + bolus_pl_per_day <= 0:
        raise ValueError(f"rate {rate_pl_per_day} pL/day: expected a rate above 0")
    if not 0 <= accuracy < 1:
        raise ValueError(f"accuracy {accuracy}: expected a fraction from 0 to below 1")
    if fill_nl < 0 or alarm_nl < 0:
        raise ValueError(f"fill {fill_nl} nL, alarm {alarm_nl} nL: expected volumes >= 0")
    q = _ml_per_day(rate_pl_per_day + bolus_pl_per_day)
    fill, alarm = _ml(fill_nl), _ml(alarm_nl)

    def span(threshold: float) -> Span:
        return Span(time_to_threshold(fill, threshold, q), time_to_threshold(fill, threshold, q * (1 + accuracy)),
                    time_to_threshold(fill, threshold, q * (1 - accuracy)))

    at_alarm = span(alarm)
    return RefillPlan(
        fill_nl=fill_nl, alarm_nl=alarm_nl, conc_ng_per_ml=conc_ng_per_ml, rate_pl_per_day=rate_pl_per_day,
        bolus_pl_per_day=bolus_pl_per_day, accuracy=accuracy, margin_days=margin_days, alarm=at_alarm,
        empty=span(0.0), refill_day=math.floor(at_alarm.earliest) - margin_days,
    )


@dataclass(frozen=True)
class ConcentrationChange:
    """A refill that changes the concentration: what the old drug in the dead volume does. See §10.5."""

    dead_volume_nl: int
    old_conc_ng_per_ml: int
    new_conc_ng_per_ml: int
    old_rate_pl_per_day: int
    new_rate_pl_per_day: int

    @property
    def old_dose_ng_per_day(self) -> int:
        return dose_from_rate(self.old_rate_pl_per_day, self.old_conc_ng_per_ml)

    @property
    def new_dose_ng_per_day(self) -> int:
        return dose_from_rate(self.new_rate_pl_per_day, self.new_conc_ng_per_ml)

    @property
    def transit_days(self) -> float:
        """Without a bridge: days until the new drug reaches the tip (dead volume at the new rate)."""
        return time_to_threshold(self.dead_volume_nl * PL_PER_NL, 0, self.new_rate_pl_per_day)

    @property
    def tip_dose_without_bridge_ng_per_day(self) -> float:
        """Without a bridge, the dose at the tip during the transit: the old concentration at the new rate."""
        return self.new_rate_pl_per_day * self.old_conc_ng_per_ml / PL_PER_ML

    @property
    def tip_dose_fraction(self) -> float:
        """That dose as a fraction of the new prescribed dose (0.5 = a 50 % underdose; 2.0 = 200 %)."""
        return self.tip_dose_without_bridge_ng_per_day / self.new_dose_ng_per_day

    @property
    def bridge_volume_nl(self) -> int:
        """A bridge bolus pushes the dead volume ..."""
        return self.dead_volume_nl

    @property
    def bridge_days(self) -> float:
        """... at the old rate, which takes this many days; the tip dose stays the old dose throughout."""
        return time_to_threshold(self.dead_volume_nl * PL_PER_NL, 0, self.old_rate_pl_per_day)


def concentration_change(dead_volume_nl: int, old_conc_ng_per_ml: int, new_conc_ng_per_ml: int,
                         old_rate_pl_per_day: int, new_dose_ng_per_day: int) -> ConcentrationChange:
    """The change from *old_conc* at *old_rate* to *new_conc* at the rate that gives *new_dose_ng_per_day*.

    Hand-worked (§10.5): 0.234 mL dead volume, morphine 10 -> 20 mg/mL, dose
    kept at 5 mg/day (0.5 -> 0.25 mL/day). Without a bridge: 0.25 mL/day × 10
    mg/mL = 2.5 mg/day (50 %) for 0.234 / 0.25 = 0.936 day; a bridge bolus
    takes 0.234 / 0.5 = 0.468 day.

    >>> c = concentration_change(234_000, 10_000_000, 20_000_000, 500_000_000, 5_000_000)
    >>> c.tip_dose_without_bridge_ng_per_day / 1e6, round(c.transit_days, 3), round(c.bridge_days, 3)
    (2.5, 0.936, 0.468)
    """
    return ConcentrationChange(dead_volume_nl, old_conc_ng_per_ml, new_conc_ng_per_ml, old_rate_pl_per_day,
                               rate_from_dose(new_dose_ng_per_day, new_conc_ng_per_ml))
