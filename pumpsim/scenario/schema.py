"""The scenario schema: every key of a scenario file, said once.

Each :class:`~pumpsim.scenario.spec.Key` below carries its kind and internal
unit, default, range, docs text, whether ``pumpsim sweep --vary`` may vary it,
and the source of its default ([C] confirmed / [U] unconfirmed, with the
section of ``shared/reference/domain.md``). From :data:`SCENARIO` derive:

* the loader's checks and messages (:func:`pumpsim.scenario.reader.read`);
* the keys a sweep may vary (:func:`variable_keys`, :func:`array_tables`,
  :func:`unit_families`);
* the key tables of docs/scenario-format.md
  (``python -m pumpsim.scenario.docgen --write docs/scenario-format.md``).

Adding a key is one :class:`Key` in its table's ``members`` (plus the record
field it fills, named by ``attr``, or a line in the loader that reads it), then
``python -m pumpsim.scenario.docgen --write``. Adding a table is one
:class:`Table` among its parent's members (and a ``<!-- BEGIN GENERATED
keys:PATH -->`` block in the docs). A discriminated array is one table::

    FAULT = Table("fault", "Faults.", array=True, members=(KIND,),
                  variants=Variants("kind", {"stall": (AT, RECOVERY), "leak": (AT, LEAK_RATE)}))

where ``KIND = Key("kind", choice(("stall", "leak")), REQUIRED, ...)``; a key
written in a fault of another kind is an error naming the entry, the key and
the kinds it belongs to. A device profile is one :class:`~pumpsim.scenario.spec.Profile`
(dotted key path -> default) in ``Schema(profiles=..., profile_key="pump.profile")``
with a ``profile`` key of kind ``choice(profile names)`` in ``[pump]``; any key
written in the file still wins. tests/unit/test_schema.py proves both on an
example schema.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from firmware_model import MAX_FLEX_STEPS, MAX_PTM_PER_DAY

from ..analysis.drugs import CSF_VOLUME_ML, drug_facts
from ..plant import MECHANISMS
from ..units import MS_PER_H, MS_PER_MIN, NG_PER_G, NG_PER_MCG, NL_PER_ML, PL_PER_ML
from . import drug_library, quantities as q
from .profiles import DEFAULT_PROFILE, LOW_ALARM, PROFILES, default_low_alarm_nl
from .quantities import FAMILIES, Family
from .spec import (
    BOOLEAN,
    INTEGER,
    REQUIRED,
    Computed,
    Exclusive,
    Fixed,
    Key,
    Kind,
    Range,
    Ref,
    Required,
    Requires,
    SameAs,
    Schema,
    Source,
    Table,
    Unset,
    Variants,
    above,
    between,
    choice,
    quantity,
    show_decimal,
    show_duration,
    text,
)

# ------------------------------------------------------------------ kinds (internal units)

VOLUME_NL = quantity("volume", q.volume_nl, lambda nl: show_decimal(nl / NL_PER_ML, "mL"))
VOLUME_PL = quantity("volume", q.volume_pl, lambda pl: show_decimal(pl / (PL_PER_ML // 1000), "uL"))
SMALL_VOLUME_NL = quantity("volume", q.volume_nl, lambda nl: show_decimal(nl / (NL_PER_ML // 1000), "uL"))
DURATION_MS = quantity("duration", q.duration_ms, show_duration)
FLOW_PL_PER_DAY = quantity("flow rate", q.rate_pl_per_day, lambda r: show_decimal(r / PL_PER_ML, "mL/day"))
DOSE_NG_PER_DAY = quantity("dose rate", q.dose_ng_per_day, lambda d: show_decimal(d / NG_PER_MCG, "mcg/day"))
MASS_NG = quantity("mass", q.mass_ng, lambda m: show_decimal(m / NG_PER_MCG, "mcg"))
CONC_NG_PER_ML = quantity("concentration", q.concentration_ng_per_ml,
                          lambda c: show_decimal(c / NG_PER_MCG, "mcg/mL"))
#: A density is a mass per volume: the concentration family, shown in g/mL.
DENSITY_NG_PER_ML = quantity("concentration", q.concentration_ng_per_ml,
                             lambda c: show_decimal(c / NG_PER_G, "g/mL"), title="density")
LENGTH_CM = quantity("length", q.length_cm, lambda cm: show_decimal(cm, "cm"))
NL_PER_CM = quantity("volume per length", q.volume_nl_per_cm, lambda v: show_decimal(v / NL_PER_ML, "mL/cm"))
FRACTION = quantity("percent", q.percent, lambda f: show_decimal(f * 100, "%"))
#: CSF concentrations are a few ng/mL (ziconotide): kept as float ng/mL, not rounded to whole ng/mL.
CSF_NG_PER_ML = quantity("concentration", lambda raw: float(q.FAMILIES["concentration"].value(raw)),
                         lambda c: show_decimal(c, "ng/mL"))
WEIGHT_KG = quantity("body weight", q.weight_kg, lambda kg: show_decimal(kg, "kg"))
PRESSURE_KPA = quantity("pressure", q.pressure_kpa, lambda p: show_decimal(p, "kPa"))
TIME_OF_DAY_MS = Kind("time of day", "a time of day", q.TIME_OF_DAY, q.time_of_day_ms,
                      lambda ms: f"{ms // MS_PER_H:02d}:{ms // MS_PER_MIN % 60:02d}",
                      allowed='`"00:00"` to `"23:59"`')

#: Longest run a scenario may ask for: 30 years.
MAX_DURATION = "10950 d"
MAX_DURATION_MS = q.duration_ms(MAX_DURATION)
#: Largest catheter volume (written or computed from its length).
MAX_CATHETER_VOLUME = "5 mL"
#: Prometra catheter internal volume per cm ([C] Prometra II manual p. 33).
PROMETRA_PER_CM = "0.0026 mL/cm"
PROMETRA_NL_PER_CM: Decimal = q.volume_nl_per_cm(PROMETRA_PER_CM)


def _low_alarm_default(get: Callable[[str], Any]) -> int:
    """The margin rule for the pump's reservoir, accuracy band and stroke (or aliquot) volume."""
    stroke = get("aliquot_volume") if get("mechanism") == "valve_gated" else get("stroke_volume")
    return default_low_alarm_nl(get("reservoir"), get("accuracy"), stroke)


