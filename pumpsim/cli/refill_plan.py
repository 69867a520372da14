"""``pumpsim refill-plan``: days to the alarm and to empty, the refill date, conversions, a concentration change.

The arithmetic is :mod:`pumpsim.analysis.refill_plan` (domain.md §10 items
1-5); this module reads the options and prints the plan in the units
clinicians use: mL, mg or mcg as the drug is written (:mod:`pumpsim.analysis.drugs`),
days and calendar dates.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from typing import Any

from ..analysis.drugs import mass_unit
from ..analysis.refill_plan import (
    ConcentrationChange,
    RefillPlan,
    catheter_volume_nl,
    concentration_change,
    dose_from_rate,
    plan_refill,
    rate_from_dose,
)
from ..scenario import quantities as q
from ..units import MS_PER_DAY, NG_PER_MCG, NG_PER_MG, NL_PER_ML, PL_PER_ML
from .app import Command, UserError
from .common import quantity, schema_default

#: The flow-accuracy band when none is given: ±15 %, the Prometra II study's 85-115 % endpoint ([C] domain.md
#: §1.2); the SynchroMed II specification (about ±14.5 %) is [U].
DEFAULT_ACCURACY = "15 %"
#: Highest concentration (the scenario format's limit) and reservoir accepted.
MAX_CONCENTRATION = "100 mg/mL"
MAX_RESERVOIR = "100 mL"

DESCRIPTION = ("Plan the next refill: days until the reservoir reaches the low-reservoir alarm volume and until it "
               "is empty, nominal and within the flow-accuracy band; the recommended refill date; dose, rate and "
               "concentration conversions; and, for a refill that changes the concentration, what the old drug in "
               "the catheter does and the bridge bolus that avoids it. Formulas: domain.md section 10, README.")
EPILOG = ("Example (domain.md 10.1): pumpsim refill-plan --reservoir '20 mL' --alarm '2 mL' --rate '0.5 mL/day' "
          "--concentration '500 mcg/mL' --drug baclofen. Recommended refill day = the earliest day the real "
          "reservoir can reach the alarm volume (pump fast by the accuracy band), rounded down, less --margin.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--drug", default="", metavar="NAME",
                   help="drug name (sets the units shown: morphine in mg, baclofen and ziconotide in mcg, ...)")
    p.add_argument("--concentration", metavar="C", help="concentration of the fill, e.g. '25 mg/mL' (required)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--dose", metavar="D", help="prescribed dose rate, e.g. '5 mg/day' or '500 mcg/day'")
    g.add_argument("--rate", metavar="Q", help="programmed flow rate instead of --dose, e.g. '0.5 mL/day'")
    p.add_argument("--reservoir", default=schema_default("pump.reservoir"), metavar="V",
                   help="reservoir capacity (default: %(default)s)")
    p.add_argument("--fill", metavar="V", help="volume filled (default: the reservoir capacity)")
    p.add_argument("--alarm", default=schema_default("pump.low_reservoir_alarm"), metavar="V",
                   help="low-reservoir alarm volume (default: %(default)s; Prometra plans to '3 mL')")
    p.add_argument("--accuracy", default=DEFAULT_ACCURACY, metavar="E",
                   help="flow-accuracy band +-E (default: %(default)s, the Prometra II study's 85-115 %% endpoint)")
    p.add_argument("--margin", default="0 d", metavar="DAYS", help="days to refill before the earliest alarm day "
                   "(whole days, default: %(default)s)")
    p.add_argument("--start", metavar="YYYY-MM-DD", help="date of the fill (default: today)")
    p.add_argument("--boluses", type=int, default=0, metavar="N",
                   help="patient boluses allotted per day (Prometra PTC); the plan assumes all are used")
    p.add_argument("--bolus", metavar="AMOUNT", help="each patient bolus, a volume ('0.02 mL') or a drug mass")
    p.add_argument("--previous-concentration", metavar="C",
                   help="the concentration in the pump before this refill: plan the concentration change")
    prev = p.add_mutually_exclusive_group()
    prev.add_argument("--previous-dose", metavar="D", help="dose before the refill (default: the new --dose)")
    prev.add_argument("--previous-rate", metavar="Q", help="rate before the refill, instead of --previous-dose")
    cath = p.add_mutually_exclusive_group()
    cath.add_argument("--catheter-length", default=None, metavar="L",
                      help=f"implanted catheter length (default: {schema_default('catheter.length')})")
    cath.add_argument("--catheter-volume", metavar="V", help="catheter internal volume instead of its length")
    p.add_argument("--volume-per-cm", default=schema_default("catheter.volume_per_cm"), metavar="V",
                   help="catheter volume per cm (default: %(default)s, Prometra catheter)")
    p.add_argument("--internal-volume", default=schema_default("pump.internal_volume"), metavar="V",
                   help="pump tubing volume added to the catheter's (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the plan as one JSON object (units in the key names)")


# ------------------------------------------------------------------ reading the options


def _positive(flag: str, text: str, value: int | float, hi: int | None = None, hi_text: str = "") -> None:
    if value <= 0 or (hi is not None and value > hi):
        raise UserError(f"{flag} {text!r}: expected a value above 0{f' and at most {hi_text}' if hi else ''}")


def _conc(flag: str, text: str) -> int:
    c = quantity(flag, text, q.concentration_ng_per_ml)
    _positive(flag, text, c, q.concentration_ng_per_ml(MAX_CONCENTRATION), MAX_CONCENTRATION)
    return c


def _daily(flag_dose: str, dose: str | None, flag_rate: str, rate: str | None, conc: int) -> int:
    """The rate (pL/day) of a --dose or --rate option pair at *conc*."""
    if rate is not None:
        r = quantity(flag_rate, rate, q.rate_pl_per_day)
        _positive(flag_rate, rate, r)
        return r
    assert dose is not None
    d = quantity(flag_dose, dose, q.dose_ng_per_day)
    _positive(flag_dose, dose, d)
    return rate_from_dose(d, conc)


def _volume(flag: str, text: str, *, zero: bool = False) -> int:
    v = quantity(flag, text, q.volume_nl)
    if v < 0 or (v == 0 and not zero) or v > q.volume_nl(MAX_RESERVOIR):
        raise UserError(f"{flag} {text!r}: expected a volume {'from 0' if zero else 'above 0'} "
                        f"to {MAX_RESERVOIR}")
    return v


def _bolus_pl_per_day(args: argparse.Namespace, conc: int) -> int:
    n: int = args.boluses
    if n < 0:
        raise UserError(f"--boluses {n}: expected an integer >= 0")
    if args.bolus is None:
        if n:
            raise UserError("--boluses needs --bolus AMOUNT (a volume such as '0.02 mL' or a drug mass)")
        return 0
    if not n:
        raise UserError("--bolus needs --boluses N, the boluses allotted per day")
    try:
        vol_pl = q.volume_pl(args.bolus)
    except q.QuantityError:
        try:
            mass = q.mass_ng(args.bolus)
        except q.QuantityError:
            raise UserError(f"--bolus {args.bolus!r}: expected {q.VOLUME} or {q.MASS}") from None
        vol_pl = rate_from_dose(mass, conc) if mass > 0 else 0  # the volume that holds that mass
    if vol_pl <= 0:
        raise UserError(f"--bolus {args.bolus!r}: expected a volume or drug mass above 0")
    return n * vol_pl


def _start(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--start {text!r}: expected a date YYYY-MM-DD") from None


def _margin(text: str) -> int:
    ms = quantity("--margin", text, q.duration_ms)
    if ms < 0 or ms % MS_PER_DAY:
        raise UserError(f"--margin {text!r}: expected a whole number of days >= 0, such as '2 d'")
    return ms // MS_PER_DAY


def _accuracy(text: str) -> float:
    e = quantity("--accuracy", text, q.percent)
    if not 0 <= e < 1:
        raise UserError(f"--accuracy {text!r}: expected a percentage from 0 % to below 100 %")
    return e


def _change(args: argparse.Namespace, conc: int, rate: int) -> ConcentrationChange | None:
    if args.previous_concentration is None:
        if args.previous_dose is not None or args.previous_rate is not None:
            raise UserError("--previous-dose/--previous-rate need --previous-concentration")
        return None
    old_conc = _conc("--previous-concentration", args.previous_concentration)
    if args.previous_dose is None and args.previous_rate is None:
        old_rate = rate_from_dose(dose_from_rate(rate, conc), old_conc)  # the same dose
    else:
        old_rate = _daily("--previous-dose", args.previous_dose, "--previous-rate", args.previous_rate, old_conc)
    if args.catheter_volume is not None:
        cath = _volume("--catheter-volume", args.catheter_volume, zero=True)
    else:
        length_text = args.catheter_length or schema_default("catheter.length")
        length = quantity("--catheter-length", length_text, q.length_cm)
        per_cm = quantity("--volume-per-cm", args.volume_per_cm, q.volume_nl_per_cm)
        if length <= 0 or per_cm <= 0:
            raise UserError(f"--catheter-length {length_text!r}, --volume-per-cm {args.volume_per_cm!r}: "
                            "expected values above 0")
        cath = catheter_volume_nl(length, per_cm)
    dead = cath + _volume("--internal-volume", args.internal_volume, zero=True)
    return concentration_change(dead, old_conc, conc, old_rate, dose_from_rate(rate, conc))


def run(args: argparse.Namespace) -> int:
    if args.concentration is None:
        raise UserError("refill-plan: give --concentration C (e.g. '25 mg/mL') and --dose D or --rate Q")
    if args.dose is None and args.rate is None:
        raise UserError("refill-plan: give --dose D (e.g. '5 mg/day') or --rate Q (e.g. '0.2 mL/day')")
    conc = _conc("--concentration", args.concentration)
    rate = _daily("--dose", args.dose, "--rate", args.rate, conc)
    reservoir = _volume("--reservoir", args.reservoir)
    fill = reservoir if args.fill is None else _volume("--fill", args.fill, zero=True)
    if fill > reservoir:
        raise UserError(f"--fill {args.fill!r}: expected at most the reservoir's {args.reservoir}")
    alarm = _volume("--alarm", args.alarm, zero=True)
    if alarm >= reservoir:
        raise UserError(f"--alarm {args.alarm!r}: expected below the reservoir's {args.reservoir}")
    plan = plan_refill(fill, alarm, rate, conc, accuracy=_accuracy(args.accuracy), margin_days=_margin(args.margin),
                       bolus_pl_per_day=_bolus_pl_per_day(args, conc))
    change = _change(args, conc, rate)
    start = _start(args.start)
    unit = mass_unit(args.drug, conc)
    if args.json:
        print(json.dumps(plan_record(plan, change, start, args.drug, reservoir), indent=2))
    else:
        print(format_plan(plan, change, start, args.drug, reservoir, unit))
    return 0


# ------------------------------------------------------------------ output


def _mass(ng: float, unit: str) -> str:
    return f"{ng / (NG_PER_MG if unit == 'mg' else NG_PER_MCG):.4g} {unit}"


def _ml(nl: float) -> str:
    return f"{nl / NL_PER_ML:.4g} mL"


def _rate(pl_per_day: float) -> str:
    return f"{pl_per_day / PL_PER_ML:.4g} mL/day"


def _day(days: float, start: date) -> str:
    if days == float("inf"):
        return "never"
    return f"day {days:5.1f}  {start + timedelta(days=int(days)):%a %Y-%m-%d}"


def format_plan(plan: RefillPlan, change: ConcentrationChange | None, start: date, drug: str, reservoir_nl: int,
                unit: str) -> str:
    """The plan as clinicians read it: *unit* ("mg" or "mcg") for drug amounts, mL, days and dates."""
    c = plan.conc_ng_per_ml
    name = f"{drug} " if drug else ""
    lines = [f"refill plan  {name}{_mass(c, unit)}/mL, {_mass(plan.dose_ng_per_day, unit)}/day = "
             f"{_rate(plan.planning_rate_pl_per_day)}"]
    if plan.bolus_pl_per_day:
        lines.append(f"  rate {_rate(plan.rate_pl_per_day)} + patient boluses {_rate(plan.bolus_pl_per_day)} "
                     "(every allotted bolus used)")
    lines.append(f"  fill {_ml(plan.fill_nl)} (reservoir {_ml(reservoir_nl)}) on {start:%a %Y-%m-%d} = day 0; "
                 f"low-reservoir alarm at {_ml(plan.alarm_nl)}; flow accuracy +-{plan.accuracy * 100:g} %")
    e = f"{plan.accuracy * 100:g} %"
    banded = plan.accuracy > 0
    header = f"{'':34}{'nominal':<27}" + (f"{'pump ' + e + ' fast':<27}pump {e} slow" if banded else "")
    lines += ["", header.rstrip()]
    for label, s in (("reservoir at the alarm volume", plan.alarm), ("reservoir empty", plan.empty)):
        row = f"{label:34}{_day(s.nominal, start):<27}"
        lines.append(row + f"{_day(s.earliest, start):<27}{_day(s.latest, start)}" if banded else row.rstrip())
    lines += [f"the pump's own alarm sounds on day {plan.pump_alarm_days:.1f} whatever its error (it counts strokes)",
              ""]
    if plan.refill_day >= 0:
        refill = start + timedelta(days=plan.refill_day)
        lines.append(f"recommended refill  day {plan.refill_day}, {refill:%a %Y-%m-%d}  (the earliest alarm-volume "
                     f"day, {plan.alarm.earliest:.1f}, rounded down, less a {plan.margin_days}-day margin)")
    for w in plan.warnings():
        lines.append(f"WARNING: {w}")
    if change is not None:
        old, new = change.old_conc_ng_per_ml, change.new_conc_ng_per_ml
        lines += [
            "",
            f"concentration change  {_mass(old, unit)}/mL -> {_mass(new, unit)}/mL; rate "
            f"{_rate(change.old_rate_pl_per_day)} -> {_rate(change.new_rate_pl_per_day)} "
            f"({_mass(change.old_dose_ng_per_day, unit)}/day -> {_mass(change.new_dose_ng_per_day, unit)}/day)",
            f"  dead volume (catheter + pump)  {_ml(change.dead_volume_nl)}",
            f"  without a bridge bolus: {_mass(old, unit)}/mL at {_rate(change.new_rate_pl_per_day)} = "
            f"{_mass(change.tip_dose_without_bridge_ng_per_day, unit)}/day ({change.tip_dose_fraction * 100:.0f} % "
            f"of the new dose) for {change.transit_days:.2f} day ({change.transit_days * 24:.1f} h)",
            f"  bridge bolus: {_ml(change.bridge_volume_nl)} at the old {_rate(change.old_rate_pl_per_day)}, "
            f"{change.bridge_days:.2f} day ({change.bridge_days * 24:.1f} h); the tip dose stays "
            f"{_mass(change.old_dose_ng_per_day, unit)}/day",
        ]
    return "\n".join(lines)


def plan_record(plan: RefillPlan, change: ConcentrationChange | None, start: date, drug: str,
                reservoir_nl: int) -> dict[str, Any]:
    """The plan as JSON-ready data, units in the key names (``--json``)."""
    def span(s: Any) -> dict[str, float | None]:
        return {k: (None if v == float("inf") else v) for k, v in
                (("nominal_days", s.nominal), ("earliest_days", s.earliest), ("latest_days", s.latest))}

    out: dict[str, Any] = {
        "drug": drug,
        "start_date": start.isoformat(),
        "reservoir_ml": reservoir_nl / NL_PER_ML,
        "fill_ml": plan.fill_nl / NL_PER_ML,
        "alarm_ml": plan.alarm_nl / NL_PER_ML,
        "concentration_mg_per_ml": plan.conc_ng_per_ml / NG_PER_MG,
        "rate_ml_per_day": plan.rate_pl_per_day / PL_PER_ML,
        "bolus_ml_per_day": plan.bolus_pl_per_day / PL_PER_ML,
        "dose_mg_per_day": plan.dose_ng_per_day / NG_PER_MG,
        "accuracy_pct": plan.accuracy * 100,
        "alarm_volume_reached": span(plan.alarm),
        "empty": span(plan.empty),
        "pump_alarm_days": plan.pump_alarm_days,
        "margin_days": plan.margin_days,
        "refill_day": plan.refill_day,
        "refill_date": (start + timedelta(days=plan.refill_day)).isoformat() if plan.refill_day >= 0 else None,
        "warnings": plan.warnings(),
    }
    if change is not None:
        out["concentration_change"] = {
            "dead_volume_ml": change.dead_volume_nl / NL_PER_ML,
            "old_concentration_mg_per_ml": change.old_conc_ng_per_ml / NG_PER_MG,
            "old_rate_ml_per_day": change.old_rate_pl_per_day / PL_PER_ML,
            "new_rate_ml_per_day": change.new_rate_pl_per_day / PL_PER_ML,
            "transit_days": change.transit_days,
            "tip_dose_without_bridge_mg_per_day": change.tip_dose_without_bridge_ng_per_day / NG_PER_MG,
            "tip_dose_fraction_pct": change.tip_dose_fraction * 100,
            "bridge_volume_ml": change.bridge_volume_nl / NL_PER_ML,
            "bridge_days": change.bridge_days,
        }
    return out


COMMAND = Command("refill-plan", "plan a refill: days to the alarm and to empty, refill date, bridge bolus",
                  add_arguments, run, description=DESCRIPTION, epilog=EPILOG)
