"""The constant-flow mechanism (Codman 3000-like): propellant pressure pushes drug through a capillary restrictor.

No battery, no electronics, no alarms ([C] Codman 3000 patient support, domain.md
§1.3): a sealed propellant's vapour presses on bellows around the drug, and the
drug flows through a capillary restrictor to the catheter. The rate is fixed at
manufacture; it can be changed only by the environment (and the dose only by
the concentration at a refill, [D] §1.3).

**Flow law** (domain.md §5.3 [D], Poiseuille [C] Handbook of Biomechatronics
p. 445)::

    Q = dP / R_hyd,   R_hyd = 8 eta(T) L / (pi r^4)
    dP = P_prop(T) - (P_ambient + P_csf)

* ``P_prop(T)`` is the propellant's saturated vapour pressure, an *absolute*
  pressure: ``P_prop(37 °C) x (1 + rise)^(T - 37)``, the Clausius-Clapeyron
  slope written as a rise per °C (about 3 %/°C for a vapour of ~25 kJ/mol
  at body temperature, [D]). Both values are [U] (``propellant_pressure``,
  ``propellant_pressure_rise``).
* The outlet sees the intrathecal pressure: ambient plus the CSF gauge
  pressure, 12.5 mmHg (1.67 kPa, the middle of 10-15 mmHg [C] Sakka 2011).
* ``eta(T)`` is the viscosity of the (aqueous) drug solution, water's by the
  Vogel equation ``A x 10^(B / (T - C))`` (A = 2.414e-5 Pa s, B = 247.8 K,
  C = 140 K; a standard fit).
* The geometry (L, r) is fixed, so only ratios matter: the pump is labelled
  with its rate ``nominal_rate`` at 37 °C and sea level (101.325 kPa), and

      Q(T, P) = nominal_rate x dP(T, P) / dP(37, 101.325) x eta(37) / eta(T)

  So fever raises the flow (vapour pressure up, viscosity down), falling
  ambient pressure (a flight, altitude) raises it, a hyperbaric chamber lowers
  it; when the ambient pressure reaches the propellant's, flow stops (no
  backflow is modelled). With the defaults: 39 °C gives +17 %, a 75 kPa
  cabin +27 %, 152 kPa (1.5 atm, hyperbaric) -52 % (tests/unit/test_mechanisms.py
  works them by hand).

**Drive.** The plant counts the flow in picolitres: count k has moved
``k x (1 + calibration_error)`` pL (:class:`UniformStream`), so the reservoir,
the catheter and the trace work as for strokes, at a resolution of 1 pL. The
counter is paced at ``Q`` (the engine loads the pacing program; no firmware is
involved) and re-paced whenever the environment changes.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from ..units import KPA_PER_MMHG, NL_PER_ML, PL_PER_NL
from .environment import BODY_TEMP_C, NOMINAL, SEA_LEVEL_KPA, Environment
from .principle import NOTHING, MechanismKind, Response

#: CSF gauge pressure the outlet works against, kPa: 12.5 mmHg ([C] 10-15 mmHg, Sakka 2011, domain.md §7).
CSF_KPA = 12.5 * KPA_PER_MMHG
#: Vogel-equation constants for the viscosity of water (A in Pa s, B and C in K).
_VOGEL_A, _VOGEL_B, _VOGEL_C = 2.414e-5, 247.8, 140.0
_KELVIN = 273.15
#: Picolitres one drive count stands for (before the calibration error).
PL_PER_COUNT = 1


def water_viscosity_pa_s(temp_c: float) -> float:
    """Viscosity of water at *temp_c*, Pa s (Vogel equation; 0.692 mPa s at 37 °C)."""
    return _VOGEL_A * math.pow(10.0, _VOGEL_B / (temp_c + _KELVIN - _VOGEL_C))


class FlowLaw:
    """The rate of a gas-driven pump through its restrictor as a function of the environment.

    *nominal_pl_per_day*: the labelled rate at 37 °C and 101.325 kPa.
    *propellant_kpa*: the propellant's absolute vapour pressure at 37 °C.
    *propellant_rise*: its relative rise per °C (0.03 = 3 %/°C).
    Raises ValueError if the propellant does not drive flow at nominal
    conditions (pressure at or below ambient + CSF) or a value is negative.
    """

    def __init__(self, nominal_pl_per_day: int, propellant_kpa: float, propellant_rise: float,
                 csf_kpa: float = CSF_KPA) -> None:
        if nominal_pl_per_day <= 0:
            raise ValueError(f"nominal_pl_per_day = {nominal_pl_per_day}: expected > 0 pL/day")
        if propellant_rise < 0:
            raise ValueError(f"propellant_rise = {propellant_rise}: expected >= 0 per °C")
        if propellant_kpa <= SEA_LEVEL_KPA + csf_kpa:
            raise ValueError(f"propellant_kpa = {propellant_kpa}: expected above ambient + CSF pressure "
                             f"({SEA_LEVEL_KPA + csf_kpa:.3f} kPa), or nothing flows at nominal conditions")
        self.nominal_pl_per_day = nominal_pl_per_day
        self.propellant_kpa = propellant_kpa
        self.propellant_rise = propellant_rise
        self.csf_kpa = csf_kpa
        self._dp0 = self.drive_kpa(NOMINAL)
        self._eta0 = water_viscosity_pa_s(BODY_TEMP_C)

    def vapour_kpa(self, temp_c: float) -> float:
        """The propellant's absolute vapour pressure at *temp_c*, kPa."""
        return self.propellant_kpa * math.pow(1.0 + self.propellant_rise, temp_c - BODY_TEMP_C)

    def drive_kpa(self, env: Environment) -> float:
        """The pressure across the restrictor in *env*, kPa (negative: the outlet pressure wins)."""
        return self.vapour_kpa(env.body_temp_c) - (env.ambient_kpa + self.csf_kpa)

    def rate_pl_per_day(self, env: Environment) -> int:
        """Flow in *env*, pL/day, rounded; 0 when the drive pressure is not positive."""
        dp = self.drive_kpa(env)
        if dp <= 0:
            return 0
        ratio = dp / self._dp0 * self._eta0 / water_viscosity_pa_s(env.body_temp_c)
        return round(self.nominal_pl_per_day * ratio)

    def rate_ml_per_day(self, env: Environment) -> float:
        """:meth:`rate_pl_per_day` in mL/day, for people."""
        return self.rate_pl_per_day(env) / (NL_PER_ML * PL_PER_NL)


