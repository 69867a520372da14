"""The simulator's unit constants, said once for all of pumpsim.

Every quantity inside pumpsim is an integer or float in one of these units:
time in ms, volume in nL (pL where strokes need it), drug mass in ng,
pressure in kPa, temperature in °C. Names
carry the unit (``t_ms``, ``volume_nl``, ``mass_ng``).

The firmware (``firmware_model._units``) keeps its own copy of the same
constants on purpose: it is a separate program that will be ported to C and
may not import the simulator, and the plant may not import the firmware
(tests/unit/test_layering.py). tests/unit/test_units.py checks the two agree.
"""

from __future__ import annotations

from typing import Final

MS_PER_S: Final = 1_000
MS_PER_MIN: Final = 60 * MS_PER_S
MS_PER_H: Final = 60 * MS_PER_MIN
MS_PER_DAY: Final = 24 * MS_PER_H
S_PER_DAY: Final = MS_PER_DAY // MS_PER_S

PL_PER_NL: Final = 1_000
NL_PER_UL: Final = 1_000
NL_PER_ML: Final = 1_000_000
PL_PER_ML: Final = PL_PER_NL * NL_PER_ML

NG_PER_MCG: Final = 1_000
NG_PER_MG: Final = 1_000_000
NG_PER_G: Final = 1_000 * NG_PER_MG

#: Pressure: kPa per standard atmosphere and per mmHg (absolute pressures are in kPa).
KPA_PER_ATM: Final = 101.325
KPA_PER_MMHG: Final = 0.133322
