"""Properties of whole simulation runs over random short scenarios."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

import pumpsim
from firmware_model import NL_PER_ML, PL_PER_NL
from pumpsim.scenario import Scenario
from pumpsim.testing import (
    check_alarm_consistency,
    check_alarm_thresholds,
    check_conservation,
    check_dry_delivers_nothing,
    check_empty_stops_delivery,
    check_estimate_vs_truth,
    check_monotone_trace,
    scenarios,
)

#: Exact mode costs ~4 us a stroke; these examples stay under ~20k strokes each.
EXACT = settings(max_examples=max(5, settings().max_examples // 2))


@given(scenarios())
def test_volume_and_mass_are_conserved(sc: Scenario) -> None:
    """Fill + injections = reservoir + catheter + delivered + aspirated + overflow, in mL and in mg (bulk mode)."""
    res = pumpsim.simulate(sc)
    assert res.summary["complete"]
    check_conservation(res, rel_tol=1e-9)


@given(scenarios())
def test_trace_is_monotone_and_alarms_consistent(sc: Scenario) -> None:
    """Time and delivery never go backwards; alarms alternate and sound on schedule (REQ-ALM-004, REQ-ALM-005)."""
    res = pumpsim.simulate(sc)
    check_monotone_trace(res)
    check_alarm_consistency(res, sc)


@given(scenarios())
def test_alarms_fire_at_thresholds_and_stop_delivery(sc: Scenario) -> None:
    """Low and empty alarms are raised within one stroke of their thresholds and empty stops the motor.

    REQ-ALM-001, REQ-ALM-002, REQ-ALM-003.
    """
    res = pumpsim.simulate(sc)
    check_alarm_thresholds(res, sc)
    check_empty_stops_delivery(res)


@given(scenarios())
def test_empty_actual_reservoir_delivers_nothing(sc: Scenario) -> None:
    """Strokes on a dry reservoir move no fluid, and the firmware keeps counting them (REQ-PLANT-001)."""
    res = pumpsim.simulate(sc)
    check_dry_delivers_nothing(res)
    dry = res.events_of("dry")
    assert (res.summary["dry_t_s"] is None) == (not dry)
    assert res.summary["dry_count"] == len(dry)


@given(scenarios(mechanism_errors=False))
def test_estimate_tracks_an_ideal_reservoir(sc: Scenario) -> None:
    """With an error-free mechanism and full aspiration the estimate is within one stroke of the truth."""
    res = pumpsim.simulate(sc)
    stroke_nl = sc.pump.stroke_volume_pl / PL_PER_NL
    check_estimate_vs_truth(res, tol_ml=(stroke_nl + 1.001) / NL_PER_ML)


@EXACT
@given(scenarios(max_days=2.0, max_strokes=16_000))
def test_bulk_and_exact_modes_agree(sc: Scenario) -> None:
    """Bulk and stroke-by-stroke (exact) runs give identical summaries, events and traces."""
    bulk = pumpsim.simulate(sc)
    exact = pumpsim.simulate(sc, exact=True)
    assert exact.summary["strokes"] <= 20_000, "scenario strategy exceeded its stroke budget"
    assert bulk.summary == exact.summary
    assert len(bulk.events) == len(exact.events)
    for i, (a, b) in enumerate(zip(bulk.events, exact.events, strict=True)):
        assert a == b, f"event {i} differs"
    assert bulk.trace is not None and exact.trace is not None
    for col, v in bulk.trace.items():
        np.testing.assert_array_equal(v, exact.trace[col], err_msg=f"trace column {col}")
