"""The pumping principles: the environment record, the valve-gated pump's flow-activated valve, the
constant-flow pump's flow law and picolitre stream, and the plant applying their responses.

The environment is set directly here (``PumpPlant.set_environment``); the faults' ``fever``, ``flight``,
``hyperbaric`` and ``magnet`` entries will set it through ``Scenario.environment``.
"""

from __future__ import annotations

import numpy as np
import pytest

from firmware_model import MotorProgram
from pumpsim.plant import (
    NOMINAL,
    Battery,
    Catheter,
    ConstantFlow,
    Environment,
    EnvironmentChange,
    FlowLaw,
    PumpPlant,
    Reservoir,
    StrokeStream,
    UniformStream,
    ValveGated,
    timeline,
)
from pumpsim.plant.constant_flow import CSF_KPA, water_viscosity_pa_s
from pumpsim.plant.valve_gated import FAV_MAX_NL
from pumpsim.units import MS_PER_DAY, PL_PER_NL

# ------------------------------------------------------------------ environment


def test_environment_defaults_are_nominal_and_bad_values_are_named() -> None:
    assert Environment(37.0, 101.325, False) == NOMINAL
    with pytest.raises(ValueError, match=r"body_temp_c = 50: expected 30..45 °C"):
        Environment(body_temp_c=50)
    with pytest.raises(ValueError, match=r"ambient_kpa = 10: expected 20..600 kPa"):
        Environment(ambient_kpa=10)
    with pytest.raises(ValueError, match="end_ms = 5: expected after start_ms = 5"):
        EnvironmentChange(5, 5)


def test_timeline_composes_overlapping_changes() -> None:
    """A fever from 10 to 30 and a flight from 20 to 40: four steps, both at once from 20 to 30."""
    fever = EnvironmentChange(10, 30, body_temp_c=39.0)
    flight = EnvironmentChange(20, 40, ambient_kpa=75.0)
    assert timeline([fever, flight]) == (
        (10, Environment(39.0, 101.325)),
        (20, Environment(39.0, 75.0)),
        (30, Environment(37.0, 75.0)),
        (40, NOMINAL),
    )
    # A later change wins for a field both set; a change to what is already in force is no step.
    assert timeline([EnvironmentChange(0, None, magnet=True), EnvironmentChange(5, 9, magnet=True)]) == (
        (0, Environment(magnet=True)),
    )
    assert timeline([]) == ()


# ------------------------------------------------------------------ constant flow: the flow law


def _law() -> FlowLaw:
    """1 mL/day at 37 °C and sea level; propellant 200 kPa absolute, rising 3 %/°C (the profile's [U] values)."""
    return FlowLaw(10**9, 200.0, 0.03)


def test_flow_law_worked_by_hand() -> None:
    """Q = nominal x dP/dP0 x eta(37)/eta(T), dP = P_prop(T) - ambient - CSF.

    CSF = 12.5 mmHg = 1.6665 kPa; dP0 = 200 - 101.325 - 1.6665 = 97.0085 kPa.

    * 39 °C: P_prop = 200 x 1.03^2 = 212.18 kPa, dP = 109.1885 kPa (x 1.12557); water viscosity
      0.6904 -> 0.6640 mPa s (x 1.03973): Q = 1.1703 mL/day (+17 %).
    * a 75 kPa cabin: dP = 200 - 75 - 1.6665 = 123.3335 kPa: Q = 1.27137 mL/day (+27 %).
    * 1.5 atm (151.99 kPa) hyperbaric: dP = 46.3435 kPa: Q = 0.47773 mL/day (-52 %).
    * 2 atm (202.65 kPa): dP < 0: no flow.
    """
    law = _law()
    assert pytest.approx(1.666525) == CSF_KPA
    assert water_viscosity_pa_s(37) == pytest.approx(0.6904e-3, rel=1e-3)
    assert water_viscosity_pa_s(39) == pytest.approx(0.6640e-3, rel=1e-3)
    assert law.rate_pl_per_day(NOMINAL) == 10**9
    assert law.rate_ml_per_day(Environment(body_temp_c=39)) == pytest.approx(1.1703, abs=2e-4)
    assert law.rate_ml_per_day(Environment(ambient_kpa=75)) == pytest.approx(1.27137, abs=1e-5)
    assert law.rate_ml_per_day(Environment(ambient_kpa=151.99)) == pytest.approx(0.47773, abs=1e-5)
    assert law.rate_pl_per_day(Environment(ambient_kpa=202.65)) == 0


