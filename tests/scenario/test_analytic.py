"""Closed-form checks of whole runs (the issue's 'Show' list)."""

from __future__ import annotations

import numpy as np
import pytest

import pumpsim
from firmware_model import MS_PER_DAY
from pumpsim.scenario import Scenario

DAY_S = 86_400


def _alarm_times(res: pumpsim.SimulationResult, name: str) -> list[float]:
    return [a["t_s"] for a in res.summary["alarms"] if a["alarm"] == name]


def test_low_alarm_and_dry_days_match_closed_form(analytic: Scenario) -> None:
    """REQ-ALM-001: (20 mL - 2 mL) / 0.5 mL/day = day 36 to the alarm; 20 / 0.5 = day 40 dry."""
    res = pumpsim.simulate(analytic)
    stroke_s = 0.25e-3 / 0.5 * DAY_S  # one 0.25 uL stroke at 0.5 mL/day
    (low,) = _alarm_times(res, "low_reservoir")
    assert abs(low - 36 * DAY_S) <= stroke_s
    assert res.summary["dry_t_s"] == pytest.approx(40 * DAY_S, abs=stroke_s)
    (empty,) = _alarm_times(res, "empty_reservoir")
    assert abs(empty - 40 * DAY_S) <= stroke_s
    # The firmware predicted its own alarm date at boot, exactly.
    assert res.summary["predicted_low_reservoir_t_s"] == low
    # Prescribed counts the whole 45 days (0.25 mg/day), also while delivery is stopped;
    # delivered stops at the 20 mL fill (10 mg).
    assert res.summary["prescribed_mg"] == pytest.approx(45 * 0.25)
    assert res.summary["delivered_mg"] == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("fill_ml", "thr_ml", "rate_ml_day"), [(20, 2, 0.5), (18, 4, 1.0), (15, 3, 0.25), (20, 2, 0.3)]
)
def test_days_to_alarm_formula(analytic: Scenario, fill_ml: float, thr_ml: float, rate_ml_day: float) -> None:
    """days to alarm = (fill - threshold) / rate, within one stroke, for several pumps."""
    toml = analytic.source.replace('fill = "20 mL"', f'fill = "{fill_ml} mL"')
    toml = toml.replace('low_reservoir_alarm = "2 mL"', f'low_reservoir_alarm = "{thr_ml} mL"')
    toml = toml.replace('rate = "0.5 mL/day"', f'rate = "{rate_ml_day} mL/day"')
    toml = toml.replace('duration = "45 d"', 'duration = "80 d"')
    res = pumpsim.simulate(pumpsim.load_scenario(toml))
    expected_s = (fill_ml - thr_ml) / rate_ml_day * DAY_S
    stroke_s = 0.25e-3 / rate_ml_day * DAY_S
    (low,) = _alarm_times(res, "low_reservoir")
    assert abs(low - expected_s) <= stroke_s
    assert res.summary["dry_t_s"] == pytest.approx(fill_ml / rate_ml_day * DAY_S, abs=stroke_s)


def test_tones_repeat_at_their_intervals(analytic: Scenario) -> None:
    """REQ-ALM-004/005: low reservoir beeps hourly; once empty, only the critical tone sounds, every 10 min."""
    res = pumpsim.simulate(analytic)
    tones = res.events_of("tone")
    low = [t["t_s"] for t in tones if t["alarm"] == "low_reservoir"]
    crit = [t["t_s"] for t in tones if t["alarm"] == "empty_reservoir"]
    assert all(t["pattern"] == "non_critical" for t in tones if t["alarm"] == "low_reservoir")
    critical = [t for t in tones if t["alarm"] == "empty_reservoir"]
    assert all(t["pattern"] == "critical" and t["duration_ms"] == 3000 for t in critical)
    assert np.all(np.diff(low) == 3600)
    assert np.all(np.diff(crit) == 600)
    # 36 d .. 40 d hourly (4 days) is 96 low tones; after 40 d only critical ones.
    assert len(low) == 96
    assert max(low) < min(crit)
    assert len(crit) == 5 * 24 * 6 + 1