_RESERVOIR = Ref("reservoir", "the reservoir's {}")
_PUMP_RESERVOIR = Ref("pump.reservoir", "the reservoir's {}")
_RUN = Ref("duration", "the scenario's duration ({})")

# ------------------------------------------------------------------ [pump]

_STROKE_VOLUME = Key(
    "stroke_volume", VOLUME_PL, Fixed("0.25 uL"),
    "Nominal volume of one motor stroke. The firmware is calibrated to this value and counts strokes × this volume.",
    between("1 nL", "10 uL"), vary=True, attr="stroke_volume_pl",
    source=Source("U", "§12", "not published for the SynchroMed II"))
_ALIQUOT_VOLUME = Key(
    "aliquot_volume", VOLUME_PL, Fixed("2 uL"),
    "Nominal volume of one aliquot (the chamber between the inlet and outlet valves). The firmware counts "
    "aliquots × this volume, as it counts strokes.", between("1 nL", "10 uL"), vary=True, attr="stroke_volume_pl",
    source=Source("U", "§1.2, §12", "Prometra pulse / accumulator volume not found"))
_FAV_VOLUME = Key(
    "fav_volume", SMALL_VOLUME_NL, Fixed("10 uL"),
    "Free flow a strong magnetic field lets out before the flow-activated valve shuts (it then blocks delivery "
    "until a visit's `reset_valve`).", between("0 uL", "10 uL"), vary=True, attr="fav_volume_nl",
    source=Source("C", "§1.2", "\"at most 10 µL\", Prometra II manual p. 14"))
_LOW_RESERVOIR_ALARM = Key(
    "low_reservoir_alarm", VOLUME_NL,
    Computed(_low_alarm_default, "the [margin rule](#the-low-reservoir-margin): `accuracy × reservoir / "
             "(1 + accuracy)` + one stroke, rounded up to 0.1 mL, at least 2 mL (a tenth of `reservoir` for "
             "reservoirs of 2 mL or less)", LOW_ALARM),
    "The firmware raises the non-critical low-reservoir alarm when its estimate is at or below this volume. The "
    "same study found 4 mL avoided withdrawal symptoms seen above 2 mL [C].",
    between("0 mL", _RESERVOIR, hi_open=True), vary=True, attr="low_reservoir_alarm_nl",
    source=Source("C", "§2.1", "Medtronic's historic recommendation (Neurosurgery 2004; Medtronic "
                               "\"Pump management\")"))
_EMPTY_FLOOR = Key(
    "empty_floor", VOLUME_NL, Fixed("0 mL"),
    "At or below this estimate the firmware raises the critical empty-reservoir alarm and stops delivery "
    "(see [below](#the-empty-reservoir-floor)). The default is a design choice.",
    between("0 mL", Ref("low_reservoir_alarm", "the low-reservoir alarm's {}")), vary=True,
    attr="empty_floor_nl")
_STROKE_CV = Key(
    "stroke_cv", FRACTION, Fixed("0 %"),
    "Stroke-to-stroke (aliquot-to-aliquot) scatter (coefficient of variation, normal, clipped at 0). Drawn from "
    "the seeded random stream.", between("0 %", "100 %"), vary=True, attr="stroke_cv", source=Source("U"))
_MIN_RATE = Key(
    "min_rate", FLOW_PL_PER_DAY, Fixed("0.048 mL/day"),
    "Lowest programmable rate. Mode `stopped`, and `single_bolus` after its bolus, run at this rate.",
    Range(lo="0 mL/day", lo_open=True, hi=Ref("max_rate")), vary=True, attr="min_rate_pl_per_day",
    source=Source("U", "§1.1", "SynchroMed II flow range"))
