"""Bulk mode (strokes integrated between events) and exact mode (one event per stroke) agree bit for bit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import pumpsim
from pumpsim.plant import EnvironmentChange, timeline
from pumpsim.scenario import builtin_names, scenario_from_data, with_duration
from pumpsim.testing import workloads
from pumpsim.units import MS_PER_DAY


@pytest.mark.slow
@pytest.mark.parametrize("name", builtin_names())
def test_builtin_scenarios_identical_in_both_modes(name: str) -> None:
    """Every built-in scenario, full duration: same summary, events and trace in bulk and exact mode."""
    sc = pumpsim.load_scenario(name)
    bulk = pumpsim.simulate(sc)
    exact = pumpsim.simulate(sc, exact=True)
    assert bulk.summary == exact.summary
    assert bulk.events == exact.events
    assert bulk.trace is not None and exact.trace is not None
    for col, values in bulk.trace.items():
        assert np.array_equal(values, exact.trace[col], equal_nan=True), col  # nan: a pump with no estimate


def test_modes_identical_with_stroke_noise_and_another_seed() -> None:
    """Stroke-to-stroke noise is drawn from the same stream in both modes, whatever the seed."""
    sc = pumpsim.load_scenario("overdelivery")
    for seed in (0, 12345):
        a = pumpsim.simulate(sc, seed=seed)
        b = pumpsim.simulate(sc, seed=seed, exact=True)
        assert a.summary == b.summary
        assert a.events == b.events


def test_modes_identical_with_a_fine_trace_and_events_on_grid_rows() -> None:
    """Events at grid instants (one-minute trace, boluses, bridge, priming) never leave two rows at one time."""
    sc = pumpsim.load_scenario(Path(__file__).with_name("edge_minute_trace.toml"))
    a = pumpsim.simulate(sc)
    b = pumpsim.simulate(sc, exact=True)
    assert a.trace is not None and b.trace is not None
    assert len(np.unique(a.trace["t_s"])) == len(a.trace["t_s"])
    for col, values in a.trace.items():
        assert np.array_equal(values, b.trace[col]), col
    assert a.events == b.events


@pytest.mark.slow
@pytest.mark.parametrize("name", builtin_names())
def test_trace_off_changes_nothing_but_the_trace(name: str) -> None:
    """Sweeps run with trace=False, which takes shortcuts (no per-wake row state): the summary and
    events, prescribed_mg included, must be exactly those of a traced run."""
    sc = pumpsim.load_scenario(name)
    traced = pumpsim.simulate(sc)
    bare = pumpsim.simulate(sc, trace=False)
    summary = dict(traced.summary)
    if sc.patient is not None:  # the CSF model reads the trace rows: without a trace there is none
        assert summary.pop("patient") and "patient" not in bare.summary
    assert bare.summary == summary
    assert bare.events == traced.events
    assert bare.summary["prescribed_mg"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in workloads.all_scenarios() if n != "default"])
def test_benchmark_scenarios_identical_in_both_modes(name: str) -> None:
    """Every scenario the benchmarks time (default is a built-in, above), its first 40 days: identical outputs."""
    sc = with_duration(workloads.all_scenarios()[name], 40 * MS_PER_DAY)
    bulk = pumpsim.simulate(sc)
    exact = pumpsim.simulate(sc, exact=True)
    assert bulk.summary["strokes"] > 0 and bulk.summary["events"] >= 5  # not a vacuous comparison
    assert bulk.summary == exact.summary
    assert bulk.events == exact.events
    assert bulk.trace is not None and exact.trace is not None
    for col, values in bulk.trace.items():
        assert np.array_equal(values, exact.trace[col]), col


def test_valve_gated_identical_in_both_modes_through_a_magnet_and_a_reset() -> None:
    """REQ-PLANT-002. Prometra II aliquots with scatter, a magnet (free flow, shut outlet) and a reset, running dry
    at the end: the aliquots, the free flow and the dry aliquot fall identically in both modes, for two seeds."""
    sc = scenario_from_data({
        "duration": "12 d", "trace_interval": "30 min",
        "pump": {"profile": "prometra2-20", "fill": "4 mL", "stroke_cv": "5 %", "calibration_error": "40 %"},
        "drug": {"name": "morphine", "concentration": "25 mg/mL"},
        "prescription": {"mode": "periodic_bolus", "dose": "8 mg/day", "bolus": "0.5 mg",
                         "bolus_duration": "1 h", "bolus_interval": "8 h"},
        "visit": [{"at": "4 d", "reset_valve": True}],
    })
    sc = replace(sc, environment=timeline([EnvironmentChange(2 * MS_PER_DAY, 2 * MS_PER_DAY + 7_200_000,
                                                             magnet=True)]))
    for seed in (0, 99):
        bulk, exact = pumpsim.simulate(sc, seed=seed), pumpsim.simulate(sc, seed=seed, exact=True)
        assert bulk.summary["dry_t_s"] is not None and any(e["kind"] == "fav" for e in bulk.events)
        assert bulk.summary == exact.summary
        assert bulk.events == exact.events
        assert bulk.trace is not None and exact.trace is not None
        for col, values in bulk.trace.items():
            assert np.array_equal(values, exact.trace[col]), col
