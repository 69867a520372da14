"""The shipped strategies (pumpsim.testing) produce what they promise."""

from __future__ import annotations

from hypothesis import given, strategies as st

import pumpsim
from firmware_model import PrescriptionMode, PumpConfig, PumpController, check_prescription
from firmware_model.testing import FakeHal
from pumpsim.scenario import Scenario
from pumpsim.testing import concentrations, prescriptions, pump_configs, scenarios


@given(cfg=pump_configs(), conc=concentrations(), mode=st.sampled_from(PrescriptionMode), data=st.data())
def test_prescriptions_of_every_mode_are_deliverable(
    cfg: PumpConfig, conc: int, mode: PrescriptionMode, data: st.DataObject
) -> None:
    """prescriptions() yields the requested mode, accepted by check_prescription and the controller (REQ-RX-002)."""
    rx = data.draw(prescriptions(conc, cfg, modes=[mode]))
    assert rx.mode is mode
    assert check_prescription(rx, conc, cfg) is None
    PumpController(FakeHal(), cfg, rx, conc, cfg.reservoir_capacity_nl).boot(0)


@given(scenarios(max_strokes=20_000))
def test_scenarios_are_valid_and_within_their_stroke_budget(sc: Scenario) -> None:
    """scenarios() builds runs the firmware accepts in full (no rejected command) within the stroke budget."""
    res = pumpsim.simulate(sc)
    assert res.summary["complete"]
    assert not res.events_of("rejected"), res.events_of("rejected")
    assert res.summary["strokes"] <= 20_000
    assert round(res.summary["simulated_s"] * 1000) == sc.duration_ms