_MAX_RATE = Key(
    "max_rate", FLOW_PL_PER_DAY, Fixed("24 mL/day"), "Highest rate; also the priming-bolus rate.",
    between(Ref("min_rate"), "100 mL/day"), vary=True, attr="max_rate_pl_per_day",
    source=Source("U", "§1.1", "SynchroMed II flow range"))
_NON_CRITICAL_TONE = Key(
    "non_critical_tone_interval", DURATION_MS, Fixed("1 h"),
    "Repeat interval of the non-critical tone (1 s single tone [C]).", between("1 s", "1 d"), vary=True,
    attr="non_critical_tone_interval_ms",
    source=Source("C", "§2.1", "\"about once an hour\" (Medtronic \"Pump management\")"))
_CRITICAL_TONE = Key(
    "critical_tone_interval", DURATION_MS, Fixed("10 min"),
    "Repeat interval of the critical tone (3 s two-tone [C]).", between("1 s", "1 d"), vary=True,
    attr="critical_tone_interval_ms", source=Source("U", "§2.1"))
#: Keys of a pump with firmware (a peristaltic or valve-gated pump), after its stroke or aliquot volume.
_FIRMWARE_KEYS = (_LOW_RESERVOIR_ALARM, _EMPTY_FLOOR, _STROKE_CV, _MIN_RATE, _MAX_RATE, _NON_CRITICAL_TONE,
                  _CRITICAL_TONE)

_MECHANISM_CASES = Variants("mechanism", {
    "peristaltic": (_STROKE_VOLUME, *_FIRMWARE_KEYS),
    "valve_gated": (_ALIQUOT_VOLUME, *_FIRMWARE_KEYS, _FAV_VOLUME),
    "constant_flow": (
        Key("nominal_rate", FLOW_PL_PER_DAY, Fixed("1 mL/day"),
            "The labelled flow rate at 37 °C and 101.325 kPa (sea level); the real rate follows the "
            "[flow law](mechanisms.md#constant-flow) as the environment changes.",
            between("0.01 mL/day", "24 mL/day"), vary=True, attr="nominal_rate_pl_per_day",
            source=Source("U", "§1.3", "Codman 3000 rates not found")),
        Key("propellant_pressure", PRESSURE_KPA, Fixed("200 kPa"),
            "Absolute vapour pressure of the propellant at 37 °C. What it exceeds the outlet pressure (ambient + "
            "CSF) by drives the flow.",
            Range(lo="103 kPa", lo_open=True, hi="1000 kPa",
                  text="above 103 kPa (sea-level pressure plus CSF pressure: no flow at or below it) and at most "
                       "1000 kPa"),
            vary=True, attr="propellant_kpa", source=Source("U", "§5.3")),
        Key("propellant_pressure_rise", FRACTION, Fixed("3 %"),
            "Relative rise of the propellant's vapour pressure per °C of body temperature (Clausius-Clapeyron: "
            "about 3 %/°C for a vapour of ~25 kJ/mol at 37 °C [D]).", between("0 %", "20 %"), vary=True,
            attr="propellant_rise", source=Source("U", "§5.3")),
    ),
})

PUMP = Table(
    "pump", "The pump: device profile, mechanism, reservoir, alarm settings and the pump's errors.",
    presence="implicit", variants=_MECHANISM_CASES, members=(
        Key("profile", choice(tuple(PROFILES)), Fixed(DEFAULT_PROFILE),
            "Device profile: defaults for the other `[pump]` keys (see [device profiles](#device-profiles)); "
            "any key written here still wins.", attr="profile"),
        Key("mechanism", choice(MECHANISMS), Fixed("peristaltic"),
            "Pumping principle ([mechanisms](mechanisms.md)): `peristaltic` (motor strokes), `valve_gated` "
            "(aliquots between two valves), `constant_flow` (gas-driven, no firmware). The keys below depend on "
            "it.", attr="mechanism", source=Source("C", "§1.5")),
        Key("reservoir", VOLUME_NL, Fixed("20 mL"), "Reservoir capacity.",
            between("0 mL", "100 mL", lo_open=True), vary=True, attr="reservoir_nl",
            source=Source("C", "§1.1", "SynchroMed II 8637-20 (FDA recall page)")),
        Key("fill", VOLUME_NL, SameAs("reservoir"),
            "Volume in the reservoir at t = 0, of the `[drug]` concentration. The firmware is told this value at "
            "implant.", between("0 mL", _RESERVOIR), vary=True, attr="fill_nl"),
        Key("accuracy", FRACTION, Fixed("11 %"),
            "The flow accuracy band ±e the pump is specified to. The default `low_reservoir_alarm` protects "
            "against it ([margin rule](#the-low-reservoir-margin)); for a constant-flow pump it sets the refill "
            "margin. It does not change the real flow (that is `calibration_error`).",
            between("0 %", "50 %"), vary=True, attr="accuracy",
            source=Source("U", "§1.1", "SynchroMed II spec unreadable; 11 % is the band 2 mL protects")),
        Key("calibration_error", FRACTION, Fixed("0 %"),
            "Systematic per-pump error: each real stroke (aliquot, picolitre of flow) moves `1 + "
            "calibration_error` times its nominal volume. Positive = the pump delivers more than the firmware "
            "believes (or than its label says).", between("-50 %", "50 %"), vary=True,
            attr="calibration_error", source=Source("U", "§1.1", "accuracy spec about ±14.5 %, unconfirmed")),
        Key("internal_volume", VOLUME_NL, Fixed("0 mL"),
            "Pump tubing between the reservoir and the catheter port. Added to the catheter volume to form the "
            "dead volume (plant and firmware).", between("0 mL", "5 mL"), vary=True, attr="internal_volume_nl",
            source=Source("U", "§4.1", "pump pathway volume not readable")),
        Key("unaspirated_volume", VOLUME_NL, Fixed("0 mL"),
            "Volume an aspiration leaves in the reservoir at a refill (needle dead space). The firmware does not "
            "know about it.", between("0 mL", _RESERVOIR), vary=True, attr="unaspirated_nl",
            source=Source("U")),
    ))

