"""pumpsim refill-plan and pumpsim.analysis.refill_plan: domain.md §10 items 1-5, each worked by hand."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import pumpsim
from pumpsim.analysis import (
    catheter_volume_nl,
    concentration_change,
    dose_from_rate,
    mass_unit,
    plan_refill,
    rate_from_dose,
    time_to_threshold,
)
from pumpsim.cli import main
from pumpsim.scenario.schema import PROMETRA_NL_PER_CM
from pumpsim.units import MS_PER_S, NG_PER_MCG, NG_PER_MG, NL_PER_ML, PL_PER_ML, S_PER_DAY

ML = NL_PER_ML
ML_DAY = PL_PER_ML


def test_time_to_threshold_edges() -> None:
    """(V - Vt) / Q; 0 at or below the threshold; infinite with no flow."""
    assert time_to_threshold(20, 2, 0.5) == 36.0
    assert time_to_threshold(2, 2, 0.5) == 0.0 and time_to_threshold(1, 2, 0.5) == 0.0
    assert time_to_threshold(20, 2, 0) == float("inf")


def test_days_to_alarm_and_empty_synchromed_20_and_40_ml() -> None:
    """§10.1: (20 - 2) / 0.5 = 36.0 d to the alarm, 20 / 0.5 = 40.0 d to empty; 40 mL, 4 mL, 1 mL/day: 36.0 and 40."""
    p = plan_refill(20 * ML, 2 * ML, ML_DAY // 2, 500_000)
    assert (p.alarm.nominal, p.empty.nominal, p.pump_alarm_days) == (36.0, 40.0, 36.0)
    assert p.refill_day == 36 and p.warnings() == []
    p40 = plan_refill(40 * ML, 4 * ML, ML_DAY, 500_000)
    assert (p40.alarm.nominal, p40.empty.nominal) == (36.0, 40.0)  # 4 days of warning


def test_accuracy_band_gives_31_3_to_42_4_days() -> None:
    """§10.1 with e = 0.15: 18 / (0.5 x 1.15) = 31.30 d, 18 / (0.5 x 0.85) = 42.35 d; empty 34.78 to 47.06 d.

    The recommended refill is day 31 (31.30 rounded down, no margin); a 2-day margin makes it day 29. A pump
    15 % fast is empty at 34.8 d, before its stroke-counting alarm at 36.0 d: the plan warns.
    """
    p = plan_refill(20 * ML, 2 * ML, ML_DAY // 2, 500_000, accuracy=0.15)
    assert p.alarm.earliest == pytest.approx(31.304, abs=1e-3) and p.alarm.latest == pytest.approx(42.353, abs=1e-3)
    assert round(p.alarm.earliest, 1) == 31.3 and round(p.alarm.latest, 1) == 42.4
    assert p.empty.earliest == pytest.approx(34.783, abs=1e-3) and p.empty.latest == pytest.approx(47.059, abs=1e-3)
    assert p.refill_day == 31 and p.pump_alarm_days == 36.0
    assert plan_refill(20 * ML, 2 * ML, ML_DAY // 2, 500_000, accuracy=0.15, margin_days=2).refill_day == 29
    (w,) = p.warnings()
    assert "empty at day 34.8, before its own alarm at day 36.0" in w


def test_prometra_ptc_date_of_next_refill_29_3_days() -> None:
    """§10.2: 20 mL, 3.0 mL residual, 0.5 mL/day + 4 boluses x 0.02 mL: 17 / 0.58 = 29.31 d, day 29."""
    p = plan_refill(20 * ML, 3 * ML, ML_DAY // 2, 25 * NG_PER_MG, bolus_pl_per_day=4 * 20_000_000)
    assert p.planning_rate_pl_per_day == 580_000_000
    assert p.alarm.nominal == pytest.approx(17 / 0.58) and round(p.alarm.nominal, 1) == 29.3
    assert p.refill_day == 29


@pytest.mark.parametrize(("dose_ng", "conc_ng", "rate_ml_day"), [
    (5 * NG_PER_MG, 25 * NG_PER_MG, 0.20),       # morphine 5 mg/day at 25 mg/mL
    (500 * NG_PER_MCG, 2000 * NG_PER_MCG, 0.25),  # baclofen 500 mcg/day at 2000 mcg/mL
    (2400, 25 * NG_PER_MCG, 0.096),               # ziconotide 2.4 mcg/day at 25 mcg/mL
    (19_200, 100 * NG_PER_MCG, 0.192),            # ziconotide 19.2 mcg/day at 100 mcg/mL
])
def test_dose_rate_conversions(dose_ng: int, conc_ng: int, rate_ml_day: float) -> None:
    """§10.3: Q = dose / C, exact to the pL/day, and back."""
    rate = rate_from_dose(dose_ng, conc_ng)
    assert rate == round(rate_ml_day * PL_PER_ML)
    assert dose_from_rate(rate, conc_ng) == dose_ng


def test_catheter_dead_volume_and_transit() -> None:
    """§10.4: 110 cm x 0.0026 = 0.286 mL; 90 cm = 0.234 mL; at 0.25 mL/day 0.936 d (22.5 h); at 0.1 mL/day 2.34 d."""
    assert catheter_volume_nl(Decimal(110), PROMETRA_NL_PER_CM) == 286_000
    assert catheter_volume_nl(Decimal(90), PROMETRA_NL_PER_CM) == 234_000
    c = concentration_change(234_000, 10 * NG_PER_MG, 10 * NG_PER_MG, ML_DAY // 4, 2_500_000)
    assert c.transit_days == pytest.approx(0.936) and c.transit_days * 24 == pytest.approx(22.46, abs=0.01)
    slow = concentration_change(234_000, 10 * NG_PER_MG, 10 * NG_PER_MG, ML_DAY // 10, 1_000_000)
    assert slow.transit_days == pytest.approx(2.34)


def test_bridge_bolus_underdose_and_overdose() -> None:
    """§10.5: 10 -> 20 mg/mL keeping 5 mg/day: 2.5 mg/day (50 %) for 0.936 d; a bridge takes 0.468 d.

    The other way, 20 -> 10 mg/mL (rate doubled 0.25 -> 0.5 mL/day): the old strong drug at the new rate is
    10 mg/day, 200 %, for 0.468 d.
    """
    c = concentration_change(234_000, 10 * NG_PER_MG, 20 * NG_PER_MG, ML_DAY // 2, 5 * NG_PER_MG)
    assert c.new_rate_pl_per_day == ML_DAY // 4
    assert c.tip_dose_without_bridge_ng_per_day == 2.5 * NG_PER_MG and c.tip_dose_fraction == 0.5
    assert c.transit_days == pytest.approx(0.936) and c.bridge_days == pytest.approx(0.468)
    assert c.bridge_volume_nl == 234_000
    over = concentration_change(234_000, 20 * NG_PER_MG, 10 * NG_PER_MG, ML_DAY // 4, 5 * NG_PER_MG)
    assert over.tip_dose_fraction == 2.0 and over.transit_days == pytest.approx(0.468)


def test_the_plan_agrees_with_the_simulator() -> None:
    """The built-in analytic scenario (20 mL, 2 mL, 0.5 mL/day) raises its alarm on the plan's day 36.0."""
    res = pumpsim.simulate(pumpsim.load_scenario("analytic"))
    (alarm,) = [e for e in res.events_of("alarm") if e["alarm"] == "low_reservoir"]
    plan = plan_refill(20 * ML, 2 * ML, ML_DAY // 2, 500_000)
    assert alarm["t_ms"] / MS_PER_S / S_PER_DAY == plan.pump_alarm_days


def test_clinician_units() -> None:
    """Morphine in mg, baclofen and ziconotide in mcg, brand names too; unknown drugs by concentration."""
    assert [mass_unit(n) for n in ("morphine", "Infumorph", "baclofen", "PRIALT")] == ["mg", "mg", "mcg", "mcg"]
    assert mass_unit("xyz", 2 * NG_PER_MG) == "mg" and mass_unit("xyz", 500 * NG_PER_MCG) == "mcg"


# ------------------------------------------------------------------ the command


def test_refill_plan_command_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    """§10.1 in clinician units: dates from --start, baclofen in mcg."""
    assert main(["refill-plan", "--rate", "0.5 mL/day", "--concentration", "500 mcg/mL", "--drug", "baclofen",
                 "--start", "2025-01-06"]) == 0
    out = capsys.readouterr().out
    assert "baclofen 500 mcg/mL, 250 mcg/day = 0.5 mL/day" in out
    assert "day  36.0  Tue 2025-02-11" in out and "day  31.3  Thu 2025-02-06" in out and "day  42.4" in out
    assert "recommended refill  day 31, Thu 2025-02-06" in out
    assert "WARNING: a pump 15 % fast is really empty at day 34.8" in out


def test_refill_plan_concentration_change_in_mg(capsys: pytest.CaptureFixture[str]) -> None:
    """§10.5 through the command: morphine 10 -> 20 mg/mL, 90 cm catheter by default."""
    assert main(["refill-plan", "--dose", "5 mg/day", "--concentration", "20 mg/mL", "--drug", "morphine",
                 "--previous-concentration", "10 mg/mL", "--start", "2025-01-06"]) == 0
    out = capsys.readouterr().out
    assert "dead volume (catheter + pump)  0.234 mL" in out
    assert "= 2.5 mg/day (50 % of the new dose) for 0.94 day (22.5 h)" in out
    assert "bridge bolus: 0.234 mL at the old 0.5 mL/day, 0.47 day (11.2 h)" in out


def test_refill_plan_json_ptc(capsys: pytest.CaptureFixture[str]) -> None:
    """§10.2 through the command, as JSON: 29.3 days, refill on day 29."""
    assert main(["refill-plan", "--rate", "0.5 mL/day", "--concentration", "25 mg/mL", "--boluses", "4",
                 "--bolus", "0.02 mL", "--alarm", "3 mL", "--accuracy", "0 %", "--start", "2025-01-06",
                 "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["alarm_volume_reached"]["nominal_days"] == pytest.approx(29.31, abs=0.01)
    assert rec["refill_day"] == 29 and rec["refill_date"] == "2025-02-04"
    assert rec["bolus_ml_per_day"] == pytest.approx(0.08)


def test_refill_plan_bolus_as_a_drug_mass(capsys: pytest.CaptureFixture[str]) -> None:
    """A bolus written as 0.5 mg at 25 mg/mL is 0.02 mL: the same plan as §10.2."""
    assert main(["refill-plan", "--rate", "0.5 mL/day", "--concentration", "25 mg/mL", "--boluses", "4",
                 "--bolus", "0.5 mg", "--alarm", "3 mL", "--start", "2025-01-06", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bolus_ml_per_day"] == pytest.approx(0.08)


@pytest.mark.parametrize(("args", "message"), [
    ([], "give --concentration"),
    (["--concentration", "25 mg/mL"], "give --dose"),
    (["--concentration", "25 mL", "--dose", "5 mg/day"], "--concentration '25 mL': expected a concentration"),
    (["--concentration", "0 mg/mL", "--dose", "5 mg/day"], "expected a value above 0 and at most 100 mg/mL"),
    (["--concentration", "25 mg/mL", "--dose", "5 mg"], "--dose '5 mg': expected a dose rate"),
    (["--concentration", "25 mg/mL", "--rate", "-1 mL/day"], "--rate '-1 mL/day': expected a value above 0"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--fill", "30 mL"], "expected at most the reservoir"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--alarm", "20 mL"], "expected below the reservoir"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--accuracy", "100 %"], "--accuracy '100 %'"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--margin", "1.5 d"], "a whole number of days"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--start", "6/1/2025"], "expected a date YYYY-MM-DD"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--boluses", "4"], "--boluses needs --bolus"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--boluses", "4", "--bolus", "2 d"],
     "--bolus '2 d': expected a volume"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--previous-dose", "1 mg/day"],
     "need --previous-concentration"),
    (["--concentration", "25 mg/mL", "--rate", "1 mL/day", "--previous-concentration", "10 mg/mL",
      "--catheter-length", "0 cm"], "expected values above 0"),
])
def test_refill_plan_bad_input_is_one_line_exit_2(args: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Bad options: one line naming the option, the value and what was expected; exit status 2."""
    assert main(["refill-plan", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pumpsim: error: ") and message in err, err


def test_docstring_examples_hold() -> None:
    """The hand-worked examples in the module's docstrings are run, so they cannot go stale."""
    import doctest

    from pumpsim.analysis import refill_plan

    assert doctest.testmod(refill_plan).failed == 0


def test_plan_refill_refuses_impossible_inputs() -> None:
    for kwargs in ({"rate_pl_per_day": 0}, {"accuracy": 1.0}, {"accuracy": -0.1}, {"fill_nl": -1}):
        args = {"fill_nl": 20 * ML, "alarm_nl": 2 * ML, "rate_pl_per_day": ML_DAY, "conc_ng_per_ml": 1, **kwargs}
        with pytest.raises(ValueError):
            plan_refill(**args)  # type: ignore[arg-type]
    # At or below the alarm volume: the alarm is due at once, and the plan says so.
    assert "the alarm sounds at once" in plan_refill(ML, 2 * ML, ML_DAY, 1).warnings()[0]
