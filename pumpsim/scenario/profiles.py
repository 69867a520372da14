"""Built-in device profiles, and the margin rule their default low-reservoir alarms come from.

A profile is a named set of ``[pump]`` defaults (``[pump] profile = "NAME"``);
any key written in the file still wins. The default profile,
``synchromed2-20``, is the schema's own defaults, so a file that names no
profile runs exactly as before profiles existed.

**The low-reservoir margin.** The firmware counts strokes (or aliquots) of
nominal volume *s*; the real pump moves ``s x (1 + d)`` per count, with its
flow error *d* within the profile's accuracy band ``|d| <= e``. From a fill
*F*, the firmware raises the low-reservoir alarm at the first count *N* with
``F - N s <= T`` (threshold *T*), ``N = ceil((F - T) / s)``; the real reservoir
is dry at the first count with ``N s (1 + d) >= F``. So the alarm sounds
before the real reservoir is dry **iff**

    ceil((F - T) / s) x s x (1 + d) < F                          (exact, per fill)

The worst case is ``d = +e``. Since ``ceil((F - T)/s) x s < F - T + s``, it
holds for every fill up to the capacity *C* whenever

    T >= e x (F - T) + (1 + e) x s,   i.e.   T >= e x C / (1 + e) + s     (the rule)

in words: the reserve must cover the worst over-delivery of the volume counted
down to it, plus one stroke of quantisation. (Counting ``e / (1 + e)`` of
``F - T`` would under-protect: at e = 10 %, F = 20 mL, T = 1.7 mL the pump
delivers 18.3 x 1.1 = 20.13 mL by the alarm.) Each profile's default
threshold is the rule rounded up to 0.1 mL, and never below Medtronic's
historic 2 mL ([C] domain.md §2.1); a 40 mL reservoir gets at least 4 mL
([C] Neurosurgery 2004). tests/property/test_prop_margins.py proves the alarm
comes first for any fill and any flow error in the band, by simulation.

**Constant-flow pumps** have no alarm; what protects the patient is the
refill schedule. With the flow within ``(1 + e)`` of its nominal rate *Q*, a
reservoir holding *V* after a refill is not dry before the next refill
``I`` later iff ``I x Q x (1 + e) < V`` (:func:`max_refill_interval_ms`).
Fever or a flight can push the flow beyond the band (+17 % at 39 °C, +27 % in
a 75 kPa cabin with the profile's [U] propellant): the band is the everyday
spread, the environment faults are what it does not cover.
"""

from __future__ import annotations

import math
from typing import Final

from ..units import MS_PER_DAY, NL_PER_ML, PL_PER_NL
from .model import Scenario
from .quantities import volume_nl
from .spec import Profile, Source

#: The usual low-reservoir alarm volume ([C] domain.md §2.1); no profile's default is below it.
LOW_ALARM: Final = "2 mL"
LOW_ALARM_NL: Final = volume_nl(LOW_ALARM)
#: Thresholds are set in steps of 0.1 mL (a programmer's resolution; design choice).
ALARM_STEP_NL: Final = NL_PER_ML // 10

DEFAULT_PROFILE: Final = "synchromed2-20"

#: The profiles by name. The band each default threshold protects is its ``pump.accuracy``.
PROFILES: Final[dict[str, Profile]] = {
    p.name: p
    for p in (
        Profile("synchromed2-20",
                "SynchroMed II 8637-20: peristaltic, 20 mL. The schema's defaults (files that name no profile run "
                "it). Accuracy band 11 % [U]: the band the 2 mL threshold protects by the margin rule.",
                {}, Source("C", "§1.1", "8637-20, 20 mL (FDA recall page)")),
        Profile("synchromed2-40",
                "SynchroMed II 8637-40: as synchromed2-20 with a 40 mL reservoir; the margin rule gives a 4 mL "
                "alarm.",
                {"pump.reservoir": "40 mL"}, Source("C", "§1.1, §2.1", "8637-40; 4 mL alarm (Neurosurgery 2004)")),
        Profile("prometra2-20",
                "Prometra II 20 mL: valve-gated (aliquots through inlet and outlet valves, a flow-activated valve "
                "shutting a magnet's free flow after at most 10 uL). Accuracy band 15 %: the clinical study's "
                "85-115 % endpoint.",
                {"pump.mechanism": "valve_gated", "pump.accuracy": "15 %"},
                Source("C", "§1.2", "Prometra II manual pp. 8, 14, 22")),
        Profile("prometra2-40",
                "Prometra II 40 mL (REF 16827): as prometra2-20 with a 40 mL reservoir.",
                {"pump.mechanism": "valve_gated", "pump.accuracy": "15 %", "pump.reservoir": "40 mL"},
                Source("C", "§1.2", "Prometra II 40 mL, FSN2019-044-02")),
        Profile("constant-flow-35",
                "A gas-driven constant-flow pump like the Codman 3000: no battery, no firmware, no alarms; 35 mL "
                "[U], 1 mL/day at 37 °C and sea level [U], rising with body temperature and falling ambient "
                "pressure. Accuracy band 15 % [U] (the refill margin).",
                {"pump.mechanism": "constant_flow", "pump.reservoir": "35 mL", "pump.accuracy": "15 %"},
                Source("C", "§1.3", "Codman 3000 principle (J&J patient support); volume and rate [U]")),
    )
}