# ------------------------------------------------------------------ [catheter]

CATHETER = Table(
    "catheter", "The catheter: internal volume and whether it starts full of drug.", presence="implicit",
    exclusive=(Exclusive(("volume",), ("length", "volume_per_cm"),
                         "either volume, or length with volume_per_cm, not both"),),
    members=(
        Key("volume", VOLUME_NL, Unset("from `length × volume_per_cm`"),
            "Internal volume of the implanted catheter.", between("0 mL", MAX_CATHETER_VOLUME), vary=True),
        Key("length", LENGTH_CM, Fixed("90 cm"), "Implanted length.",
            between("0 cm", "200 cm", lo_open=True), vary=True,
            source=Source("D", "§10.4", "110 cm as supplied minus a 20 cm trim")),
        Key("volume_per_cm", NL_PER_CM, Fixed(PROMETRA_PER_CM), "Internal volume per cm.",
            between("0 mL/cm", "0.1 mL/cm", lo_open=True), vary=True,
            source=Source("C", "§1.2", "Prometra II manual p. 33")),
        Key("primed", BOOLEAN, Fixed(True),
            "`true`: the catheter (and `internal_volume`) starts full of drug at the `[drug]` concentration. "
            "`false`: it starts full of drug-free fluid, so the first dead volume pumped delivers no drug (use a "
            "priming bolus).", attr="primed"),
    ),
)

# ------------------------------------------------------------------ [drug]

def _library(key: str, kind: Kind) -> Callable[[Callable[[str], Any]], Any]:
    """The default of ``[drug.limits] KEY``: the built-in library's entry for ``[drug] name``, or none."""
    def default(get: Callable[[str], Any]) -> Any:
        value = drug_library.entry(get("drug.name")).get(key)
        return None if value is None else kind.parse(value)
    return default


def _limit(key: str, kind: Kind, zero: str, doc: str) -> Key:
    """A ``[drug.limits]`` key: above *zero* (its kind's zero, written with a unit), defaulting to the library."""
    return Key(key, kind, Computed(_library(key, kind), "the [built-in library](#drug-library)'s entry for "
                                                       "`[drug] name`, else none"),
               doc, above(zero), vary=True, attr=drug_library.LIMIT_FIELDS[key][0])


_SOFT = " A value above it refuses the command unless the visit (or `[prescription]`) has `confirm = true`."
_HARD = " A value above it refuses the command, confirmed or not."
LIMITS = Table(
    "limits", "The drug library's limits for the drug in the pump (see [drug library](#drug-library)).",
    presence="implicit", members=(
        _limit("concentration_soft", CONC_NG_PER_ML, "0 mg/mL", "Soft limit on the concentration (refills)." + _SOFT),
        _limit("concentration_hard", CONC_NG_PER_ML, "0 mg/mL", "Hard limit on the concentration." + _HARD),
        _limit("daily_dose_soft", DOSE_NG_PER_DAY, "0 mcg/day",
               "Soft limit on the nominal daily dose, with every patient bolus allowed in a day." + _SOFT),
        _limit("daily_dose_hard", DOSE_NG_PER_DAY, "0 mcg/day", "Hard limit on the daily dose (as above)." + _HARD),
        _limit("bolus_soft", MASS_NG, "0 mcg", "Soft limit on a bolus dose (prescribed or patient)." + _SOFT),
        _limit("bolus_hard", MASS_NG, "0 mcg", "Hard limit on a bolus dose." + _HARD),
        _limit("step_soft", DOSE_NG_PER_DAY, "0 mcg/day",
               "Soft limit on raising the daily dose at one visit (a titration step; decreases are free)." + _SOFT),
        _limit("step_hard", DOSE_NG_PER_DAY, "0 mcg/day", "Hard limit on a titration step." + _HARD),
        _limit("step_interval", DURATION_MS, "0 ms",
               "Least time between two raises of the daily dose; sooner is a soft-limit violation." + _SOFT),
    ))

