"""Device profiles: what each gives, how a written key wins, the keys each mechanism accepts, the margin rule's
arithmetic worked by hand, and the loader's rules for pumps without firmware."""

from __future__ import annotations

from typing import Any

import pytest

from pumpsim.scenario import ScenarioError, scenario_from_data
from pumpsim.scenario.profiles import (
    PROFILES,
    alarm_before_dry,
    alarm_margin_nl,
    default_low_alarm_nl,
    describe_margin,
    max_refill_interval_ms,
    protected_band,
)
from pumpsim.units import MS_PER_DAY, NL_PER_ML

ML = NL_PER_ML


def _load(pump: dict[str, Any], **tables: Any) -> Any:
    data: dict[str, Any] = {"duration": "10 d", "pump": pump, "drug": {"concentration": "1 mg/mL"}}
    if pump.get("profile") != "constant-flow-35" and pump.get("mechanism") != "constant_flow":
        data["prescription"] = {"dose": "0.5 mg/day"}
    data.update(tables)
    return scenario_from_data(data)


def _error(pump: dict[str, Any], **tables: Any) -> str:
    with pytest.raises(ScenarioError) as e:
        _load(pump, **tables)
    return str(e.value)


# ------------------------------------------------------------------ the rule, by hand


def test_margin_rule_worked_by_hand() -> None:
    """REQ-ALM-006. T_min = e x C / (1 + e) + s, rounded up to 0.1 mL, at least 2 mL.

    * SynchroMed 20 mL, e = 11 %, s = 0.25 uL: 2.2 / 1.11 + 0.00025 = 1.98223 mL -> 2.0 mL.
    * SynchroMed 40 mL: 4.4 / 1.11 + 0.00025 = 3.96421 mL -> 4.0 mL (at least 4 mL [C Neurosurgery 2004]).
    * e = 14.5 % (the unconfirmed recalled spec): 20 mL -> 2.53300 -> 2.6 mL; 40 mL -> 5.06575 -> 5.1 mL.
    * Prometra II, e = 15 %, s = 2 uL: 20 mL -> 3 / 1.15 + 0.002 = 2.61070 -> 2.7 mL; 40 mL -> 5.21939 -> 5.3 mL.
    * A 1 mL reservoir: 0.11 / 1.11 + 0.00025 = 0.09935 -> 0.1 mL (a tenth of it, the small-reservoir floor).
    """
    assert alarm_margin_nl(20 * ML, 0.11, 250_000) == pytest.approx(1_982_231.98, abs=0.01)
    cases = [((20, 0.11, 250_000), 2.0), ((40, 0.11, 250_000), 4.0), ((20, 0.145, 250_000), 2.6),
             ((40, 0.145, 250_000), 5.1), ((20, 0.15, 2_000_000), 2.7), ((40, 0.15, 2_000_000), 5.3),
             ((20, 0.0, 250_000), 2.0), ((1, 0.11, 250_000), 0.1)]
    for (c_ml, e, s_pl), t_ml in cases:
        assert default_low_alarm_nl(c_ml * ML, e, s_pl) == round(t_ml * ML), (c_ml, e)


def test_alarm_before_dry_is_exact_and_the_brief_form_would_under_protect() -> None:
    """F = 20 mL, e = +10 %, s = 0.25 uL. T = 2 mL: 18 mL counted, 19.8 mL really out: alarm first.
    T = 1.7 mL: 18.3 mL counted, 20.13 mL really out: dry first. (T > e/(1+e) x (F - T) = 1.66 mL would call
    1.7 mL safe; the rule T >= e x (F - T) + (1 + e) s = 1.8303 mL does not.)"""
    assert alarm_before_dry(20 * ML, 2 * ML, 250_000, 0.10)
    assert not alarm_before_dry(20 * ML, round(1.7 * ML), 250_000, 0.10)
    assert 1.7 * ML > 0.1 / 1.1 * 18.3 * ML and 1.7 * ML < 0.1 * 18.3 * ML + 1.1 * 250
    assert alarm_before_dry(2 * ML, 2 * ML, 250_000, 0.5)  # filled to the threshold: the alarm is at t = 0
    # Quantisation: 1 nL short of a whole stroke below the threshold costs a whole stroke.
    assert protected_band(20 * ML, 2 * ML, 250_000) == pytest.approx((2 * ML - 250) / (18 * ML + 250))


def test_refill_interval_worked_by_hand() -> None:
    """35 mL at 1 mL/day, band 15 %: it lasts 35 / 1.15 = 30.4348 d at the top of the band."""
    ms = max_refill_interval_ms(35 * ML, 10**9, 0.15)
    assert ms == pytest.approx(35 / 1.15 * MS_PER_DAY, abs=1) and ms < 35 / 1.15 * MS_PER_DAY


# ------------------------------------------------------------------ profiles


