"""Scenario records: what a simulation run is asked to do.

All records are frozen dataclasses in integer units; they are built by
:func:`pumpsim.scenario.load_scenario` from TOML, or directly in Python. Their
defaults are the scenario schema's (:mod:`pumpsim.scenario.schema`; a test
checks they agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_model import NO_LIMITS, DrugLimits, Prescription, PtmSettings, PumpConfig

from ..plant import Environment
from ..units import MS_PER_H, MS_PER_MIN, NL_PER_ML, NL_PER_UL, PL_PER_ML


@dataclass(frozen=True, slots=True)
class PumpSpec:
    """The pump: device profile, mechanism, reservoir, alarm settings and its errors.

    Fields of another mechanism than *mechanism* keep their defaults and are
    not used (a constant-flow pump has no stroke volume or alarm).
    """

    #: The device profile the defaults came from (``pumpsim.scenario.profiles``).
    profile: str = "synchromed2-20"
    #: The pumping principle: "peristaltic", "valve_gated" or "constant_flow".
    mechanism: str = "peristaltic"
    reservoir_nl: int = 20 * NL_PER_ML
    fill_nl: int = 20 * NL_PER_ML
    #: The flow accuracy band the default alarm (or refill margin) protects, fraction ([U]).
    accuracy: float = 0.11
    low_reservoir_alarm_nl: int = 2 * NL_PER_ML
    empty_floor_nl: int = 0
    #: Nominal stroke volume, pL; the firmware is calibrated to this value.
    stroke_volume_pl: int = 250_000
    #: Systematic per-pump error, fraction (+ delivers more than believed).
    calibration_error: float = 0.0
    #: Stroke-to-stroke coefficient of variation, fraction.
    stroke_cv: float = 0.0
    min_rate_pl_per_day: int = 48 * PL_PER_ML // 1000
    max_rate_pl_per_day: int = 24 * PL_PER_ML
    #: Pump tubing volume between reservoir and catheter port, nL ([U]).
    internal_volume_nl: int = 0
    #: Volume aspiration leaves in the reservoir at a refill, nL ([U]).
    unaspirated_nl: int = 0
    non_critical_tone_interval_ms: int = MS_PER_H
    critical_tone_interval_ms: int = 10 * MS_PER_MIN
    #: Valve-gated: free flow before the flow-activated valve shuts, nL ([C] at most 10 uL).
    fav_volume_nl: int = 10 * NL_PER_UL
    #: Constant flow: the labelled rate at 37 °C and sea level, pL/day ([U]).
    nominal_rate_pl_per_day: int = PL_PER_ML
    #: Constant flow: the propellant's absolute vapour pressure at 37 °C, kPa ([U]).
    propellant_kpa: float = 200.0
    #: Constant flow: its relative rise per °C, fraction ([U]).
    propellant_rise: float = 0.03

    @property
    def has_firmware(self) -> bool:
        """False for a constant-flow pump: no controller, no alarms, nothing to program."""
        return self.mechanism != "constant_flow"


@dataclass(frozen=True, slots=True)
class CatheterSpec:
    """The catheter: internal volume and whether it starts full of drug."""

    volume_nl: int = 234_000
    primed: bool = True


@dataclass(frozen=True, slots=True)
class DrugSpec:
    """The drug in the pump at the start, and its drug-library limits.

    A scenario file's ``[drug] name`` picks the built-in library's entry; a
    record built in Python has no limits unless given (``library_limits(name)``
    makes the built-in entry).
    """

    name: str = "unnamed"
    conc_ng_per_ml: int = 500_000
    limits: DrugLimits = NO_LIMITS
    #: Density of the solution (1 g/mL = 10^9 ng/mL): what a balance weighs per mL delivered.
    density_ng_per_ml: int = 1_000_000_000


@dataclass(frozen=True, slots=True)
class PtmSpec:
    """Patient-activated boluses: the program, and when the patient presses (ms from t = 0, sorted)."""

    bolus_ng: int
    duration_ms: int
    lockout_ms: int
    max_per_day: int
    presses_ms: tuple[int, ...] = ()

    def settings(self) -> PtmSettings:
        """The program as the firmware holds it."""
        return PtmSettings(self.bolus_ng, self.duration_ms, self.lockout_ms, self.max_per_day)


@dataclass(frozen=True, slots=True)
class Visit:
    """A clinic visit: refill, concentration change, reprogramming, boluses."""

    at_ms: int
    refill_nl: int | None = None
    conc_ng_per_ml: int | None = None
    aspirate: bool = True
    prescription: Prescription | None = None
    bridge_bolus: bool = False
    priming_bolus: bool = False
    low_reservoir_alarm_nl: int | None = None
    #: The clinician confirms the drug library's soft limits the visit's commands exceed.
    confirm: bool = False
    #: Valve-gated pumps: reset a shut flow-activated valve.
    reset_valve: bool = False
    #: Where the visit came from ("[[visit]] 3" or "[refill_plan]"), for messages.
    origin: str = ""


@dataclass(frozen=True, slots=True)
class TrialSpec:
    """A screening trial before the implant: a bolus or an infusion of *amount_ng* over *duration_ms*."""

    kind: str
    #: Drug mass given: the bolus, or the infusion's dose rate x duration.
    amount_ng: int
    duration_ms: int
    observe_ms: int
    #: Reported relief and the relief needed, fractions (0.5 = 50 %).
    relief: float
    threshold: float = 0.5

    @property
    def passed(self) -> bool:
        return self.relief >= self.threshold


@dataclass(frozen=True, slots=True)
class PatientSpec:
    """The patient's CSF model (``[patient]``): volume, clearance, start, band and withdrawal, a trial."""

    volume_nl: int
    #: Clearance from the CSF, mL/min.
    clearance_ml_per_min: float
    weight_kg: float = 70.0
    #: "steady_state" or "zero".
    start: str = "steady_state"
    band_low_ng_per_ml: float | None = None
    band_high_ng_per_ml: float | None = None
    #: The withdrawal level (None: the drug has no withdrawal syndrome).
    withdrawal_below_ng_per_ml: float | None = None
    withdrawal_from_ms: int = 24 * MS_PER_H
    withdrawal_to_ms: int = 72 * MS_PER_H
    trial: TrialSpec | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A complete simulation scenario."""

    name: str
    duration_ms: int
    seed: int
    pump: PumpSpec
    catheter: CatheterSpec
    drug: DrugSpec
    prescription: Prescription
    visits: tuple[Visit, ...] = ()
    priming_bolus: bool = False
    description: str = ""
    trace_interval_ms: int = MS_PER_H
    #: The clinician confirms the drug library's soft limits the prescription at t = 0 exceeds.
    confirm: bool = False
    #: Patient-activated boluses, if the patient has them.
    ptm: PtmSpec | None = None
    #: The environment over the run: ``(t_ms, Environment)`` steps, sorted; nominal before the first
    #: (``pumpsim.plant.timeline`` builds one from overlapping changes).
    environment: tuple[tuple[int, Environment], ...] = ()
    #: The patient's CSF model, or None (no ``[patient]`` table, or ``pk = false``).
    patient: PatientSpec | None = None
    #: The TOML text the scenario was loaded from, if any (kept for the record).
    source: str = field(default="", compare=False, repr=False)

    def firmware_config(self) -> PumpConfig:
        """The controller configuration this scenario implies."""
        p = self.pump
        return PumpConfig(
            stroke_volume_pl=p.stroke_volume_pl,
            reservoir_capacity_nl=p.reservoir_nl,
            low_reservoir_nl=p.low_reservoir_alarm_nl,
            empty_floor_nl=p.empty_floor_nl,
            min_rate_pl_per_day=p.min_rate_pl_per_day,
            max_rate_pl_per_day=p.max_rate_pl_per_day,
            dead_volume_nl=p.internal_volume_nl + self.catheter.volume_nl,
            non_critical_tone_interval_ms=p.non_critical_tone_interval_ms,
            critical_tone_interval_ms=p.critical_tone_interval_ms,
        )