DRUG = Table("drug", "The drug in the pump at the start.", presence="implicit", members=(
    Key("name", text(), Fixed("unnamed"),
        "The drug. Picks its [drug library](#drug-library) entry (`morphine`, `ziconotide`, `baclofen` or a brand "
        "name; any case); a name without an entry (such as the default) is a label only.", attr="name"),
    Key("concentration", CONC_NG_PER_ML, REQUIRED,
        "Concentration of the fill at t = 0. Baclofen 500 mcg/mL is a Lioresal Intrathecal strength [C].",
        between("0 mg/mL", "100 mg/mL", lo_open=True), vary=True, attr="conc_ng_per_ml"),
    Key("density", DENSITY_NG_PER_ML, Fixed("1 g/mL"),
        "Density of the solution: the mass a balance under the catheter tip weighs per mL delivered "
        "(`pumpsim hil emulate balance`, docs/balance.md). Water at 20 °C is 0.998 g/mL [C]; 1 g/mL is the "
        "gravimetric analysis' default too.", between("0.5 g/mL", "2 g/mL"), attr="density_ng_per_ml",
        source=Source("D", "§9.2", "a convention; water 0.998 g/mL at 20 °C")),
    LIMITS,
))

# ------------------------------------------------------------------ [ptm]


def _durations(raw: object) -> tuple[int, ...]:
    if not isinstance(raw, list):
        raise q.QuantityError(raw, f"a list of durations, such as [\"1 h\", \"1.5 h\"] ({q.DURATION})")
    return tuple(sorted(q.duration_ms(x) for x in raw))


DURATIONS_MS = Kind("list of durations", "a list of durations", f"a list of durations ({q.DURATION})", _durations,
                    lambda v: "[" + ", ".join(f'"{show_duration(x)}"' for x in v) + "]",
                    allowed="each from 0 ms to the scenario's `duration`, in any order")

PTM = Table(
    "ptm", "Patient-activated boluses (SynchroMed myPTM, Prometra PTC): the program and when the patient presses.",
    members=(
        Key("bolus", MASS_NG, REQUIRED, "Drug mass of each patient bolus.", between("0 mcg", "1 g", lo_open=True),
            vary=True, source=Source("C", "§1.2", "PTC: dose per bolus")),
        Key("duration", DURATION_MS, REQUIRED, "Time each bolus is delivered over, on top of the therapy.",
            between("1 min", "1 d"), vary=True, source=Source("C", "§1.2", "PTC: bolus duration")),
        Key("lockout", DURATION_MS, REQUIRED,
            "Least time from the start of a granted bolus to the next grant; a press sooner is `refused_lockout`.",
            between(Ref("duration"), "1 d"), vary=True, source=Source("C", "§1.2", "PTC: lockout duration")),
        Key("max_per_day", INTEGER, REQUIRED,
            "Most boluses granted in any 24 hours (a rolling window, as the PTC's \"max in 24 h\"); a press "
            "beyond it is `refused_max`.", Range(lo=1, hi=MAX_PTM_PER_DAY),
            source=Source("C", "§1.2", "PTC: allotted boluses per day (max in 24 h)")),
        Key("presses", DURATIONS_MS, Fixed([]), "Times the patient presses, from t = 0.",
            rule="each within the run"),
    ),
)

# ------------------------------------------------------------------ [prescription]

MODES = ("continuous", "flex", "periodic_bolus", "single_bolus", "stopped")

_DOSE = Key("dose", DOSE_NG_PER_DAY,
            Required(missing=f"the dose rate: {q.DOSE_RATE}, or rate = {q.VOLUME_RATE}", unless=("rate",)),
            "Dose rate (in `periodic_bolus` the basal rate; in a flex step the step's rate).", above("0 mcg/day"),
            vary=True)
_RATE = Key("rate", FLOW_PL_PER_DAY, Unset("instead of `dose`"),
            "Alternative to `dose`: converted to a dose at the concentration in effect (see "
            "[rate vs dose](#rate-versus-dose)). Give `dose` or `rate`, not both.", above("0 mL/day"), vary=True)
_DOSE_OR_RATE = Exclusive(("rate",), ("dose",), "either dose or rate, not both")

STEP = Table(
    "step", "Time-of-day steps of a flex prescription (see below).", array=True, presence="required",
    count=(1, MAX_FLEX_STEPS), exclusive=(_DOSE_OR_RATE,),
    members=(
        Key("start", TIME_OF_DAY_MS, REQUIRED,
            "Time of day the step starts; the first step starts at `\"00:00\"` and starts increase strictly. The "
            "step lasts until the next one starts (the last until midnight).",
            rule="`\"00:00\"` for the first step, then increasing"),
        _DOSE,
        _RATE,
    ),
)

