"""The patient's CSF model: steady states of domain.md §10.12, exact curves, band times, withdrawal windows,
the trial, the [patient] keys, and outputs that stay byte-identical without a [patient] table."""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path

import numpy as np
import pytest

import pumpsim
from pumpsim.analysis import pk
from pumpsim.analysis.pk import CsfModel, CsfTracker, WithdrawalRule, csf_curve, trial_curve
from pumpsim.cli import main
from pumpsim.scenario import ScenarioError
from pumpsim.testing.records import check_records

H = 3600.0
DAY = 86400.0


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(pk).failed == 0


def test_steady_states_of_section_10_12() -> None:
    """Css = dose rate / CL. Ziconotide 2.4 mcg/day = 1.667 ng/min over 0.38 mL/min = 4.39 ng/mL.
    Morphine 1 mg/day = 694.4 ng/min over 3 uL/kg/min x 70 kg = 0.21 mL/min = 3307 ng/mL (3.3 ug/mL)."""
    assert CsfModel(150, 0.38).steady_state_ng_per_ml(2_400) == pytest.approx(1.6667 / 0.38, rel=1e-4)
    assert CsfModel(150, 0.38).steady_state_ng_per_ml(2_400) == pytest.approx(4.386, abs=1e-3)
    morphine = CsfModel(70, 0.003 * 70)
    assert morphine.steady_state_ng_per_ml(1_000_000) == pytest.approx(694.44 / 0.21, rel=1e-4)
    assert morphine.half_life_h == pytest.approx(math.log(2) * 70 / 0.21 / 60)  # 3.85 h


def test_constant_input_from_zero_follows_the_closed_form() -> None:
    """I constant from C = 0: C(t) = Css (1 - e^(-k t)), whatever the row spacing; at t = t1/2 exactly Css / 2."""
    m = CsfModel(150, 0.38)
    css = m.steady_state_ng_per_ml(2_400)
    t = np.array([0, 60, 3600, 4000, 20_000, 3 * DAY])
    got = CsfTracker(m).feed(t, t * 2_400 / DAY)["csf_ng_per_ml"]
    assert got == pytest.approx(css * (1 - np.exp(-m.k_per_s * t)), rel=1e-12)
    half = m.half_life_h * H
    assert CsfTracker(m).feed([0, half], [0, half * 2_400 / DAY])["csf_ng_per_ml"][1] == pytest.approx(css / 2)


def test_batches_do_not_change_a_bit() -> None:
    """Rows fed in one batch or many give the same bytes (bulk and exact runs split the trace differently)."""
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(10, 4000, 500))
    m_ng = np.cumsum(rng.uniform(0, 50, 500))
    model = CsfModel(150, 0.35)
    rule = WithdrawalRule(200, DAY, 3 * DAY)
    one = CsfTracker(model, 300, (250, 400), rule)
    a = one.feed(t, m_ng)
    many = CsfTracker(model, 300, (250, 400), rule)
    parts = [many.feed(t[i:i + 37], m_ng[i:i + 37]) for i in range(0, 500, 37)]
    for col in a:
        assert np.array_equal(a[col], np.concatenate([p[col] for p in parts]))
    assert (one.below_s, one.inside_s, one.above_s, one.episodes) == (many.below_s, many.inside_s, many.above_s,
                                                                       many.episodes)


def test_band_times_are_exact() -> None:
    """From zero at constant input to Css, band [Css/2, 0.75 Css]: below for exactly one half-life, inside for
    one more (0.5 -> 0.75 Css is another halving of the gap), above for the rest."""
    m = CsfModel(150, 0.38)
    css = m.steady_state_ng_per_ml(2_400)
    tr = CsfTracker(m, 0.0, (css / 2, 0.75 * css))
    end = 10 * DAY
    tr.feed([0, 7 * H, end], [0, 7 * H * 2_400 / DAY, end * 2_400 / DAY])
    half = m.half_life_h * H
    assert tr.below_s == pytest.approx(half) and tr.inside_s == pytest.approx(half)
    assert tr.above_s == pytest.approx(end - 2 * half)