def test_each_profile_gives_its_documented_values() -> None:
    got = {}
    for name in PROFILES:
        p = _load({"profile": name}).pump
        got[name] = (p.mechanism, p.reservoir_nl // ML, p.accuracy, p.low_reservoir_alarm_nl, p.stroke_volume_pl)
    assert got["synchromed2-20"] == ("peristaltic", 20, 0.11, 2 * ML, 250_000)
    assert got["synchromed2-40"] == ("peristaltic", 40, 0.11, 4 * ML, 250_000)
    assert got["prometra2-20"] == ("valve_gated", 20, 0.15, 2_700_000, 2_000_000)
    assert got["prometra2-40"] == ("valve_gated", 40, 0.15, 5_300_000, 2_000_000)
    assert got["constant-flow-35"][:3] == ("constant_flow", 35, 0.15)


def test_no_profile_is_synchromed2_20_with_todays_values() -> None:
    assert _load({}).pump == _load({"profile": "synchromed2-20"}).pump


def test_a_written_key_wins_and_the_threshold_follows_what_was_written() -> None:
    """synchromed2-40 filled to 30 mL keeps its 4 mL alarm; a 30 mL reservoir gets 3.0 mL (3.3 / 1.11 + s =
    2.973 mL); a band of 14.5 % on the 20 mL pump gets 2.6 mL; a threshold written is kept as written."""
    p = _load({"profile": "synchromed2-40", "fill": "30 mL"}).pump
    assert (p.reservoir_nl, p.fill_nl, p.low_reservoir_alarm_nl) == (40 * ML, 30 * ML, 4 * ML)
    assert _load({"profile": "synchromed2-40", "reservoir": "30 mL"}).pump.low_reservoir_alarm_nl == 3 * ML
    assert _load({"accuracy": "14.5 %"}).pump.low_reservoir_alarm_nl == 2_600_000
    assert _load({"profile": "prometra2-40", "low_reservoir_alarm": "8 mL"}).pump.low_reservoir_alarm_nl == 8 * ML
    assert _load({"profile": "synchromed2-20", "mechanism": "valve_gated"}).pump.stroke_volume_pl == 2_000_000


def test_keys_of_another_mechanism_and_unknown_profiles_are_named() -> None:
    msg = _error({"aliquot_volume": "2 uL"})
    assert msg.startswith('[pump] aliquot_volume = "2 uL": expected no such key for mechanism = "peristaltic" '
                          '(aliquot_volume belongs to mechanism = "valve_gated")'), msg
    msg = _error({"profile": "constant-flow-35", "low_reservoir_alarm": "3 mL"})
    assert 'low_reservoir_alarm belongs to mechanism = "peristaltic", "valve_gated"' in msg, msg
    assert _error({"profile": "synchromed3"}).startswith('[pump] profile = "synchromed3": expected one of '
                                                         'synchromed2-20, synchromed2-40, prometra2-20')
    msg = _error({"profile": "constant-flow-35", "propellant_pressure": "100 kPa"})
    assert "above 103 kPa" in msg, msg


# ------------------------------------------------------------------ pumps without firmware, and the valve


def test_a_constant_flow_pump_takes_no_prescription_and_no_programming() -> None:
    msg = _error({"profile": "constant-flow-35"}, prescription={"dose": "1 mg/day"})
    assert msg.startswith("[prescription] = (a table): expected no [prescription]: a constant-flow pump cannot be "
                          "programmed"), msg
    for key, value in (("dose", "1 mg/day"), ("priming_bolus", True), ("low_reservoir_alarm", "3 mL")):
        msg = _error({"profile": "constant-flow-35"}, visit=[{"at": "1 d", key: value}])
        assert msg.startswith(f"[visit 1] {key} = "), msg
        assert "constant-flow pump cannot be programmed" in msg or "does not apply" in msg, msg
    sc = _load({"profile": "constant-flow-35"}, visit=[{"at": "1 d", "refill": "30 mL",
                                                       "concentration": "2 mg/mL"}])
    assert sc.prescription.dose_ng_per_day == 1_000_000  # the label's 1 mL/day at 1 mg/mL


def test_a_pump_with_firmware_still_needs_its_prescription() -> None:
    with pytest.raises(ScenarioError) as e:
        scenario_from_data({"duration": "1 d", "drug": {"concentration": "1 mg/mL"}})
    assert str(e.value) == "[prescription] = (missing): expected a [prescription] table with at least mode and dose"


def test_reset_valve_is_for_valve_gated_pumps_only() -> None:
    msg = _error({}, visit=[{"at": "1 d", "reset_valve": True}])
    assert msg.startswith("[visit 1] reset_valve = true: expected no reset_valve: only a valve-gated pump"), msg
    assert _load({"profile": "prometra2-20"}, visit=[{"at": "1 d", "reset_valve": True}]).visits[0].reset_valve


def test_describe_margin_says_ok_or_at_risk() -> None:
    assert "±11.1 % at any fill (OK" in describe_margin(_load({}))
    assert "AT RISK" in describe_margin(_load({"low_reservoir_alarm": "1 mL"}))
    plan = {"every": "30 d", "refill": "35 mL"}
    ok = _load({"profile": "constant-flow-35"}, duration="90 d", refill_plan=plan)
    assert "(OK)" in describe_margin(ok)
    late = _load({"profile": "constant-flow-35"}, duration="90 d", refill_plan={**plan, "every": "31 d"})
    assert "AT RISK: filled at day 0, the reservoir lasts 30.43 d" in describe_margin(late)