class UniformStream:
    """A :class:`~.mechanism.VolumeStream` where every count moves *nl_per_count* nL (no scatter).

    ``cum_nl(k) = k x nl_per_count`` (one float multiplication, the same in
    :meth:`cum_many`), so the first count reaching a level is found by
    division, corrected by one count either way for float rounding.
    """

    def __init__(self, nl_per_count: float) -> None:
        if nl_per_count <= 0:
            raise ValueError(f"nl_per_count = {nl_per_count}: expected > 0 nL")
        self.nl_per_count = nl_per_count

    def cum_nl(self, k: int) -> float:
        return k * self.nl_per_count if k > 0 else 0.0

    def cum_many(self, ks: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(ks, 0).astype(np.float64) * self.nl_per_count
        return out

    def first_reaching(self, k_from: int, k_to: int, level: float) -> int | None:
        k = max(k_from + 1, math.ceil(level / self.nl_per_count))
        while k > k_from + 1 and self.cum_nl(k - 1) >= level:
            k -= 1
        while self.cum_nl(k) < level:
            k += 1
        return k if k <= k_to else None

    def release_before(self, k: int) -> None:
        pass  # nothing is held


class ConstantFlow:
    """A gas-driven constant-flow pump: its :class:`FlowLaw` and a picolitre drive stream.

    *calibration_error*: the real pump's deviation from its labelled rate
    (each counted pL moves ``1 + calibration_error`` pL).
    """

    kind: Final[MechanismKind] = "constant_flow"
    self_driven: Final = True

    def __init__(self, law: FlowLaw, calibration_error: float = 0.0) -> None:
        if calibration_error <= -1:
            raise ValueError(f"calibration_error = {calibration_error}: expected > -1 (i.e. > -100 %)")
        self.law = law
        self.stream = UniformStream(PL_PER_COUNT * (1.0 + calibration_error) / PL_PER_NL)

    def respond(self, env: Environment) -> Response:
        """The flow rate in *env* (a magnetic field does nothing: there are no electronics or valves)."""
        return Response(rate_pl_per_day=self.law.rate_pl_per_day(env))

    def reset(self) -> Response:
        return NOTHING