_BOLUS_DURATION = Key("bolus_duration", DURATION_MS, REQUIRED, "Time over which each bolus is delivered.",
                      between("1 min", "1 d"), vary=True)
_BOLUS = Key("bolus", MASS_NG, REQUIRED, "Drug mass of each bolus.", above("0 mcg"), vary=True)
_RX_CASES = Variants("mode", {
    "continuous": (_DOSE, _RATE),
    "flex": (STEP,),
    "periodic_bolus": (
        _DOSE, _RATE, _BOLUS, _BOLUS_DURATION,
        Key("bolus_interval", DURATION_MS, REQUIRED, "Time between bolus starts.",
            Range(lo=Ref("bolus_duration"), lo_open=True, hi="7 d"), vary=True),
        Key("bolus_start", TIME_OF_DAY_MS, Fixed("00:00"),
            "Time of day of one bolus start; boluses then fall every `bolus_interval` before and after it."),
    ),
    "single_bolus": (_BOLUS, _BOLUS_DURATION),
    "stopped": (),
})
_MODE = Key("mode", choice(MODES), Fixed("continuous"),
            "Infusion mode ([C] functionalneuro.surgery, domain.md §3; the name \"periodic bolus\" is [U]). The "
            "other keys depend on it.")

PRESCRIPTION = Table(
    "prescription", "What the clinician programs at t = 0. Required, except for a constant-flow pump, which has "
    "none (its rate is `[pump] nominal_rate`).", presence="optional",
    missing="a [prescription] table with at least mode and dose", variants=_RX_CASES, exclusive=(_DOSE_OR_RATE,),
    members=(
        _MODE,
        Key("priming_bolus", BOOLEAN, Fixed(False), "Send a priming bolus at t = 0, right after boot."),
        Key("confirm", BOOLEAN, Fixed(False),
            "The clinician confirms the drug library's soft limits this prescription exceeds (else the scenario "
            "is refused)."),
    ),
)
VISIT_PRESCRIPTION = Table(
    "prescription", "A new prescription: same keys as `[prescription]` except `priming_bolus`. With a refill it "
    "takes effect with the new concentration; without one it is a reprogramming.",
    variants=_RX_CASES, exclusive=(_DOSE_OR_RATE,), members=(_MODE,),
)

# ------------------------------------------------------------------ [[visit]], [refill_plan]

VISIT = Table(
    "visit", "Clinic visits: refills, concentration changes, reprogramming.", array=True,
    exclusive=(Exclusive(("dose", "rate"), ("prescription",),
                         "either dose/rate or a [visit.prescription] table, not both"), _DOSE_OR_RATE),
    members=(
        Key("at", DURATION_MS, REQUIRED, "Time of the visit, from t = 0 (midnight).", between("0 ms", _RUN),
            vary=True),
        Key("refill", VOLUME_NL, Unset("no refill"),
            "Volume injected into the reservoir (see [refills](#what-happens-at-a-refill)).",
            between("0 mL", _PUMP_RESERVOIR, lo_open=True), vary=True),
        Key("concentration", CONC_NG_PER_ML, Unset("unchanged"),
            "Concentration of the injected drug. The concentration changes only with a refill.",
            between("0 mg/mL", "100 mg/mL", lo_open=True), vary=True,
            requires=Requires(("refill",), "a refill in the same visit (the concentration changes only with a "
                                           "refill)")),
        Key("aspirate", BOOLEAN, Fixed(True),
            "`true`: the residual is drawn out before the injection (leaving `unaspirated_volume`). `false`: the "
            "injection is added to the residual and mixes with it."),
        Key("dose", DOSE_NG_PER_DAY, Unset("no change"),
            "Shorthand for a new `continuous` prescription at this dose rate (whatever the previous mode).",
            above("0 mcg/day"), vary=True),
        Key("rate", FLOW_PL_PER_DAY, Unset("no change"),
            "As `dose`, written as a flow rate at the concentration in effect after the visit's refill.",
            above("0 mL/day"), vary=True),
        VISIT_PRESCRIPTION,
        Key("bridge_bolus", BOOLEAN, Fixed(False),
            "Keep the old program until the dead volume holding the old drug has been delivered (see "
            "[below](#bridge-bolus-and-priming-bolus)).",
            requires=Requires(("concentration",), "a concentration change in the same visit")),
        Key("priming_bolus", BOOLEAN, Fixed(False),
            "Push the dead volume through at `max_rate`. Refused (a `rejected` event) while the reservoir is "
            "empty; a priming bolus cut off by the empty floor is cancelled."),
        Key("low_reservoir_alarm", VOLUME_NL, Unset("unchanged"), "New low-reservoir alarm threshold.",
            between(Ref("pump.empty_floor", "the empty floor ({})"), _PUMP_RESERVOIR, hi_open=True), vary=True),
        Key("confirm", BOOLEAN, Fixed(False),
            "The clinician confirms the drug library's soft limits the visit's refill or prescription exceeds; "
            "without it such a command is refused (a `rejected` event, reason `soft_limit`)."),
        Key("reset_valve", BOOLEAN, Fixed(False),
            "Valve-gated pumps: reset a flow-activated valve that a magnetic field shut (it blocks all delivery "
            "until reset [C]; done with the clinician programmer at a visit [U]).",
            rule="`mechanism = \"valve_gated\"` only"),
    ),
)

