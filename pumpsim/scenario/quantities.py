"""Parsing quantities written as strings with units ("20 mL", "250 mcg/day").

Every parser returns an integer in the project's fixed unit (nL, pL, ng, ms,
ng/mL, ng/day, pL/day), a :class:`~decimal.Decimal` for lengths, or a float
fraction for percentages, and raises :class:`QuantityError` naming what was
expected when the text is not a number followed by a unit of the right kind.
Numbers are read as decimals, so "0.1 mL" is exactly 100000 nL, with no binary
rounding on the way.

The unit tables are built from :mod:`pumpsim.units`, the simulator's one list
of unit constants. A :class:`Family` groups the units of one dimension
(volume, flow rate, ...): the scenario schema names a key's family, the docs
list each family's units, and ``pumpsim sweep --vary`` converts its arguments
with :meth:`Family.scale`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..units import (
    KPA_PER_ATM,
    KPA_PER_MMHG,
    MS_PER_DAY,
    MS_PER_H,
    MS_PER_MIN,
    MS_PER_S,
    NG_PER_MCG,
    NG_PER_MG,
    NL_PER_ML,
    NL_PER_UL,
    PL_PER_NL,
)

# ASCII digits only: \d would also take "١٠" or full-width digits.
_NUM = re.compile(r"^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*(.*?)\s*$")
#: The number syntax every quantity uses (also by ``pumpsim sweep --vary``).
NUMBER = _NUM
#: Largest decimal exponent a quantity may have: far beyond any real value, and
#: small enough that the integer conversion stays instant.
MAX_EXPONENT = 24


def _same(value: int, *names: str) -> dict[str, Decimal]:
    return dict.fromkeys(names, Decimal(value))


#: Volume units in nL.
VOLUME_NL = {"ml": Decimal(NL_PER_ML), **_same(NL_PER_UL, "ul", "µl", "μl"), "nl": Decimal(1)}
#: Mass units in ng.
MASS_NG = {
    "g": Decimal(1000 * NG_PER_MG), "mg": Decimal(NG_PER_MG), **_same(NG_PER_MCG, "mcg", "ug", "µg", "μg"),
    "ng": Decimal(1),
}
#: Time units in ms.
TIME_MS = {
    **_same(7 * MS_PER_DAY, "w", "week", "weeks"),
    **_same(MS_PER_DAY, "d", "day", "days"),
    **_same(MS_PER_H, "h", "hr", "hour", "hours"),
    **_same(MS_PER_MIN, "min", "mins", "minute", "minutes"),
    **_same(MS_PER_S, "s", "sec", "second", "seconds"),
    "ms": Decimal(1),
}
#: Rate denominators ("per day", "per hour", "per minute") in days.
PER_DAY = {**_same(1, "day", "d"), **{u: Decimal(1) / (MS_PER_DAY // MS_PER_H) for u in ("h", "hr", "hour")},
           **{u: Decimal(1) / (MS_PER_DAY // MS_PER_MIN) for u in ("min", "minute")}}
#: Body-weight units in kg.
WEIGHT_KG = {"kg": Decimal(1), "g": Decimal("0.001")}
#: Length units in cm.
LENGTH_CM = {"m": Decimal(100), "cm": Decimal(1), "mm": Decimal("0.1")}
#: Volume units in mL (concentration denominators) and in pL (flow-rate numerators).
VOLUME_ML = {k: v / NL_PER_ML for k, v in VOLUME_NL.items()}
VOLUME_PL = {k: v * PL_PER_NL for k, v in VOLUME_NL.items()}
#: The percent sign as a fraction.
PERCENT_FRACTION = {"%": Decimal(1) / 100}
#: Pressure units in kPa (absolute pressures: an atmosphere is 101.325 kPa).
PRESSURE_KPA = {
    "kpa": Decimal(1), "pa": Decimal("0.001"), "mmhg": Decimal(str(KPA_PER_MMHG)), "bar": Decimal(100),
    "atm": Decimal(str(KPA_PER_ATM)),
}
#: Temperature units in °C (Celsius only: a kelvin value would need an offset, not a scale).
TEMPERATURE_C = {"c": Decimal(1), "°c": Decimal(1), "degc": Decimal(1)}

VOLUME = "a volume such as '20 mL' (units mL, uL, nL)"
MASS = "a drug mass such as '50 mcg' (units mg, mcg, ng)"
DURATION = "a duration such as '30 d' (units d, h, min, s)"
CONCENTRATION = "a concentration such as '500 mcg/mL' (mg/mL, mcg/mL, ng/mL)"
DOSE_RATE = "a dose rate such as '250 mcg/day' (mg, mcg or ng per day, h or min)"
VOLUME_RATE = "a flow rate such as '0.5 mL/day' (mL, uL or nL per day, h or min)"
WEIGHT = "a body weight such as '70 kg' (units kg, g)"
LENGTH = "a length such as '90 cm' (units cm, mm, m)"
VOLUME_PER_LENGTH = "a volume per length such as '0.0026 mL/cm'"
PERCENT = "a percentage such as '2 %'"
PRESSURE = "an absolute pressure such as '101.325 kPa' (units kPa, Pa, mmHg, bar, atm)"
TEMPERATURE = "a temperature such as '39 C' (degrees Celsius: C or °C)"
TIME_OF_DAY = "a time of day 'HH:MM' from 00:00 to 23:59"


class QuantityError(ValueError):
    """The text is not a quantity of the expected kind; ``expected`` says what would be."""

    def __init__(self, text: object, expected: str) -> None:
        super().__init__(f"{text!r}: expected {expected}")
        self.text = text
        self.expected = expected


@dataclass(frozen=True)
class Family:
    """The units of one dimension and the base unit they are converted to.

    A unit is a key of ``num`` ("ml"), or for a ratio family ``num`` key "/"
    ``den`` key ("mcg/day"); unit text is compared in lower case without spaces.
    """

    #: Short name, as ``pumpsim sweep`` and the schema use it ("volume", "flow rate").
    name: str
    #: What a value should look like, for messages (one of the texts above).
    expected: str
    #: The family in the docs' "Kind" column ("drug mass").
    title: str
    #: The base unit values are converted to ("nL").
    base: str
    num: Mapping[str, Decimal]
    den: Mapping[str, Decimal] | None = None

    def scale(self, unit: str) -> Decimal | None:
        """Base units per one *unit* (normalised: lower case, no spaces), or None if not of this family."""
        if self.den is None:
            return self.num.get(unit)
        if unit.count("/") != 1:
            return None
        a, b = unit.split("/")
        if a not in self.num or b not in self.den:
            return None
        return self.num[a] / self.den[b]

    def value(self, text: object) -> Decimal:
        """*text* in base units, exactly; QuantityError if it is not a quantity of this family."""
        value, unit = _split(text, self.expected)
        if self.den is None:
            if unit not in self.num:
                raise QuantityError(text, self.expected)
            return value * self.num[unit]
        if unit.count("/") != 1:
            raise QuantityError(text, self.expected)
        a, b = unit.split("/")
        if a not in self.num or b not in self.den:
            raise QuantityError(text, self.expected)
        return value * self.num[a] / self.den[b]


#: Every unit family, by name. ``pumpsim sweep`` looks families up here.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("volume", VOLUME, "volume", "nL", VOLUME_NL),
        Family("mass", MASS, "drug mass", "ng", MASS_NG),
        Family("duration", DURATION, "duration", "ms", TIME_MS),
        Family("length", LENGTH, "length", "cm", LENGTH_CM),
        Family("percent", PERCENT, "percentage", "fraction", PERCENT_FRACTION),
        Family("concentration", CONCENTRATION, "concentration", "ng/mL", MASS_NG, VOLUME_ML),
        Family("dose rate", DOSE_RATE, "dose rate", "ng/day", MASS_NG, PER_DAY),
        Family("flow rate", VOLUME_RATE, "flow rate", "pL/day", VOLUME_PL, PER_DAY),
        Family("volume per length", VOLUME_PER_LENGTH, "volume per length", "nL/cm", VOLUME_NL, LENGTH_CM),
        Family("body weight", WEIGHT, "body weight", "kg", WEIGHT_KG),
        Family("pressure", PRESSURE, "pressure", "kPa", PRESSURE_KPA),
        Family("temperature", TEMPERATURE, "temperature", "°C", TEMPERATURE_C),
    )
}


def _split(text: object, expected: str) -> tuple[Decimal, str]:
    if not isinstance(text, str):
        raise QuantityError(text, expected + " written as a string with its unit")
    m = _NUM.match(text)
    if not m:
        raise QuantityError(text, expected)
    try:
        value = Decimal(m.group(1))
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise QuantityError(text, expected) from None
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise QuantityError(text, f"{expected}, with a number between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT}")
    unit = m.group(2).replace(" ", "").lower()
    return value, unit


def _to_int(value: Decimal) -> int:
    return int(value.to_integral_value())


def volume_nl(text: object) -> int:
    """'20 mL' -> 20000000 (nL)."""
    return _to_int(FAMILIES["volume"].value(text))


def volume_pl(text: object) -> int:
    """'0.25 uL' -> 250000 (pL)."""
    return _to_int(FAMILIES["volume"].value(text) * PL_PER_NL)


def mass_ng(text: object) -> int:
    """'50 mcg' -> 50000 (ng)."""
    return _to_int(FAMILIES["mass"].value(text))


def duration_ms(text: object) -> int:
    """'36 d' -> 3110400000 (ms)."""
    return _to_int(FAMILIES["duration"].value(text))


def concentration_ng_per_ml(text: object) -> int:
    """'500 mcg/mL' -> 500000 (ng/mL)."""
    return _to_int(FAMILIES["concentration"].value(text))


def dose_ng_per_day(text: object) -> int:
    """'250 mcg/day' -> 250000; '10 mcg/h' -> 240000 (ng/day)."""
    return _to_int(FAMILIES["dose rate"].value(text))


def rate_pl_per_day(text: object) -> int:
    """'0.5 mL/day' -> 500000000 (pL/day)."""
    return _to_int(FAMILIES["flow rate"].value(text))


def length_cm(text: object) -> Decimal:
    """'90 cm' -> Decimal('90')."""
    return FAMILIES["length"].value(text)


def volume_nl_per_cm(text: object) -> Decimal:
    """'0.0026 mL/cm' -> Decimal('2600') (nL/cm)."""
    return FAMILIES["volume per length"].value(text)


def weight_kg(text: object) -> Decimal:
    """'70 kg' -> Decimal('70') (kg)."""
    return FAMILIES["body weight"].value(text)


def pressure_kpa(text: object) -> float:
    """'75 kPa' -> 75.0; '1 atm' -> 101.325; '760 mmHg' -> 101.32472 (kPa)."""
    return float(FAMILIES["pressure"].value(text))


def temperature_c(text: object) -> float:
    """'39 C' -> 39.0 (°C)."""
    return float(FAMILIES["temperature"].value(text))


def percent(text: object) -> float:
    """'2 %' -> 0.02."""
    value, unit = _split(text, PERCENT)
    if unit != "%":
        raise QuantityError(text, PERCENT)
    return float(value / 100)


def time_of_day_ms(text: object) -> int:
    """'06:30' -> 23400000 (ms after midnight)."""
    if not isinstance(text, str):
        raise QuantityError(text, TIME_OF_DAY)
    m = re.fullmatch(r"\s*([0-9]{1,2}):([0-9]{2})\s*", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise QuantityError(text, TIME_OF_DAY)
    return (int(m.group(1)) * 60 + int(m.group(2))) * MS_PER_MIN