def test_flow_rises_with_temperature_and_falls_with_pressure() -> None:
    law = _law()
    temps = [law.rate_pl_per_day(Environment(body_temp_c=t)) for t in (35, 36, 37, 38, 39, 40, 41)]
    assert temps == sorted(temps) and len(set(temps)) == len(temps)
    pressures = [law.rate_pl_per_day(Environment(ambient_kpa=p)) for p in (60, 75, 90, 101.325, 120, 150, 200)]
    assert pressures == sorted(pressures, reverse=True)
    assert ConstantFlow(law).respond(Environment(magnet=True)).rate_pl_per_day == 10**9  # no electronics


def test_flow_law_refuses_a_propellant_that_cannot_drive_flow() -> None:
    with pytest.raises(ValueError, match=r"propellant_kpa = 100\.0: expected above ambient"):
        FlowLaw(10**9, 100.0, 0.03)
    with pytest.raises(ValueError, match="nominal_pl_per_day = 0"):
        FlowLaw(0, 200.0, 0.03)


@pytest.mark.parametrize("q", [0.001, 0.00103, 0.00097, 0.0011])
def test_uniform_stream_finds_the_first_count_reaching_a_level(q: float) -> None:
    """first_reaching agrees with the definition (cum(k) >= level, cum(k - 1) < level) at awkward levels."""
    s = UniformStream(q)
    ks = np.arange(0, 2000, dtype=np.int64)
    assert np.array_equal(s.cum_many(ks), np.array([s.cum_nl(int(k)) for k in ks]))
    for level in (0.0005, q, 3 * q, 1.0, 1.000001, 1.5, 1.9):
        k = s.first_reaching(0, 10**6, level)
        assert k is not None and s.cum_nl(k) >= level and (k == 1 or s.cum_nl(k - 1) < level), level
        assert s.first_reaching(k, 10**6, level) == k + 1  # searching from k on: the next count reaches it too
        assert s.first_reaching(0, k - 1, level) is None


# ------------------------------------------------------------------ valve-gated: the flow-activated valve


def test_fav_trips_once_in_a_field_and_stays_shut_until_reset() -> None:
    """Field arrives: <= 10 uL free flow, FAV shut. Field again or gone: nothing. Reset outside: open.
    Reset inside a field: trips again at once."""
    v = ValveGated(StrokeStream(2000.0, 0.0, 0.0, np.random.default_rng(0)))
    assert v.fav_volume_nl == FAV_MAX_NL == 10_000
    r = v.respond(Environment(magnet=True))
    assert (r.free_flow_nl, r.outlet_open) == (10_000, False) and v.fav_shut
    assert not v.respond(Environment(magnet=True)).changes_outflow
    assert not v.respond(NOMINAL).changes_outflow and v.fav_shut
    r = v.reset()
    assert (r.free_flow_nl, r.outlet_open) == (0.0, True) and not v.fav_shut
    assert not v.reset().changes_outflow
    v.respond(Environment(magnet=True))
    r = v.reset()
    assert (r.free_flow_nl, r.outlet_open) == (10_000, False) and v.fav_shut


ALIQUOT_PL = 2_000_000  # 2 uL
COST = ALIQUOT_PL * MS_PER_DAY