def alarm_margin_nl(capacity_nl: int, accuracy: float, stroke_pl: int) -> float:
    """The smallest threshold the margin rule allows: ``e x C / (1 + e) + s``, nL (module docstring)."""
    return accuracy * capacity_nl / (1.0 + accuracy) + stroke_pl / PL_PER_NL


def default_low_alarm_nl(capacity_nl: int, accuracy: float, stroke_pl: int) -> int:
    """REQ-ALM-006: a profile's default low-reservoir threshold, nL: the rule rounded up to 0.1 mL, at least 2 mL.

    A reservoir of 2 mL or less gets a tenth of its volume instead of 2 mL,
    or the rule if that is more (capped just below the capacity, where the
    range check then names the problem).
    """
    floor = LOW_ALARM_NL if capacity_nl > LOW_ALARM_NL else capacity_nl // 10
    rule = math.ceil(alarm_margin_nl(capacity_nl, accuracy, stroke_pl) / ALARM_STEP_NL) * ALARM_STEP_NL
    return max(floor, rule) if rule < capacity_nl else max(floor, capacity_nl - 1)


def alarm_before_dry(fill_nl: int, threshold_nl: int, stroke_pl: int, flow_error: float) -> bool:
    """The exact condition: from *fill_nl*, does the alarm at *threshold_nl* sound before a pump whose strokes
    move ``(1 + flow_error)`` of *stroke_pl* runs dry? (True when the fill is already at the threshold.)"""
    if fill_nl <= threshold_nl:
        return True
    counted = -(-(fill_nl - threshold_nl) * PL_PER_NL // stroke_pl)  # strokes to the alarm
    return counted * stroke_pl / PL_PER_NL * (1.0 + flow_error) < fill_nl


def max_refill_interval_ms(volume_nl: int, nominal_pl_per_day: int, accuracy: float) -> int:
    """The longest refill interval that keeps a constant-flow pump from running dry, ms.

    A reservoir holding *volume_nl* after a refill lasts ``V / (Q x (1 + e))``
    at the top of the band; the interval must be shorter (strictly less, so
    rounded down and less one ms).
    """
    days = volume_nl * PL_PER_NL / (nominal_pl_per_day * (1.0 + accuracy))
    return max(0, math.ceil(days * MS_PER_DAY) - 1)


def protected_band(capacity_nl: int, threshold_nl: int, stroke_pl: int) -> float:
    """The widest flow error a threshold protects by the rule, for any fill up to *capacity_nl*:
    ``e = (T - s) / (C - T + s)`` (0 if the threshold does not even cover one stroke)."""
    s = stroke_pl / PL_PER_NL
    return max(0.0, (threshold_nl - s) / (capacity_nl - threshold_nl + s))


def describe_margin(sc: Scenario) -> str:
    """One line on what protects *sc*'s patient from an empty reservoir: the alarm's margin, or the refill plan's.

    For a pump with firmware: the band the low-reservoir threshold protects
    against its profile's accuracy band. For a constant-flow pump: each
    stretch between refills against how long the volume then in it lasts at
    the top of the band (the refill volume alone is counted when the residual
    is not aspirated; the residual only adds to it).
    """
    p = sc.pump
    band = f"±{p.accuracy * 100:g} %"
    if p.has_firmware:
        e = protected_band(p.reservoir_nl, p.low_reservoir_alarm_nl, p.stroke_volume_pl)
        verdict = "OK" if e >= p.accuracy else f"AT RISK: the accuracy band is {band}"
        need = default_low_alarm_nl(p.reservoir_nl, p.accuracy, p.stroke_volume_pl)
        return (f"margin: the {p.low_reservoir_alarm_nl / NL_PER_ML:g} mL low-reservoir alarm sounds before the "
                f"reservoir is dry for a flow error up to ±{e * 100:.3g} % at any fill ({verdict}; the rule asks "
                f"{need / NL_PER_ML:g} mL for {band})")
    starts = [(0, p.fill_nl)] + [(v.at_ms, min(v.refill_nl, p.reservoir_nl)) for v in sc.visits if v.refill_nl]
    worst = None
    for (t0, vol), (t1, _) in zip(starts, [*starts[1:], (sc.duration_ms, 0)], strict=True):
        lasts = max_refill_interval_ms(vol, p.nominal_rate_pl_per_day, p.accuracy)
        if t1 - t0 > lasts and (worst is None or t0 < worst[0]):
            worst = (t0, t1, lasts)
    if worst is None:
        return (f"margin: constant flow, no alarm; every stretch between refills is shorter than the reservoir "
                f"lasts at {band} flow (OK)")
    t0, t1, lasts = worst
    return (f"margin: constant flow, no alarm; AT RISK: filled at day {t0 / MS_PER_DAY:g}, the reservoir lasts "
            f"{lasts / MS_PER_DAY:.4g} d at +{p.accuracy * 100:g} % flow, and nothing refills it until day "
            f"{t1 / MS_PER_DAY:g}")