def test_withdrawal_episode_after_the_input_stops() -> None:
    """At Css, the input stops at t = 1 d: C halves every t1/2, so it is below Css/2 from 1 d + t1/2. The
    window is that + 24 h to + 72 h; the input is back at 4 d and C is at the level again after
    t1/2 x log2(2 / (1 + C(4 d)/... )) - checked against the closed form."""
    m = CsfModel(150, math.log(2) * 150 / 300)  # baclofen: t1/2 5 h
    dose = 500_000.0  # ng/day
    css = m.steady_state_ng_per_ml(dose)
    tr = CsfTracker(m, css, withdrawal=WithdrawalRule(css / 2, 24 * H, 72 * H))
    t = np.array([0, DAY, 4 * DAY, 8 * DAY])
    mass = np.array([0, dose, dose, dose + 4 * dose])
    cols = tr.feed(t, mass)
    (ep,) = tr.episodes
    assert ep["below_t_s"] == pytest.approx(DAY + 5 * H)
    assert ep["onset_from_t_s"] == pytest.approx(DAY + 29 * H) and ep["onset_to_t_s"] == pytest.approx(DAY + 77 * H)
    c_back = css * math.exp(-m.k_per_s * 3 * DAY)  # at 4 d, input restored: C = css + (c - css) e^(-k t)
    t_back = math.log((c_back - css) / (css / 2 - css)) / m.k_per_s
    assert ep["recovered_t_s"] == pytest.approx(4 * DAY + t_back)
    assert tr.at_risk_s() == pytest.approx(4 * DAY + t_back - (DAY + 29 * H))
    assert cols["withdrawal_risk"].tolist() == [0, 0, 1, 0]  # at 4 d the episode (from 1 d 5 h) is 67 h old


def test_a_drug_naive_patient_does_not_withdraw() -> None:
    """Starting from zero below the level is not withdrawal: no episode until C has reached the level once."""
    m = CsfModel(150, 0.38)
    tr = CsfTracker(m, 0.0, withdrawal=WithdrawalRule(1.0, DAY, 3 * DAY))
    tr.feed([0, DAY, 2 * DAY], [0, 0, 0])
    assert tr.episodes == [] and tr.at_risk_s() == 0


def test_csf_curve_helper_equals_the_tracker() -> None:
    m = CsfModel(150, 0.38)
    t, mg = np.array([0.0, 3600, 7200]), np.array([0.0, 0.0001, 0.0002])
    assert np.array_equal(csf_curve(m, t, mg)["csf_ng_per_ml"], CsfTracker(m).feed(t, mg * 1e6)["csf_ng_per_ml"])


def test_trial_curves() -> None:
    """A bolus peaks at its end (332.9 ng/mL for 50 mcg over 1 min, see the docstring); an infusion of 2 mg/day
    of morphine for 2 days approaches Css = 2 mg/day / 0.21 mL/min = 6614 ng/mL (to within e^(-2 d / 3.85 h))."""
    morph = CsfModel(70, 0.21)
    c = trial_curve(morph, 4_000_000, 2 * DAY, DAY)
    i = int(np.argmax(c["csf_ng_per_ml"]))
    assert c["t_s"][i] == 2 * DAY and c["t_s"][-1] == 3 * DAY
    css = morph.steady_state_ng_per_ml(2_000_000)
    assert c["csf_ng_per_ml"][i] == pytest.approx(css * (1 - math.exp(-morph.k_per_s * 2 * DAY)))


# ------------------------------------------------------------------ scenarios


ZICONOTIDE = """
name = "zic"
duration = "10 d"
[drug]
name = "ziconotide"
concentration = "25 mcg/mL"
[prescription]
dose = "2.4 mcg/day"
"""

BACLOFEN_DRY = """
name = "dry"
duration = "6 d"
[pump]
reservoir = "2 mL"
fill = "0.5 mL"
low_reservoir_alarm = "0.1 mL"
[drug]
name = "baclofen"
concentration = "2000 mcg/mL"
[prescription]
dose = "500 mcg/day"
[[visit]]
at = "4 d"
refill = "2 mL"
[patient]
"""


def test_ziconotide_in_a_run_stays_at_the_steady_state() -> None:
    """§10.12 in a simulation: 2.4 mcg/day, start at steady state, CSF 4.39 ng/mL throughout (stroke
    quantisation of the hourly input: 0.25 uL x 25 mcg/mL = 6.25 ng a stroke, 4 strokes an hour)."""
    res = pumpsim.simulate(pumpsim.load_scenario(ZICONOTIDE + "[patient]\n"))
    p = res.summary["patient"]
    assert p["steady_state_ng_per_ml"] == pytest.approx(4.386, abs=1e-3) and p["start_ng_per_ml"] == p[
        "steady_state_ng_per_ml"]
    assert p["clearance_ml_per_min"] == 0.38 and p["volume_ml"] == 150 and p["half_life_h"] == pytest.approx(4.56,
                                                                                                              abs=0.01)
    assert p["csf_min_ng_per_ml"] > 4.3 and p["csf_max_ng_per_ml"] < 4.5
    assert p["withdrawal_ng_per_ml"] is None and p["withdrawal_episodes"] == []  # ziconotide: no withdrawal [C]
    assert res.pk is not None and len(res.pk["t_s"]) == len(res.trace["t_s"])  # type: ignore[index]


