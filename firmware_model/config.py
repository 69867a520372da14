"""The pump's fixed configuration: what the factory and the implanting clinician set.

Values marked [C] are confirmed in ``shared/reference/domain.md``; values marked
[U] are unconfirmed placeholders, kept as parameters so a user can set them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._units import MS_PER_DAY, MS_PER_H, MS_PER_MIN, NL_PER_ML, PL_PER_ML

#: Most time-of-day steps a flex prescription may have. The SynchroMed II step
#: count is unconfirmed ([U], domain.md section 3); 24 allows hourly steps.
MAX_FLEX_STEPS = 24


@dataclass(frozen=True, slots=True)
class PumpConfig:
    """Controller configuration, validated at construction.

    Raises ValueError naming the field, the value and the expected range.
    """

    #: Calibrated stroke volume the firmware believes in, pL. 0.25 uL is a
    #: placeholder ([U]: SynchroMed II stroke volume is not published).
    stroke_volume_pl: int = 250_000
    #: Reservoir capacity, nL. 20 mL: SynchroMed II 8637-20 ([C] FDA recall page).
    reservoir_capacity_nl: int = 20 * NL_PER_ML
    #: Low-reservoir alarm threshold, nL. 2 mL: Medtronic's historic
    #: recommendation ([C] Neurosurgery 2004; Medtronic "Pump management").
    low_reservoir_nl: int = 2 * NL_PER_ML
    #: Estimate at which the reservoir counts as empty, nL. At this floor the
    #: critical empty-reservoir alarm sounds and delivery stops (design choice).
    empty_floor_nl: int = 0
    #: Minimum programmable rate ("stopped pump" runs here), pL/day.
    #: 0.048 mL/day is [U] (recalled from the 8637 manual, not readable).
    min_rate_pl_per_day: int = 48 * PL_PER_ML // 1000
    #: Maximum rate (also the priming-bolus rate), pL/day. 24 mL/day is [U].
    max_rate_pl_per_day: int = 24 * PL_PER_ML
    #: Volume between the reservoir outlet and the catheter tip (pump tubing +
    #: catheter), nL, as entered by the clinician at implant. Used for bridge
    #: and priming boluses.
    dead_volume_nl: int = 234_000
    #: Non-critical tone repeat interval: "about once an hour" ([C] Medtronic).
    non_critical_tone_interval_ms: int = MS_PER_H
    #: Critical tone repeat interval: about 10 minutes ([U]).
    critical_tone_interval_ms: int = 10 * MS_PER_MIN
    #: Longest the controller sleeps without a reason. Bounds every motor
    #: program to a day so stroke-timer credit fits a signed 64-bit integer at
    #: the maximum rate (24 mL/day * 86.4e6 ms < 2**63).
    max_sleep_ms: int = MS_PER_DAY
    #: Event-log ring-buffer size, records.
    log_capacity: int = 256

    def __post_init__(self) -> None:
        _positive("stroke_volume_pl", self.stroke_volume_pl, "pL")
        _positive("reservoir_capacity_nl", self.reservoir_capacity_nl, "nL")
        _in_range("low_reservoir_nl", self.low_reservoir_nl, 0, self.reservoir_capacity_nl, "nL")
        _in_range("empty_floor_nl", self.empty_floor_nl, 0, self.low_reservoir_nl, "nL")
        _positive("min_rate_pl_per_day", self.min_rate_pl_per_day, "pL/day")
        _in_range(
            "max_rate_pl_per_day",
            self.max_rate_pl_per_day,
            self.min_rate_pl_per_day,
            100 * PL_PER_ML,
            "pL/day",
        )
        _in_range("dead_volume_nl", self.dead_volume_nl, 0, 10 * NL_PER_ML, "nL")
        _positive("non_critical_tone_interval_ms", self.non_critical_tone_interval_ms, "ms")
        _positive("critical_tone_interval_ms", self.critical_tone_interval_ms, "ms")
        _in_range("max_sleep_ms", self.max_sleep_ms, 1, MS_PER_DAY, "ms")
        _positive("log_capacity", self.log_capacity, "records")

    @property
    def stroke_cost(self) -> int:
        """Stroke-timer credit one stroke costs: stroke volume (pL) x ms per day."""
        return self.stroke_volume_pl * MS_PER_DAY


def _positive(name: str, value: int, unit: str) -> None:
    if value <= 0:
        raise ValueError(f"{name} = {value}: expected > 0 {unit}")


def _in_range(name: str, value: int, lo: int, hi: int, unit: str) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name} = {value}: expected {lo}..{hi} {unit}")
