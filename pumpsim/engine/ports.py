"""The seams of a run: what the engine needs of a plant and of a HAL, so either can live elsewhere.

:class:`~pumpsim.engine.Simulation` builds a :class:`~pumpsim.plant.PumpPlant`
and its :class:`~pumpsim.engine.hal.EngineHal` by default. A hardware-in-the-
loop host passes its own: a plant whose methods are answered over a serial
link by a bench, and a HAL whose motor, sounder and battery are the bench's
(the ``hil`` package). The story of the run is the same code either way, which
is why a bench run over a lossless link writes the same events as
``pumpsim run``.

:class:`PlantParams` are the numbers a plant is built from (the scenario's
pump, catheter and drug, and the seed), so that a plant built on the other
side of a link (:func:`build_plant`) is the plant ``pumpsim run`` builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from firmware_model import Hal, MotorProgram

from ..plant import (
    Battery,
    Catheter,
    ConstantFlow,
    Environment,
    FlowLaw,
    Mechanism,
    Peristaltic,
    PlantColumns,
    PlantState,
    PumpPlant,
    RefillOutcome,
    Reservoir,
    Response,
    StrokeStream,
    ValveGated,
)
from ..plant.timer import StrokeTimer
from ..scenario.model import Scenario
from ..units import NL_PER_ML, PL_PER_NL
from .hal import EngineInbox


class DeadVolume(Protocol):
    """What the summary reads of the catheter: its dead volume."""

    @property
    def volume_nl(self) -> float: ...


class PlantPort(Protocol):
    """The plant as the engine uses it (:class:`~pumpsim.plant.PumpPlant` is one).

    The stroke timer is the engine's view of the motor program that runs and
    the count at the plant's present time; the trace reads it between stops.
    """

    @property
    def timer(self) -> StrokeTimer[MotorProgram]: ...

    @property
    def catheter(self) -> DeadVolume: ...

    @property
    def now_ms(self) -> int: ...

    @property
    def strokes(self) -> int: ...

    @property
    def epoch_index(self) -> int: ...

    def advance(self, t_ms: int) -> None: ...

    def dry_stroke_ms(self, until_ms: int) -> int | None: ...

    def check_dry(self) -> bool: ...

    def release_strokes_before(self, k: int) -> None: ...

    def refill(self, added_nl: float, conc_ng_per_nl: float, aspirate: bool, unaspirated_nl: float) -> RefillOutcome:
        ...

    def state(self) -> PlantState: ...

    def trace_values(self, k: np.ndarray, epoch: np.ndarray) -> PlantColumns: ...

    @property
    def environment(self) -> Environment: ...

    def set_environment(self, env: Environment) -> Response: ...

    def reset_mechanism(self) -> Response: ...


class SimulationHal(Hal, Protocol):
    """The HAL the engine hands the controller; the engine sends visit commands to its inbox."""

    @property
    def inbox(self) -> EngineInbox: ...


@dataclass(frozen=True, slots=True)
class PlantParams:
    """What a plant is built from, in the scenario's integer units (and the two fractions)."""

    stroke_volume_pl: int
    calibration_error: float
    stroke_cv: float
    reservoir_nl: int
    fill_nl: int
    conc_ng_per_ml: int
    #: Pump tubing plus catheter volume.
    dead_nl: int
    primed: bool
    #: The pumping principle (pumpsim.plant.MECHANISMS) and its own numbers.
    mechanism: str = "peristaltic"
    #: Valve-gated: the most the flow-activated valve lets through before it shuts, nL.
    fav_volume_nl: int = 0
    #: Constant flow: the nominal rate, the propellant's absolute pressure and its rise per degree.
    nominal_rate_pl_per_day: int = 0
    propellant_kpa: float = 0.0
    propellant_rise: float = 0.0

    @classmethod
    def of(cls, scenario: Scenario) -> PlantParams:
        pump, cath = scenario.pump, scenario.catheter
        return cls(pump.stroke_volume_pl, pump.calibration_error, pump.stroke_cv, pump.reservoir_nl, pump.fill_nl,
                   scenario.drug.conc_ng_per_ml, pump.internal_volume_nl + cath.volume_nl, cath.primed,
                   pump.mechanism, pump.fav_volume_nl, pump.nominal_rate_pl_per_day, pump.propellant_kpa,
                   pump.propellant_rise)


def build_plant(params: PlantParams, seed: int) -> PumpPlant[MotorProgram]:
    """The plant of *params*, its stroke (or aliquot) stream seeded from *seed*."""
    p = params
    mechanism = _mechanism(p, seed)
    conc_ng_per_nl = p.conc_ng_per_ml / NL_PER_ML
    reservoir = Reservoir(mechanism.stream, float(p.reservoir_nl), float(p.fill_nl), conc_ng_per_nl)
    catheter = Catheter(float(p.dead_nl), conc_ng_per_nl if p.primed else 0.0)
    catheter.enter(0.0, conc_ng_per_nl)
    return PumpPlant(mechanism, reservoir, catheter, Battery())


def _mechanism(p: PlantParams, seed: int) -> Mechanism:
    """The pumping principle of *p*; a stroke or aliquot stream seeded from *seed*."""
    if p.mechanism == "constant_flow":
        return ConstantFlow(FlowLaw(p.nominal_rate_pl_per_day, p.propellant_kpa, p.propellant_rise),
                            p.calibration_error)
    # A child of the seed's sequence: later random streams (faults) can be spawned beside it without changing it.
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(1)[0]))
    stream = StrokeStream(p.stroke_volume_pl / PL_PER_NL, p.calibration_error, p.stroke_cv, rng)
    if p.mechanism == "valve_gated":
        return ValveGated(stream, p.fav_volume_nl)
    return Peristaltic(stream)
