"""Therapy limits in whole runs: patient boluses (REQ-PTM-001..003) and the drug library (REQ-LIM-001..003),
with the scenario keys, the events and the summary they produce. Outcomes worked by hand."""

from __future__ import annotations

from typing import Any

import pytest

import pumpsim
from pumpsim.results import SimulationResult
from pumpsim.scenario import ScenarioError, parse_toml, scenario_from_data
from pumpsim.scenario.builtin import builtin_text
from pumpsim.testing import check_all, check_records


def _events(res: SimulationResult, kind: str) -> list[dict[str, Any]]:
    return [dict(e) for e in res.events if e["kind"] == kind]


# ------------------------------------------------------------------ patient boluses


def test_ten_presses_half_an_hour_apart_grant_four_in_a_run() -> None:
    """REQ-PTM-001/002. The built-in patient_bolus: presses every 30 min from 08:00 to 12:30, lockout 1 h, at
    most 4 in 24 h.

    Granted 08:00, 09:00, 10:00, 11:00 (presses 1, 3, 5, 7); locked out 08:30, 09:30, 10:30, 11:30; over the
    maximum 12:00, 12:30. Day 2, 07:00: the four grants are all within 24 h: refused_max; 09:00: only 10:00
    and 11:00 are: granted. 5 x 0.1 mg on 3 days of 0.5 mg/day basal = 2.0 mg delivered (primed catheter).
    """
    sc = pumpsim.load_scenario("patient_bolus")
    res = pumpsim.simulate(sc)
    check_all(res, sc)
    results = [e["result"] for e in _events(res, "ptm")]
    G, L, M = "granted", "refused_lockout", "refused_max"
    assert results == [G, L, G, L, G, L, G, L, M, M, M, G]
    assert res.summary.get("ptm") == {"presses": 12, "granted": 5, "refused_lockout": 4, "refused_max": 3,
                                      "refused_stopped": 0}
    assert res.summary["delivered_mg"] == pytest.approx(2.0) and res.summary["prescribed_mg"] == pytest.approx(2.0)
    starts = [e["t_ms"] // 3_600_000 for e in _events(res, "bolus") if e["state"] == "start"]
    assert starts == [8, 9, 10, 11, 33]


def test_the_summary_has_no_ptm_entry_without_a_ptm_table() -> None:
    assert "ptm" not in pumpsim.simulate(pumpsim.load_scenario("analytic"), trace=False).summary


def _toml(name: str, **changes: Any) -> dict[str, Any]:
    data = parse_toml(builtin_text(name))
    for path, value in changes.items():
        *tables, key = path.split(".")
        node = data
        for t in tables:
            node = node.setdefault(t, {})
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as e:
        scenario_from_data(data)
    return str(e.value)


def test_bad_ptm_tables_are_named() -> None:
    assert _error(_toml("patient_bolus", **{"ptm.presses": ["1 h", "4 d"]})).startswith(
        '[ptm] presses = ["1 h", "4 d"]: expected presses within the run (before its duration, 3 d): one is at 4 d')
    assert _error(_toml("patient_bolus", **{"ptm.lockout": "5 min"})).startswith(
        '[ptm] lockout = "5 min": expected a duration from duration (10 min) to 1 d')
    assert _error(_toml("patient_bolus", **{"ptm.presses": "1 h"})).startswith(
        '[ptm] presses = "1 h": expected a list of durations')
    msg = _error(_toml("patient_bolus", **{"ptm.bolus": "10 mg", "ptm.duration": "1 min"}))
    assert msg.startswith('[ptm] bolus = "10 mg": expected a patient bolus the pump can deliver on top of the '
                          "prescription: patient bolus on the prescription's highest rate needs"), msg
    msg = _error(_toml("constant_flow", ptm={"bolus": "1 mg", "duration": "1 h", "lockout": "2 h",
                                             "max_per_day": 2}))
    assert msg.startswith("[ptm] = (a table): expected no [ptm]: a constant-flow pump has no patient bolus"), msg


# ------------------------------------------------------------------ the drug library


def _ziconotide(visits: list[dict[str, Any]]) -> dict[str, Any]:
    data = parse_toml(builtin_text("ziconotide_titration"))
    data["visit"] = visits
    return data


def test_the_builtin_ziconotide_titration_is_within_the_library() -> None:
    """2.4 mcg/day, +2.4 a week to 9.6 (steps at most 2.4, at least 2 days apart, at most 19.2), then
    100 mcg/mL: nothing refused, nothing overridden."""
    res = pumpsim.simulate(pumpsim.load_scenario("ziconotide_titration"), trace=False)
    assert _events(res, "rejected") == [] and _events(res, "drug_limit") == []


def test_a_jump_from_2_4_to_50_mcg_per_day_is_refused_and_changes_nothing() -> None:
    """REQ-LIM-001/003. The titration with its day-7 step replaced by 50 mcg/day: both the 19.2 mcg/day maximum
    and the +2.4 mcg/day step are hard limits, so the reprogram is refused even confirmed, and the run is the
    run without that visit: same prescribed and delivered drug, same predictions and alarms."""
    jump = {"at": "7 d", "dose": "50 mcg/day", "confirm": True}
    res = pumpsim.simulate(scenario_from_data(_ziconotide([jump])), trace=False)
    without = pumpsim.simulate(scenario_from_data(_ziconotide([])), trace=False)
    assert [(e["limit"], e["severity"], e["outcome"], e["value"]) for e in _events(res, "drug_limit")] == [
        ("daily_dose", "hard", "refused", 0.05), ("dose_step", "hard", "refused", 0.0476)]
    (rej,) = _events(res, "rejected")
    assert (rej["reason"], rej["command"], rej["t_ms"]) == ("hard_limit", "reprogram", 7 * 86_400_000)
    for key in ("prescribed_mg", "delivered_mg", "reservoir_estimated_ml", "alarms", "predicted_low_reservoir_t_s"):
        assert res.summary[key] == without.summary[key], key
    kept = [e for e in res.events if e["kind"] not in ("visit", "rejected", "drug_limit")]
    assert kept == list(without.events)
    check_records(res)


def test_a_soft_limit_needs_confirm_on_the_visit() -> None:
    """REQ-LIM-002: morphine raised from 5 to 25 mg/day (above the 20 mg/day caution [C]) at day 2. Without
    confirm: refused (soft_limit), the 5 mg/day program stays. With confirm: accepted and logged as overridden."""
    def run(confirm: bool) -> SimulationResult:
        data = _toml("concentration_change", visit=[{"at": "2 d", "dose": "25 mg/day", "confirm": confirm}])
        return pumpsim.simulate(scenario_from_data(data), trace=False)

    refused, confirmed = run(False), run(True)
    assert [e["reason"] for e in _events(refused, "rejected")] == ["soft_limit"]
    assert [e["mode"] for e in _events(refused, "reprogram")] == ["continuous"]  # the boot program only
    assert _events(confirmed, "rejected") == []
    (ov,) = _events(confirmed, "drug_limit")
    assert (ov["limit"], ov["severity"], ov["outcome"], ov["value"], ov["unit"]) == (
        "daily_dose", "soft", "overridden", 25.0, "mg/day")
    assert confirmed.summary["prescribed_mg"] > refused.summary["prescribed_mg"]


def test_the_starting_prescription_is_checked_at_load_with_the_key_named() -> None:
    """REQ-LIM-001/002. Ziconotide starting at 25 mcg/day is above its hard maximum; morphine at 25 mg/day needs
    [prescription] confirm = true; 30 mg/mL morphine is above the 25 mg/mL strength."""
    msg = _error(_toml("ziconotide_titration", **{"prescription.dose": "25 mcg/day"}))
    assert msg.startswith('[prescription] dose = "25 mcg/day": expected a value within the drug library '
                          "([drug.limits]): daily dose 25 mcg/day is above the drug library's hard limit "
                          "19.2 mcg/day"), msg
    msg = _error(_toml("concentration_change", **{"prescription.dose": "25 mg/day"}))
    assert msg.endswith("(confirm to override); or confirm = true in [prescription]"), msg
    scenario_from_data(_toml("concentration_change", **{"prescription.dose": "25 mg/day",
                                                        "prescription.confirm": True}))
    msg = _error(_toml("concentration_change", **{"drug.concentration": "30 mg/mL", "visit": []}))
    assert msg.startswith('[drug] concentration = "30 mg/mL": expected a value within the drug library '
                          "([drug.limits]): concentration 30 mg/mL is above the drug library's hard limit "
                          "25 mg/mL"), msg


def test_drug_limits_can_be_overridden_or_given_to_any_drug() -> None:
    """[drug.limits] replaces the built-in entry key by key; a drug without an entry gets the ones written."""
    loose = _toml("ziconotide_titration", **{"drug.limits": {"daily_dose_hard": "30 mcg/day"}})
    assert scenario_from_data(loose).drug.limits.daily_hard == 30_000
    assert scenario_from_data(loose).drug.limits.step_hard == 2_400  # the rest of the entry stays
    custom = _toml("analytic", **{"drug.name": "clonidine", "drug.limits": {"daily_dose_soft": "0.1 mg/day"}})
    msg = _error(custom)
    assert "daily dose 250 mcg/day is above the drug library's soft limit 100 mcg/day" in msg, msg
    assert scenario_from_data(_toml("analytic", **{"drug.name": "Lioresal"})).drug.limits.conc_hard == 2_000_000