def test_morphine_from_zero_reaches_3_3_ug_per_ml() -> None:
    """§10.12: morphine 1 mg/day at 70 kg, from zero (start = "zero"): after 10 days (62 half-lives) 3307 ng/mL,
    within the stroke quantisation (0.1 mL/day is 16.7 strokes an hour, so an hour's input is 16 or 17 strokes,
    +-3 %, smoothed by the 3.85 h half-life to well under 1 %)."""
    sc = pumpsim.load_scenario("""
name = "mor"
duration = "10 d"
[drug]
name = "morphine"
concentration = "10 mg/mL"
[prescription]
dose = "1 mg/day"
[patient]
start = "zero"
""")
    p = pumpsim.simulate(sc).summary["patient"]
    assert p["start_ng_per_ml"] == 0 and p["csf_end_ng_per_ml"] == pytest.approx(3307, rel=1e-2)
    assert p["steady_state_ng_per_ml"] == pytest.approx(3307, rel=1e-3)


def test_a_baclofen_pump_that_runs_dry_opens_a_withdrawal_window() -> None:
    """0.5 mL of 2000 mcg/mL at 0.25 mL/day is dry at day 2; the CSF (t1/2 5 h) halves by day 2 + 5 h; severe
    withdrawal possible from day 3 + 5 h to day 5 + 5 h; the refill at day 4 restores it."""
    res = pumpsim.simulate(pumpsim.load_scenario(BACLOFEN_DRY))
    assert res.summary["dry_t_s"] == pytest.approx(2 * DAY, abs=60)
    p = res.summary["patient"]
    (ep,) = p["withdrawal_episodes"]
    assert ep["below_t_s"] == pytest.approx(2 * DAY + 5 * H, abs=120)
    assert ep["onset_from_t_s"] - ep["below_t_s"] == pytest.approx(24 * H)
    assert ep["onset_to_t_s"] - ep["below_t_s"] == pytest.approx(72 * H)
    assert ep["recovered_t_s"] is not None and 4 * DAY < ep["recovered_t_s"] < 4 * DAY + 6 * H
    assert p["withdrawal_at_risk_s"] == pytest.approx(ep["recovered_t_s"] - ep["onset_from_t_s"])
    assert res.pk is not None and res.pk["withdrawal_risk"].max() == 1
    check_records(res)  # summary.json's `patient` is exactly the typed PatientSummary


def test_without_a_patient_table_the_files_keep_their_bytes(tmp_path: Path) -> None:
    """No [patient], or pk = false: the same summary.json, events.jsonl, trace.csv and no pk.csv. With it: the
    same events and trace, the summary plus `patient`, and pk.csv."""
    def run(text: str, name: str) -> Path:
        out = tmp_path / name
        pumpsim.simulate(pumpsim.load_scenario(text), sink=pumpsim.DirectorySink(out))
        return out

    plain = run(BACLOFEN_DRY.replace("[patient]\n", ""), "plain")
    off = run(BACLOFEN_DRY + "pk = false\n", "off")
    on = run(BACLOFEN_DRY, "on")
    for f in ("summary.json", "events.jsonl", "trace.csv"):
        assert (off / f).read_bytes() == (plain / f).read_bytes()
    assert not (plain / "pk.csv").exists() and not (off / "pk.csv").exists()
    for f in ("events.jsonl", "trace.csv"):
        assert (on / f).read_bytes() == (plain / f).read_bytes()
    with_patient = json.loads((on / "summary.json").read_text())
    assert with_patient.pop("patient")["drug"] == "baclofen"
    assert with_patient == json.loads((plain / "summary.json").read_text())
    assert (on / "pk.csv").read_text().count("\n") == (on / "trace.csv").read_text().count("\n")