REFILL_PLAN = Table("refill_plan", "Regular refills without writing one [[visit]] per refill.", members=(
    Key("every", DURATION_MS, REQUIRED, "Interval between refills.", between("1 d", "365 d"), vary=True),
    Key("first", DURATION_MS, SameAs("every"), "Time of the first refill.", between("0 ms", _RUN), vary=True),
    Key("refill", VOLUME_NL, REQUIRED, "Volume injected at each refill.",
        between("0 mL", _PUMP_RESERVOIR, lo_open=True), vary=True),
    Key("aspirate", BOOLEAN, Fixed(True), "As for `[[visit]]`."),
    Key("until", DURATION_MS, SameAs("duration"), "No planned refill at or after this time.", above("0 ms"),
        vary=True),
))

# ------------------------------------------------------------------ [patient], [patient.trial]


def _volume_default(get: Callable[[str], Any]) -> int:
    """The drug's distribution volume (nL): per kg for morphine (Nordberg), else the CSF volume."""
    facts = drug_facts(get("drug.name"))
    ml = facts.volume_for(float(get("patient.weight"))) if facts is not None else CSF_VOLUME_ML
    return round(ml * NL_PER_ML)


def _start_default(get: Callable[[str], Any]) -> str:
    return "steady_state" if get("catheter.primed") else "zero"


_PER_DRUG = ("from the drug: ziconotide 0.38 mL/min [C] (Prialt PI); morphine 0.003 mL/min per kg [C] (Nordberg "
             "1984); baclofen from its half-life")

TRIAL = Table(
    "trial", "A screening trial before the implant: a bolus or a temporary infusion, its CSF curve (`trial.csv`) and "
    "the relief decision.",
    variants=Variants("kind", {
        "bolus": (
            Key("bolus", MASS_NG, REQUIRED, "Drug mass of the screening bolus (baclofen screening 50 mcg [C]; "
                "morphine 0.5-1.0 mg [C]).", above("0 mcg")),
            Key("bolus_duration", DURATION_MS, Fixed("1 min"), "Over how long it is given.",
                between("1 s", "1 d"), source=Source("C", "§6.2", "baclofen: by barbotage over at least 1 min")),
        ),
        "infusion": (
            Key("dose", DOSE_NG_PER_DAY, REQUIRED, "Dose rate of the temporary infusion.", above("0 mcg/day")),
            Key("duration", DURATION_MS, REQUIRED, "How long it runs.", between("1 min", "30 d")),
        ),
    }),
    members=(
        Key("kind", choice(("bolus", "infusion")), Fixed("bolus"), "The trial's dose; the other keys depend on it."),
        Key("observe", DURATION_MS, Fixed("24 h"), "Observation after the dose ends; `trial.csv` covers dose and "
            "observation.", between("1 h", "30 d"),
            source=Source("C", "§6.3", "Infumorph: observe at least 24 h after a test dose")),
        Key("relief", FRACTION, REQUIRED, "The relief the patient reported in the trial (pain or spasticity), an "
            "input: pumpsim computes the CSF curve, not the relief.", between("0 %", "100 %")),
        Key("threshold", FRACTION, Fixed("50 %"), "The relief that makes the trial a success (`passed`).",
            between("0 %", "100 %"), source=Source("C2", "§13", "the usual >= 50 % criterion")),
    ),
)

