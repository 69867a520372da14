"""The pump battery, as the firmware's fuel gauge sees it.

A first-order placeholder: terminal voltage falls linearly from *full_mv* to
*empty_mv* over *life_days*. SynchroMed II batteries typically last 5-7 years
and the pump shuts off at 7 years at most ([C] Medtronic "Getting a
Replacement"); the voltage curve itself is [U]. ERI/EOS behaviour is not
modelled yet, so the controller only reads the gauge.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..units import MS_PER_DAY


@dataclass(frozen=True, slots=True)
class Battery:
    """Linear-discharge battery model ([U] shape; [C] 7-year service life)."""

    life_days: int = 7 * 365
    full_mv: int = 3_200
    empty_mv: int = 2_600

    def __post_init__(self) -> None:
        if self.life_days <= 0:
            raise ValueError(f"life_days = {self.life_days}: expected > 0 days")
        if not 0 < self.empty_mv < self.full_mv:
            raise ValueError(f"empty_mv = {self.empty_mv}: expected 0 < empty_mv < full_mv = {self.full_mv}")

    def mv_at(self, t_ms: int) -> int:
        """Terminal voltage at *t_ms* after implant, mV (never below empty_mv)."""
        frac = min(t_ms / (self.life_days * MS_PER_DAY), 1.0)
        return round(self.full_mv - frac * (self.full_mv - self.empty_mv))