def test_delivery_stops_at_empty_floor(analytic: Scenario) -> None:
    """REQ-ALM-003: no strokes after the empty-reservoir alarm; the trace's dose rate drops to 0."""
    res = pumpsim.simulate(analytic)
    tr = res.trace
    assert tr is not None
    after = tr["t_s"] > 40 * DAY_S
    assert np.all(tr["strokes"][after] == 80_000)
    assert np.all(tr["dose_rate_mg_per_day"][after] == 0)
    assert np.all(tr["alarm_empty_reservoir"][after] == 1)


def test_flex_delivers_sum_of_steps_each_day() -> None:
    """Flex dosing: each day delivers the sum of step dose x step duration (within one stroke)."""
    toml = """
name = "flex"
duration = "10 d"
[pump]
fill = "20 mL"
[catheter]
volume = "0 mL"
[drug]
concentration = "500 mcg/mL"
[prescription]
mode = "flex"
[[prescription.step]]
start = "00:00"
dose = "240 mcg/day"
[[prescription.step]]
start = "06:00"
dose = "720 mcg/day"
[[prescription.step]]
start = "08:30"
dose = "300 mcg/day"
[[prescription.step]]
start = "20:00"
dose = "480 mcg/day"
"""
    res = pumpsim.simulate(pumpsim.load_scenario(toml))
    tr = res.trace
    assert tr is not None
    daily_mcg = (240 * 6 + 720 * 2.5 + 300 * 11.5 + 480 * 4) / 24
    stroke_mg = 0.25e-3 * 0.5
    at_midnight = tr["t_s"] % DAY_S == 0
    per_day = np.diff(tr["delivered_mg"][at_midnight])
    assert len(per_day) == 10
    assert np.all(np.abs(per_day - daily_mcg / 1000) <= stroke_mg + 1e-12)
    # ... and the 06:00-08:30 step delivers its own share.
    t = tr["t_s"]
    first = tr["delivered_mg"][t == 6 * 3600][0], tr["delivered_mg"][t == 8 * 3600][0]
    assert first[1] - first[0] == pytest.approx(0.720 * 2 / 24, abs=stroke_mg)


def _tip_dose_rate(res: pumpsim.SimulationResult) -> tuple[np.ndarray, np.ndarray]:
    tr = res.trace
    assert tr is not None
    grid = tr["t_s"] % 3600 == 0
    t = tr["t_s"][grid]
    mg = tr["delivered_mg"][grid]
    # keep one row per hour (an event row may share the instant)
    t, idx = np.unique(t, return_index=True)
    return t[1:], np.diff(mg[idx]) * 24  # mg/day over each hour


CONC_CHANGE = """
name = "conc"
duration = "6 d"
[pump]
fill = "10 mL"
[catheter]
volume = "0.234 mL"
[drug]
name = "morphine"
concentration = "10 mg/mL"
[prescription]
dose = "5 mg/day"
[[visit]]
at = "2 d"
refill = "10 mL"
concentration = "20 mg/mL"
bridge_bolus = BRIDGE
"""


def test_concentration_change_without_bridge_underdoses_for_transit_time() -> None:
    """No bridge: old 10 mg/mL at the new 0.25 mL/day = 2.5 mg/day for 0.234/0.25 d, then 5 mg/day."""
    res = pumpsim.simulate(pumpsim.load_scenario(CONC_CHANGE.replace("BRIDGE", "false")))
    t, rate = _tip_dose_rate(res)
    transit_s = 0.234 / 0.25 * DAY_S  # 0.936 d = 22.46 h
    under = (t >= 2 * DAY_S + 3600) & (t <= 2 * DAY_S + transit_s)  # hours wholly in the transit
    after = t > 2 * DAY_S + transit_s + 3600
    assert under.sum() == 22
    assert np.allclose(rate[under], 2.5, atol=0.125 * 24 / 24)
    assert np.allclose(rate[after], 5.0, atol=0.13)
    # The shortfall is the extra drug now sitting in the catheter: 0.234 mL x (20 - 10) mg/mL.
    assert res.summary["delivered_mg"] == pytest.approx(6 * 5 - 0.234 * (20 - 10), abs=0.01)


