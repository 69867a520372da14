"""The shipped strategies (pumpsim.testing) produce what they promise."""

from __future__ import annotations

from hypothesis import given, strategies as st

import pumpsim
from firmware_model import MODE_NAMES, PumpConfig, PumpController, check_prescription
from firmware_model.testing import FakeHal
from pumpsim.scenario import Scenario
from pumpsim.testing import concentrations, prescriptions, pump_configs, scenarios


@given(cfg=pump_configs(), conc=concentrations(), mode=st.sampled_from(sorted(MODE_NAMES)), data=st.data())
def test_prescriptions_of_every_mode_are_deliverable(
    cfg: PumpConfig, conc: int, mode: int, data: st.DataObject
) -> None:
    """prescriptions() yields the requested mode, accepted by check_prescription and the controller (REQ-RX-002)."""
    rx = data.draw(prescriptions(conc, cfg, modes=[mode]))
    assert rx.mode == mode
    assert check_prescription(rx, conc, cfg) is None
    PumpController(FakeHal(), cfg, rx, conc, cfg.reservoir_capacity_nl).boot(0)


@given(scenarios(max_strokes=20_000))
def test_scenarios_are_valid_and_within_their_stroke_budget(sc: Scenario) -> None:
    """scenarios() builds runs the firmware accepts in full within the stroke budget.

    The one refusal allowed is a priming bolus asked for while the reservoir is
    empty (REQ-RX-008), which depends on how the run went.
    """
    res = pumpsim.simulate(sc)
    assert res.summary["complete"]
    for i, rej in enumerate(res.events):
        if rej["kind"] != "rejected":
            continue
        before = res.events[:i]
        if rej["command"] == "reprogram":
            # REQ-RX-009: during a bridge a new prescription must also suit the old concentration.
            bridges = [e["state"] for e in before if e["kind"] == "bolus" and e["bolus"] == "bridge"]
            assert bridges and bridges[-1] == "start" and rej["reason"] in ("rate_too_high", "rate_too_low"), rej
            continue
        # REQ-RX-008: a priming bolus is refused while the reservoir is empty.
        assert rej["command"] == "priming_bolus" and rej["reason"] == "bad_value", rej
        state = [e for e in before if e["kind"] in ("delivery_stopped", "refill")]
        floor_ml = sc.pump.empty_floor_nl / 1e6
        assert state and (state[-1]["kind"] == "delivery_stopped" or state[-1]["entered_ml"] <= floor_ml), rej
    assert res.summary["strokes"] <= 20_000
    assert round(res.summary["simulated_s"] * 1000) == sc.duration_ms
