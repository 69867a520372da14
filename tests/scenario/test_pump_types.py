"""Whole runs of the other pump types: a Prometra II in a magnet, a constant-flow pump in a fever, a flight and a
hyperbaric chamber, and the consequences at the catheter tip. Each expected outcome is worked by hand.

The environment is set directly (``Scenario.environment``, built with ``pumpsim.plant.timeline``); the faults'
``fever``, ``flight``, ``hyperbaric`` and ``magnet`` entries will fill the same field.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import pumpsim
from pumpsim.plant import Environment, EnvironmentChange, timeline
from pumpsim.results import SimulationResult
from pumpsim.scenario import Scenario, scenario_from_data
from pumpsim.testing import check_all, check_records
from pumpsim.units import MS_PER_DAY, MS_PER_H

D, H = MS_PER_DAY, MS_PER_H


def _scenario(**tables: Any) -> Scenario:
    return scenario_from_data({"duration": "10 d", **tables})


def _same_in_both_modes(sc: Scenario) -> SimulationResult:
    bulk, exact = pumpsim.simulate(sc), pumpsim.simulate(sc, exact=True)
    assert bulk.summary == exact.summary and bulk.events == exact.events
    assert bulk.trace is not None and exact.trace is not None
    for col, values in bulk.trace.items():
        assert np.array_equal(values, exact.trace[col], equal_nan=True), col
    return bulk


# ------------------------------------------------------------------ valve-gated (Prometra II)


def _prometra(**visit: Any) -> Scenario:
    """Prometra II 20 mL, morphine 25 mg/mL at 12.5 mg/day = 0.5 mL/day: 250 aliquots of 2 uL a day, one every
    345.6 s, so aliquot 750 fires at exactly day 3 and aliquot 1250 at day 5."""
    tables: dict[str, Any] = {"pump": {"profile": "prometra2-20"},
                              "drug": {"name": "morphine", "concentration": "25 mg/mL"},
                              "prescription": {"dose": "12.5 mg/day"}}
    if visit:
        tables["visit"] = [visit]
    return _scenario(**tables)


def test_a_prometra_in_a_magnet_delivers_at_most_10_ul_extra_then_nothing_until_reset() -> None:
    """REQ-PLANT-002. Magnet at day 3 for 2 h, valve reset at the day-5 visit; 10 days.

    Without the magnet: 10 d x 0.5 mL/day = 5 mL pumped, 125 mg at the tip (primed catheter).
    With it: 1.5 mL by day 3, + 10 uL free flow (0.25 mg, domain.md §10.6), nothing from day 3 to day 5 (the
    firmware still counts its 500 aliquots), 2.5 mL from day 5 to 10: 4.01 mL, 100.25 mg. The firmware believes
    5 mL were pumped: its estimate is 15 mL while 15.99 mL are really left.
    """
    plain = pumpsim.simulate(_prometra())
    sc = replace(_prometra(at="5 d", reset_valve=True),
                 environment=timeline([EnvironmentChange(3 * D, 3 * D + 2 * H, magnet=True)]))
    res = _same_in_both_modes(sc)
    check_all(res, sc)
    s, p = res.summary, plain.summary
    assert p["pumped_ml"] == pytest.approx(5.0) and p["delivered_mg"] == pytest.approx(125.0)
    assert s["strokes"] == p["strokes"] == 2500
    assert s["pumped_ml"] == pytest.approx(4.01) and s["delivered_mg"] == pytest.approx(100.25)
    assert s["reservoir_estimated_ml"] == pytest.approx(15.0) and s["reservoir_actual_ml"] == pytest.approx(15.99)
    fav = [e for e in res.events if e["kind"] == "fav"]
    assert [(e["t_ms"], e["state"], e.get("free_flow_ml")) for e in fav] == [(3 * D, "tripped", 0.01),
                                                                             (5 * D, "reset", None)]
    env = [(e["t_ms"], e["magnet"]) for e in res.events if e["kind"] == "environment"]
    assert env == [(3 * D, True), (3 * D + 2 * H, False)]
    # The trace shows the tip dose stopping: no volume out between the trip and the reset.
    assert res.trace is not None
    t, out = res.trace["t_s"] * 1000, res.trace["delivered_ml"]
    shut = (t >= 3 * D) & (t <= 5 * D - 1)
    assert np.all(out[shut] == pytest.approx(1.51))


def test_a_reset_inside_the_field_trips_the_valve_again() -> None:
    """Magnet from day 3 to day 6, reset at day 5 (still in the field): a second 10 uL, shut again until the end.

    1.5 mL + 10 uL + 10 uL = 1.52 mL pumped, and nothing after day 3 but the two free flows.
    """
    sc = replace(_prometra(at="5 d", reset_valve=True),
                 environment=timeline([EnvironmentChange(3 * D, 6 * D, magnet=True)]))
    res = pumpsim.simulate(sc)
    assert res.summary["pumped_ml"] == pytest.approx(1.52)
    assert [e["state"] for e in res.events if e["kind"] == "fav"] == ["tripped", "tripped"]


def test_a_free_flow_that_empties_the_reservoir_is_a_dry_event() -> None:
    """A 4 uL fill, less than the 10 uL a trip lets out: the free flow takes what is left, the reservoir is dry
    at that instant."""
    sc = _scenario(pump={"profile": "prometra2-20", "fill": "0.004 mL", "low_reservoir_alarm": "0 mL"},
                   drug={"concentration": "25 mg/mL"}, prescription={"mode": "stopped"})
    sc = replace(sc, duration_ms=2 * H, environment=((H, Environment(magnet=True)),))
    res = pumpsim.simulate(sc)
    dry = [e for e in res.events if e["kind"] == "dry"]
    assert [e["t_ms"] for e in dry] == [H]
    assert res.summary["reservoir_actual_ml"] == 0.0 and res.summary["pumped_ml"] == pytest.approx(0.004)


# ------------------------------------------------------------------ constant flow (Codman 3000-like)


def _constant_flow(**pump: Any) -> Scenario:
    """constant-flow-35 with morphine 10 mg/mL: 1 mL/day = 10 mg/day at 37 °C and sea level, 30 days."""
    sc = scenario_from_data({"duration": "30 d", "pump": {"profile": "constant-flow-35", **pump},
                             "drug": {"name": "morphine", "concentration": "10 mg/mL"}})
    return sc


def test_constant_flow_runs_without_firmware_and_runs_dry_on_time() -> None:
    """35 mL at 1 mL/day: 30 mL pumped in 30 days (300 mg), no strokes, no estimate, no alarm; run on to 40 days,
    it is dry at exactly day 35 and nothing sounds (a constant-flow pump has no alarm)."""
    res = pumpsim.simulate(_constant_flow())
    s = res.summary
    assert s["strokes"] == 0 and s["reservoir_estimated_ml"] is None and s["alarms"] == [] and s["tones"] == 0
    assert s["pumped_ml"] == pytest.approx(30.0) and s["delivered_mg"] == pytest.approx(300.0)
    assert s["prescribed_mg"] == pytest.approx(300.0) and s["reservoir_actual_ml"] == pytest.approx(5.0)
    check_records(res)
    long = pumpsim.simulate(_constant_flow(), duration_ms=40 * D)
    assert long.summary["dry_t_s"] == 35 * 86_400 and long.summary["alarms"] == []
    assert long.trace is not None and np.all(np.isnan(long.trace["reservoir_estimated_ml"]))
    assert np.all(long.trace["strokes"] == 0)
    # Exact mode has no strokes to step through: it runs as bulk mode, with the same outputs.
    assert pumpsim.simulate(_constant_flow(), exact=True).summary == s


@pytest.mark.parametrize(
    ("change", "extra_ml"),
    [
        # 39 °C for 2 days: Q = 1.170272 mL/day (tests/unit/test_mechanisms.py): +2 x 0.170272 mL.
        (EnvironmentChange(5 * D, 7 * D, body_temp_c=39.0), 2 * 0.170271988),
        # A 10-hour flight in a 75 kPa cabin: Q = 1.271368 mL/day: +10/24 x 0.271368 mL.
        (EnvironmentChange(5 * D, 5 * D + 10 * H, ambient_kpa=75.0), 10 / 24 * 0.271368043),
        # 2 hours at 1.5 atm (151.99 kPa): Q = 0.477726 mL/day: -2/24 x 0.522274 mL.
        (EnvironmentChange(5 * D, 5 * D + 2 * H, ambient_kpa=151.99), -2 / 24 * 0.522273956),
        # 2 atm: the outlet pressure passes the propellant's, no flow for 2 hours: -2/24 mL.
        (EnvironmentChange(5 * D, 5 * D + 2 * H, ambient_kpa=202.65), -2 / 24),
    ],
)
def test_constant_flow_follows_fever_flight_and_hyperbaric_pressure(change: EnvironmentChange,
                                                                    extra_ml: float) -> None:
    """Delivered volume = 30 mL + the change's extra (its rate minus 1 mL/day, times its length), at 10 mg/mL."""
    sc = replace(_constant_flow(), environment=timeline([change]))
    res = pumpsim.simulate(sc)
    check_records(res)
    assert res.summary["pumped_ml"] == pytest.approx(30.0 + extra_ml, abs=1e-8)
    assert res.summary["delivered_mg"] == pytest.approx(10 * (30.0 + extra_ml), abs=1e-7)
    assert res.summary["prescribed_mg"] == pytest.approx(300.0)  # the label's dose: what the clinician expects
    rates = [e["flow_rate_ml_per_day"] for e in res.events if e["kind"] == "environment"]
    assert len(rates) == 2 and rates[1] == 1.0