def test_concentration_change_with_bridge_keeps_tip_dose_continuous() -> None:
    """REQ-RX-005: with a bridge bolus the dose rate at the tip stays 5 mg/day throughout."""
    res = pumpsim.simulate(pumpsim.load_scenario(CONC_CHANGE.replace("BRIDGE", "true")))
    _t, rate = _tip_dose_rate(res)
    # One 0.25 uL stroke of 10-20 mg/mL is 2.5-5 ug; per hour that quantises the rate by <= 0.12 mg/day.
    assert np.all(np.abs(rate - 5.0) <= 0.125), rate[np.abs(rate - 5.0) > 0.125]
    bolus = res.events_of("bolus")
    assert [(b["bolus"], b["state"]) for b in bolus] == [("bridge", "start"), ("bridge", "end")]
    # The bridge ran at the old rate (0.5 mL/day) for the dead volume: 0.468 d.
    dt = bolus[1]["t_s"] - bolus[0]["t_s"]
    assert dt == pytest.approx(0.234 / 0.5 * DAY_S, abs=0.25e-3 / 0.5 * DAY_S)
    assert res.summary["delivered_mg"] == pytest.approx(6 * 5, abs=0.01)


def test_positive_calibration_error_runs_dry_before_the_estimate_floor() -> None:
    """+10 % calibration: actual reservoir empties at 40/1.1 d while the firmware thinks 3.6 mL remain."""
    res = pumpsim.simulate(pumpsim.load_scenario("overdelivery"))
    s = res.summary
    dry_s = s["dry_t_s"]
    assert dry_s == pytest.approx(20 / (0.5 * 1.1) * DAY_S, rel=0.01)  # 20 mL at 0.5 mL/day x 1.1
    (empty,) = _alarm_times(res, "empty_reservoir")
    assert empty == pytest.approx(40 * DAY_S, abs=60)
    assert dry_s < empty - 3 * DAY_S
    tr = res.trace
    assert tr is not None
    at_dry = np.searchsorted(tr["t_s"], dry_s)
    assert tr["reservoir_actual_ml"][at_dry] == 0.0
    assert tr["reservoir_estimated_ml"][at_dry] == pytest.approx(20 - 20 / 1.1, abs=0.05)
    # Strokes after the dry point deliver nothing (REQ-PLANT-001).
    later = tr["t_s"] > dry_s
    assert np.all(tr["delivered_ml"][later] == tr["delivered_ml"][at_dry])
    assert tr["strokes"][-1] > tr["strokes"][at_dry]


@pytest.mark.parametrize("name", pumpsim.scenario.builtin_names())
def test_conservation_of_volume_and_mass(name: str) -> None:
    """Filled = reservoir + catheter + delivered + aspirated (+ overflow), for volume and mass."""
    res = pumpsim.simulate(pumpsim.load_scenario(name), duration_ms=120 * MS_PER_DAY if name == "default" else None)
    b = res.summary["balance"]
    assert b["out_ml"] == pytest.approx(b["in_ml"], rel=1e-12, abs=1e-9)
    assert b["out_mg"] == pytest.approx(b["in_mg"], rel=1e-12, abs=1e-9)
    assert res.summary["complete"] is True


def test_seed_reproducibility_and_sensitivity() -> None:
    """Same seed -> identical outputs; another seed -> a different stroke stream."""
    sc = pumpsim.load_scenario("overdelivery")
    a, b, c = pumpsim.simulate(sc, seed=1), pumpsim.simulate(sc, seed=1), pumpsim.simulate(sc, seed=2)
    assert a.events == b.events
    assert a.summary["dry_t_s"] == b.summary["dry_t_s"]
    assert a.summary["dry_t_s"] != c.summary["dry_t_s"]


def test_a_pump_filled_with_nothing_is_dry_from_the_start(analytic: Scenario) -> None:
    """fill = 0 mL: dry at t = 0 and for the whole run."""
    res = pumpsim.simulate(pumpsim.load_scenario(analytic.source.replace('fill = "20 mL"', 'fill = "0 mL"')))
    assert res.summary["dry_t_s"] == 0.0
    assert res.summary["dry_total_s"] == 45 * DAY_S
    assert res.summary["delivered_ml"] == 0.0


def test_old_strokes_are_released_with_and_without_a_trace() -> None:
    """Memory stays flat: after a year only the stroke chunks still needed are held, trace or not."""
    sc = pumpsim.load_scenario("default")
    for trace in (True, False):
        sim = pumpsim.Simulation(sc, trace=trace)
        sim.run()
        assert sim.plant.stream.chunks_held <= 3, (trace, sim.plant.stream.chunks_held)