def test_pk_csv_bulk_equals_exact(tmp_path: Path) -> None:
    sc = pumpsim.load_scenario(ZICONOTIDE.replace("10 d", "3 d") + "[patient]\n[patient.trial]\nbolus = '2 mcg'\n"
                                                                    "relief = '40 %'\n")
    for mode in ("bulk", "exact"):
        pumpsim.simulate(sc, exact=mode == "exact", sink=pumpsim.DirectorySink(tmp_path / mode))
    for f in ("pk.csv", "trial.csv", "summary.json"):
        assert (tmp_path / "bulk" / f).read_bytes() == (tmp_path / "exact" / f).read_bytes()


def test_trial_in_a_run() -> None:
    """Baclofen screening bolus 50 mcg over 1 min: peak 332.9 ng/mL at 1 min (pk docstring); relief 40 % < 50 %."""
    res = pumpsim.simulate(pumpsim.load_scenario(BACLOFEN_DRY + "[patient.trial]\nbolus = '50 mcg'\n"
                                                                "relief = '40 %'\n"))
    t = res.summary["patient"]["trial"]
    assert (t["kind"], t["amount_mg"], t["peak_t_s"]) == ("bolus", 0.05, 60.0)
    assert t["peak_ng_per_ml"] == pytest.approx(332.9, abs=0.05) and t["passed"] is False
    assert res.trial is not None and res.trial["t_s"][-1] == 60 + DAY


def test_infusion_trial_amount() -> None:
    sc = pumpsim.load_scenario(ZICONOTIDE + "[patient]\n[patient.trial]\nkind = 'infusion'\ndose = '2.4 mcg/day'\n"
                                            "duration = '3 d'\nrelief = '50 %'\n")
    assert sc.patient is not None and sc.patient.trial is not None
    assert sc.patient.trial.amount_ng == 7_200 and sc.patient.trial.passed


@pytest.mark.parametrize(("extra", "message"), [
    ("band_low = '5 ng/mL'\nband_high = '4 ng/mL'\n", "[patient] band_high"),
    ("withdrawal_below = '1 ng/mL'\n", "ziconotide has no withdrawal syndrome"),
    ("clearance = '0.4 mL/min'\nhalf_life = '4 h'\n", "either clearance or half_life, not both"),
    ("weight = '70 lb'\n", "expected a body weight such as '70 kg'"),
    ("pk = false\n[patient.trial]\nbolus = '1 mcg'\nrelief = '50 %'\n", "[patient] pk"),
    ("[patient.trial]\nbolus = '1 mcg'\n", "[patient.trial] relief"),
    ("[patient.trial]\nkind = 'infusion'\nbolus = '1 mcg'\nrelief = '5 %'\n", "belongs to kind = \"bolus\""),
])
def test_bad_patient_keys(extra: str, message: str) -> None:
    with pytest.raises(ScenarioError) as e:
        pumpsim.load_scenario(ZICONOTIDE + "[patient]\n" + extra)
    assert message in f"{e.value.key}: {e.value}", str(e.value)


def test_an_unknown_drug_needs_its_kinetics() -> None:
    text = (ZICONOTIDE.replace('"ziconotide"', '"clonidine"').replace("25 mcg/mL", "500 mcg/mL")
            .replace("2.4 mcg/day", "100 mcg/day") + "[patient]\n")
    with pytest.raises(ScenarioError) as e:
        pumpsim.load_scenario(text)
    assert e.value.key == "[patient] clearance" and "no CSF kinetics for drug 'clonidine'" in str(e.value)
    p = pumpsim.load_scenario(text + "half_life = '3 h'\n").patient
    assert p is not None and p.withdrawal_below_ng_per_ml is not None  # clonidine withdraws [C]


def test_run_prints_the_patient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "dry.toml"
    f.write_text(BACLOFEN_DRY + "[patient.trial]\nbolus = '50 mcg'\nrelief = '60 %'\n")
    assert main(["run", str(f), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "CSF (baclofen, one compartment)" in out and "withdrawal episodes" in out
    assert "trial (bolus 50 mcg over 1 min)  CSF peak 332.9 ng/mL at 1 min; relief 60 % >= 50 %: passed" in out
    assert "pk.csv, trial.csv" in out


def test_model_and_tracker_refuse_impossible_inputs() -> None:
    with pytest.raises(ValueError):
        CsfModel(0, 0.38)
    with pytest.raises(ValueError):
        CsfModel(150, -1)
    tr = CsfTracker(CsfModel(150, 0.38))
    tr.feed([0, 10], [0, 1])
    with pytest.raises(ValueError):
        tr.feed([10], [2])  # not after the last row fed