PATIENT = Table(
    "patient", "The patient: an optional one-compartment CSF model of the drug leaving the catheter tip, a "
    "therapeutic band, withdrawal-risk windows and a trial before the implant (see [below](#patient-and-trial)).",
    exclusive=(Exclusive(("clearance",), ("half_life",), "either clearance or half_life, not both"),),
    members=(
        Key("pk", BOOLEAN, Fixed(True), "Compute the CSF model (`pk.csv`, `trial.csv`, summary `patient`). `false` "
            "keeps the table but computes nothing, so the outputs are those of a run without it."),
        Key("weight", WEIGHT_KG, Fixed("70 kg"), "Body weight; scales morphine's volume and clearance (per kg).",
            between("1 kg", "300 kg"), source=Source("U", "§10.12", "the worked example's 70 kg patient")),
        Key("volume", VOLUME_NL, Computed(_volume_default, "morphine: 1 mL/kg × `weight` [C] (Nordberg 1984)",
                                          f"{CSF_VOLUME_ML:g} mL"),
            "Distribution volume in the CSF.", between("1 mL", "1000 mL"),
            source=Source("C", "§7", "adult CSF volume ~150 mL (StatPearls)")),
        Key("clearance", FLOW_PL_PER_DAY, Unset(_PER_DRUG),
            "Clearance from the CSF, e.g. `\"0.38 mL/min\"`. Give `clearance` or `half_life` (or neither, for a "
            "drug pumpsim knows).", Range(lo="0 mL/min", lo_open=True, hi="100 mL/min")),
        Key("half_life", DURATION_MS, Unset("from the drug: baclofen 5 h [C2]; else from `clearance`"),
            "Elimination half-life in the CSF; clearance = ln 2 × volume / half_life.", between("1 min", "30 d")),
        Key("start", choice(("steady_state", "zero")),
            Computed(_start_default, "`\"zero\"` with an unprimed catheter (a new implant)", "steady_state"),
            "CSF concentration at t = 0: the steady state of the prescription at t = 0 (a patient already on it), "
            "or zero."),
        Key("band_low", CSF_NG_PER_ML, Unset("no band"), "Lower edge of the therapeutic CSF band (a scenario "
            "input: the reference gives no band [U]).", above("0 ng/mL")),
        Key("band_high", CSF_NG_PER_ML, Unset("no band"), "Upper edge of the band; above `band_low`.",
            above("0 ng/mL")),
        Key("withdrawal_below", CSF_NG_PER_ML, Unset("`band_low`, else half the starting steady state [U]"),
            "A withdrawal episode starts when the concentration falls below this (drugs with withdrawal only: "
            "baclofen, opioids, clonidine [C]).", above("0 ng/mL")),
        Key("withdrawal_from", DURATION_MS, Fixed("24 h"), "Severe withdrawal may develop from this long into an "
            "episode ...", between("0 ms", "30 d"), source=Source("C2", "§6.3", "baclofen, neurosurgerywiki")),
        Key("withdrawal_to", DURATION_MS, Fixed("72 h"), "... to this long.",
            Range(lo=Ref("withdrawal_from"), hi="30 d"), source=Source("C2", "§6.3", "baclofen, neurosurgerywiki")),
        TRIAL,
    ),
)

# ------------------------------------------------------------------ the scenario

ROOT = Table("", "A scenario.", members=(
    Key("name", text(200), Fixed("unnamed"),
        "Scenario name; used in outputs and in the default output folder name."),
    Key("description", text(), Fixed(""), "Free text."),
    Key("duration", DURATION_MS, REQUIRED,
        "Length of the run. `pumpsim run --days N` overrides it for one run.",
        Range("1 ms", MAX_DURATION, text=f"from 1 ms to {MAX_DURATION} (30 years)"), vary=True),
    Key("seed", INTEGER, Fixed(0),
        "Seed of the stroke-volume random stream (see [architecture](architecture.md#seeding)). `--seed` / "
        "`simulate(seed=...)` override it. With `stroke_cv = \"0 %\"` it has no effect.", Range(lo=0)),
    Key("trace_interval", DURATION_MS, Fixed("1 h"),
        "Spacing of the regular rows in `trace.csv` ([output format](output-format.md#tracecsv)). With long runs "
        "keep it coarse: see [output size](#output-size).", between("1 min", "1 d")),
    PUMP,
    CATHETER,
    DRUG,
    PRESCRIPTION,
    VISIT,
    REFILL_PLAN,
    PTM,
    PATIENT,
))

#: The scenario file format.
SCENARIO = Schema(ROOT, profiles=PROFILES, profile_key="pump.profile")


# ------------------------------------------------------------------ what a sweep may vary


def variable_keys(schema: Schema = SCENARIO) -> dict[str, dict[str, str]]:
    """Numeric keys ``pumpsim sweep --vary`` may vary: table path -> key -> unit family name.

    The table path is dotted ("visit.prescription.step", "" for the top
    level); the family names are those of :data:`~pumpsim.scenario.quantities.FAMILIES`.
    """
    out: dict[str, dict[str, str]] = {}
    for path, table in schema.tables():
        keys = {m.name: m.kind.family.name for m in table.every_member()
                if isinstance(m, Key) and m.vary and m.kind.family is not None}
        if keys:
            out[path] = keys
    return out


def array_tables(schema: Schema = SCENARIO) -> set[str]:
    """Dotted paths of the tables that are arrays of tables: a key into one needs an entry index."""
    return {path for path, table in schema.tables() if table.array}


def unit_families() -> dict[str, Family]:
    """Unit families by name: ``.expected`` (message text) and ``.scale(unit)`` (base units per unit, or None)."""
    return dict(FAMILIES)


__all__ = [
    "MAX_CATHETER_VOLUME",
    "MAX_DURATION_MS",
    "MODES",
    "PROMETRA_NL_PER_CM",
    "SCENARIO",
    "array_tables",
    "unit_families",
    "variable_keys",
]
