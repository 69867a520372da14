"""Parsing quantities written as strings with units ("20 mL", "250 mcg/day").

Every parser returns an integer in the project's fixed unit (nL, pL, ng, ms,
ng/mL, ng/day, pL/day) or a float fraction for percentages, and raises
:class:`QuantityError` naming what was expected when the text is not a number
followed by a unit of the right kind. Numbers are read as decimals, so
"0.1 mL" is exactly 100000 nL, with no binary rounding on the way.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# ASCII digits only: \d would also take "١٠" or full-width digits.
_NUM = re.compile(r"^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*(.*?)\s*$")
#: The number syntax every quantity uses (also by ``pumpsim sweep --vary``).
NUMBER = _NUM
#: Largest decimal exponent a quantity may have: far beyond any real value, and
#: small enough that the integer conversion stays instant.
MAX_EXPONENT = 24

#: Volume units in nL.
VOLUME_NL = {"ml": Decimal(10) ** 6, "ul": Decimal(1000), "µl": Decimal(1000), "μl": Decimal(1000), "nl": Decimal(1)}
#: Mass units in ng.
MASS_NG = {
    "g": Decimal(10) ** 9, "mg": Decimal(10) ** 6, "mcg": Decimal(1000), "ug": Decimal(1000),
    "µg": Decimal(1000), "μg": Decimal(1000), "ng": Decimal(1),
}
#: Time units in ms.
TIME_MS = {
    "w": Decimal(604_800_000), "week": Decimal(604_800_000), "weeks": Decimal(604_800_000),
    "d": Decimal(86_400_000), "day": Decimal(86_400_000), "days": Decimal(86_400_000),
    "h": Decimal(3_600_000), "hr": Decimal(3_600_000), "hour": Decimal(3_600_000), "hours": Decimal(3_600_000),
    "min": Decimal(60_000), "mins": Decimal(60_000), "minute": Decimal(60_000), "minutes": Decimal(60_000),
    "s": Decimal(1000), "sec": Decimal(1000), "second": Decimal(1000), "seconds": Decimal(1000),
    "ms": Decimal(1),
}
#: Rate denominators ("per day", "per hour") in days.
PER_DAY = {"day": Decimal(1), "d": Decimal(1), "h": Decimal(1) / 24, "hr": Decimal(1) / 24, "hour": Decimal(1) / 24}
#: Length units in cm.
LENGTH_CM = {"m": Decimal(100), "cm": Decimal(1), "mm": Decimal("0.1")}


class QuantityError(ValueError):
    """The text is not a quantity of the expected kind; ``expected`` says what would be."""

    def __init__(self, text: object, expected: str) -> None:
        super().__init__(f"{text!r}: expected {expected}")
        self.text = text
        self.expected = expected


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


def _simple(text: object, table: dict[str, Decimal], expected: str) -> Decimal:
    value, unit = _split(text, expected)
    if unit not in table:
        raise QuantityError(text, expected)
    return value * table[unit]


def _ratio(text: object, num: dict[str, Decimal], den: dict[str, Decimal], expected: str) -> Decimal:
    value, unit = _split(text, expected)
    if unit.count("/") != 1:
        raise QuantityError(text, expected)
    a, b = unit.split("/")
    if a not in num or b not in den:
        raise QuantityError(text, expected)
    return value * num[a] / den[b]


VOLUME = "a volume such as '20 mL' (units mL, uL, nL)"
MASS = "a drug mass such as '50 mcg' (units mg, mcg, ng)"
DURATION = "a duration such as '30 d' (units d, h, min, s)"
CONCENTRATION = "a concentration such as '500 mcg/mL' (mg/mL, mcg/mL, ng/mL)"
DOSE_RATE = "a dose rate such as '250 mcg/day' (mg, mcg or ng per day or per h)"
VOLUME_RATE = "a flow rate such as '0.5 mL/day' (mL, uL or nL per day or per h)"
LENGTH = "a length such as '90 cm' (units cm, mm, m)"
VOLUME_PER_LENGTH = "a volume per length such as '0.0026 mL/cm'"
PERCENT = "a percentage such as '2 %'"
TIME_OF_DAY = "a time of day 'HH:MM' from 00:00 to 23:59"


def volume_nl(text: object) -> int:
    """'20 mL' -> 20000000 (nL)."""
    return _to_int(_simple(text, VOLUME_NL, VOLUME))


def volume_pl(text: object) -> int:
    """'0.25 uL' -> 250000 (pL)."""
    return _to_int(_simple(text, VOLUME_NL, VOLUME) * 1000)


def mass_ng(text: object) -> int:
    """'50 mcg' -> 50000 (ng)."""
    return _to_int(_simple(text, MASS_NG, MASS))


def duration_ms(text: object) -> int:
    """'36 d' -> 3110400000 (ms)."""
    return _to_int(_simple(text, TIME_MS, DURATION))


def concentration_ng_per_ml(text: object) -> int:
    """'500 mcg/mL' -> 500000 (ng/mL)."""
    return _to_int(_ratio(text, MASS_NG, {k: v / 10**6 for k, v in VOLUME_NL.items()}, CONCENTRATION))


def dose_ng_per_day(text: object) -> int:
    """'250 mcg/day' -> 250000; '10 mcg/h' -> 240000 (ng/day)."""
    return _to_int(_ratio(text, MASS_NG, PER_DAY, DOSE_RATE))


def rate_pl_per_day(text: object) -> int:
    """'0.5 mL/day' -> 500000000 (pL/day)."""
    return _to_int(_ratio(text, {k: v * 1000 for k, v in VOLUME_NL.items()}, PER_DAY, VOLUME_RATE))


def length_cm(text: object) -> Decimal:
    """'90 cm' -> Decimal('90')."""
    return _simple(text, LENGTH_CM, LENGTH)


def volume_nl_per_cm(text: object) -> Decimal:
    """'0.0026 mL/cm' -> Decimal('2600') (nL/cm)."""
    return _ratio(text, VOLUME_NL, LENGTH_CM, VOLUME_PER_LENGTH)


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
    return (int(m.group(1)) * 60 + int(m.group(2))) * 60_000


def is_negative(text: object) -> bool:
    """True if *text* starts with a minus sign (for range checks)."""
    return isinstance(text, str) and text.strip().startswith("-")
