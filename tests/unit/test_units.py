"""Unit constants agree with the firmware's; quantity strings are parsed exactly and wrong units are named."""

from __future__ import annotations

import pytest

import firmware_model as fw_units
import pumpsim.units
from pumpsim.scenario import quantities as units


@pytest.mark.parametrize(
    ("text", "nl"),
    [("20 mL", 20_000_000), ("0.234 mL", 234_000), ("250 uL", 250_000), ("250 µL", 250_000), ("7 nL", 7),
     ("0.1 mL", 100_000), ("1e-3 mL", 1000), ("20mL", 20_000_000), (" 20 ml ", 20_000_000)],
)
def test_volume(text: str, nl: int) -> None:
    """Volumes in mL, uL/µL and nL become nanolitres, decimals exactly."""
    assert units.volume_nl(text) == nl


@pytest.mark.parametrize(
    ("text", "value"),
    [("250 mcg/day", 250_000), ("10 mcg/h", 240_000), ("5 mg/day", 5_000_000), ("2.4 µg/day", 2_400),
     ("100 ng/hour", 2_400)],
)
def test_dose_rate(text: str, value: int) -> None:
    """Dose rates per day or per hour become ng/day."""
    assert units.dose_ng_per_day(text) == value


def test_other_dimensions() -> None:
    """Concentration, flow rate, duration, length, percent and time of day."""
    assert units.concentration_ng_per_ml("500 mcg/mL") == 500_000
    assert units.concentration_ng_per_ml("25 mg/mL") == 25_000_000
    assert units.concentration_ng_per_ml("2 mcg/uL") == 2_000_000
    assert units.rate_pl_per_day("0.5 mL/day") == 500_000_000
    assert units.rate_pl_per_day("1 uL/h") == 24_000_000
    assert units.duration_ms("36 d") == 36 * pumpsim.units.MS_PER_DAY
    assert units.duration_ms("90 min") == 5_400_000
    assert units.duration_ms("1.5 h") == 5_400_000
    assert units.length_cm("0.9 m") == 90
    assert units.volume_nl_per_cm("0.0026 mL/cm") == 2600
    assert units.percent("-2.5 %") == -0.025
    assert units.time_of_day_ms("06:30") == 23_400_000
    assert units.pressure_kpa("75 kPa") == 75.0 and units.pressure_kpa("1 atm") == 101.325
    assert units.pressure_kpa("760 mmHg") == pytest.approx(101.32472) and units.pressure_kpa("2.4 bar") == 240.0
    assert units.temperature_c("39 C") == 39.0 and units.temperature_c("38.5 °C") == 38.5


@pytest.mark.parametrize(
    ("parser", "text", "fragment"),
    [
        (units.volume_nl, "500 mg/day", "a volume"),
        (units.volume_nl, "20", "a volume"),
        (units.volume_nl, 20, "written as a string"),
        (units.dose_ng_per_day, "0.5 mL/day", "a dose rate"),
        (units.rate_pl_per_day, "250 mcg/day", "a flow rate"),
        (units.concentration_ng_per_ml, "500 mcg", "a concentration"),
        (units.duration_ms, "3 fortnights", "a duration"),
        (units.percent, "0.02", "a percentage"),
        (units.time_of_day_ms, "25:00", "HH:MM"),
        (units.pressure_kpa, "75", "an absolute pressure"),
        (units.temperature_c, "310 K", "a temperature"),
        (units.volume_nl, "twenty mL", "a volume"),
    ],
)
def test_wrong_units_are_named(parser: object, text: object, fragment: str) -> None:
    """A wrong or missing unit raises QuantityError saying what was expected."""
    with pytest.raises(units.QuantityError) as e:
        parser(text)  # type: ignore[operator]
    assert fragment in str(e.value)


def test_pumpsim_units_agree_with_the_firmware() -> None:
    """pumpsim.units and firmware_model (its _units) keep separate copies of the constants; they must agree.

    Every constant the two share has the same value, and the hand-worked ones hold:
    a day is 24 x 60 x 60 x 1000 = 86,400,000 ms and a mL is 10^9 pL.
    """
    shared = [n for n in dir(pumpsim.units) if n.isupper() and hasattr(fw_units, n)]
    assert {"MS_PER_DAY", "MS_PER_H", "NL_PER_ML", "PL_PER_ML", "NG_PER_MG"} <= set(shared)
    for name in shared:
        assert getattr(pumpsim.units, name) == getattr(fw_units, name), name
    assert pumpsim.units.MS_PER_DAY == 86_400_000 and pumpsim.units.S_PER_DAY == 86_400
    assert pumpsim.units.PL_PER_ML == 10**9


def test_unit_tables_are_built_from_the_constants() -> None:
    """The parser's unit tables use pumpsim.units: 1 d = MS_PER_DAY ms, 1 mL = NL_PER_ML nL, 1 mg = NG_PER_MG ng."""
    assert units.TIME_MS["d"] == pumpsim.units.MS_PER_DAY
    assert units.TIME_MS["w"] == 7 * pumpsim.units.MS_PER_DAY
    assert units.VOLUME_NL["ml"] == pumpsim.units.NL_PER_ML
    assert units.MASS_NG["mg"] == pumpsim.units.NG_PER_MG
    assert units.FAMILIES["flow rate"].scale("ml/h") == 24 * pumpsim.units.PL_PER_ML
    assert units.FAMILIES["volume"].scale("ml/h") is None
    assert units.FAMILIES["concentration"].scale("mg") is None