def _valve_plant(fill_nl: float) -> PumpPlant[MotorProgram]:
    stream = StrokeStream(ALIQUOT_PL / PL_PER_NL, 0.0, 0.0, np.random.default_rng(1))
    reservoir = Reservoir(stream, 20e6, fill_nl, 25.0)  # 25 mg/mL morphine = 25 ng/nL
    plant: PumpPlant[MotorProgram] = PumpPlant(ValveGated(stream), reservoir, Catheter(0.0, 25.0), Battery())
    plant.catheter.enter(0.0, 25.0)
    plant.timer.load(MotorProgram(0, 10**6, 10**9, COST, 0))  # 1 mL/day: an aliquot every 172.8 s
    return plant


def test_a_prometra_in_a_magnet_delivers_at_most_10_ul_then_nothing_until_reset() -> None:
    """REQ-PLANT-002. Worked (domain.md §10.6): 10 uL x 25 mg/mL = 0.25 mg at once, then the aliquots move nothing.

    Day 0 to 1: 500 aliquots of 2 uL = 1 mL. Magnet at day 1: +10 uL. Day 1 to 2: the firmware still fires
    500 aliquots, nothing moves. Reset at day 2 (field gone): from then on 2 uL per aliquot again.
    """
    plant = _valve_plant(10e6)
    plant.advance(MS_PER_DAY)
    assert plant.strokes == 500 and plant.state().pumped_nl == 1e6
    r = plant.set_environment(Environment(magnet=True))
    assert r.free_flow_nl == 10_000
    s = plant.state()
    assert s.pumped_nl == 1e6 + 10_000 and s.reservoir_nl == 9e6 - 10_000
    assert s.delivered_ng - 25.0 * 1e6 == pytest.approx(0.25e6)  # 0.25 mg (no dead volume here)
    assert plant.dry_stroke_ms(10 * MS_PER_DAY) is None
    plant.set_environment(NOMINAL)
    plant.advance(2 * MS_PER_DAY)
    assert plant.strokes == 1000 and plant.state().pumped_nl == 1e6 + 10_000  # counted, not moved
    plant.reset_mechanism()
    plant.advance(3 * MS_PER_DAY)
    s = plant.state()
    assert plant.strokes == 1500 and s.pumped_nl == 2e6 + 10_000 and s.reservoir_nl == 8e6 - 10_000
    # The trace's vectorised values agree with the state in every epoch (open, shut, open again).
    ks = np.array([500, 700, 1000, 1500])
    cols = plant.trace_values(ks, np.array([0, 1, 1, 2]))
    assert list(cols.pumped_nl) == [1e6, 1e6 + 10_000, 1e6 + 10_000, 2e6 + 10_000]


def test_a_free_flow_takes_only_what_is_left_and_empties_the_reservoir() -> None:
    """4 uL left when the field arrives: 4 uL flow out (not 10), the reservoir is dry."""
    plant = _valve_plant(4_000.0)
    r = plant.set_environment(Environment(magnet=True))
    assert r.free_flow_nl == 4_000.0 and plant.state().reservoir_nl == 0.0
    assert plant.check_dry()
    out = plant.refill(1e6, 25.0, aspirate=True, unaspirated_nl=0.0)
    assert out.volume_nl == 1e6 and plant.state().reservoir_nl == 1e6  # refilled, and the FAV still shut:
    plant.advance(MS_PER_DAY)
    assert plant.state().reservoir_nl == 1e6 and not plant.check_dry()


def test_a_peristaltic_plant_ignores_the_environment() -> None:
    stream = StrokeStream(250.0, 0.0, 0.0, np.random.default_rng(1))
    plant: PumpPlant[MotorProgram] = PumpPlant(stream, Reservoir(stream, 20e6, 20e6, 0.5), Catheter(0.0, 0.5),
                                               Battery())
    assert plant.mechanism.kind == "peristaltic" and not plant.mechanism.self_driven
    for env in (Environment(magnet=True), Environment(body_temp_c=40, ambient_kpa=75)):
        assert not plant.set_environment(env).changes_outflow
    assert len(plant.reservoir.epochs) == 1 and plant.environment.ambient_kpa == 75