def test_a_constant_flow_refill_changes_the_dose_only_by_concentration() -> None:
    """Refill at day 10 with 20 mg/mL: 10 days at 10 mg/day, then 20 mg/day once the 0.234 mL catheter has
    flushed (0.234 day): 100 + (20 - 0.234) x 20 + 0.234 x 10 mg = 497.66 mg by day 30."""
    sc = scenario_from_data({"duration": "30 d", "pump": {"profile": "constant-flow-35"},
                             "drug": {"concentration": "10 mg/mL"},
                             "visit": [{"at": "10 d", "refill": "30 mL", "concentration": "20 mg/mL"}]})
    res = pumpsim.simulate(sc)
    assert res.summary["delivered_mg"] == pytest.approx(497.66)
    assert res.summary["prescribed_mg"] == pytest.approx(100 + 20 * 20)


def test_the_prometra_and_constant_flow_runs_are_byte_reproducible() -> None:
    """Two runs of the same scenario and seed: identical summaries, events and traces."""
    for sc in (_prometra(), _constant_flow()):
        a, b = pumpsim.simulate(sc, seed=3), pumpsim.simulate(sc, seed=3)
        assert a.summary == b.summary and a.events == b.events
        assert a.trace is not None and b.trace is not None
        for col in a.trace:
            assert np.array_equal(a.trace[col], b.trace[col], equal_nan=True)


def test_a_longer_run_keeps_an_environment_set_in_python() -> None:
    """with_duration re-reads the file for a longer run; the environment timeline given in Python stays."""
    from pumpsim.scenario import with_duration

    sc = replace(_constant_flow(), environment=timeline([EnvironmentChange(5 * D, 7 * D, body_temp_c=39.0)]))
    assert with_duration(sc, 40 * D).environment == sc.environment
