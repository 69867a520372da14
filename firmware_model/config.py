"""The pump's fixed configuration: what the factory and the implanting clinician set.

Values marked [C] are confirmed in ``shared/reference/domain.md``; values marked
[U] are unconfirmed placeholders, kept as parameters so a user can set them.

The ``MAX_*`` and ``MIN_*`` limits are the extremes the firmware is written
for. Within them every integer it computes fits a signed 64-bit integer (the
bound for each product is worked in the docstring that computes it, and
``tests/property/test_prop_int64.py`` checks every arithmetic result at these
extremes), so a C port needs no wider type.
"""

from __future__ import annotations

from typing import Final

from ._record import Record
from ._units import MS_PER_DAY, MS_PER_H, MS_PER_MIN, NG_PER_MG, NL_PER_ML, NL_PER_UL, PL_PER_ML, PL_PER_NL

#: Most time-of-day steps a flex prescription may have. The SynchroMed II step
#: count is unconfirmed ([U], domain.md section 3); 24 allows hourly steps.
MAX_FLEX_STEPS: Final = 24

#: Stroke volume range, pL (1 nL .. 10 uL).
MIN_STROKE_VOLUME_PL: Final = PL_PER_NL
MAX_STROKE_VOLUME_PL: Final = 10 * NL_PER_UL * PL_PER_NL
#: Largest reservoir, nL (100 mL; SynchroMed II holds 20 or 40 mL).
MAX_RESERVOIR_NL: Final = 100 * NL_PER_ML
#: Highest maximum rate a pump may be configured with, pL/day (100 mL/day).
MAX_RATE_PL_PER_DAY: Final = 100 * PL_PER_ML
#: Largest dead volume (pump tubing + catheter), nL.
MAX_DEAD_VOLUME_NL: Final = 10 * NL_PER_ML
#: Highest drug concentration the firmware accepts, ng/mL (100 mg/mL).
MAX_CONC_NG_PER_ML: Final = 100 * NG_PER_MG
#: Longest time between periodic bolus starts, ms.
MAX_BOLUS_INTERVAL_MS: Final = 7 * MS_PER_DAY
#: Longest bolus (a single bolus may be spread over up to 30 days), ms.
MAX_BOLUS_MS: Final = 30 * MS_PER_DAY
#: Longest run the arithmetic is checked for, ms (30 years of 365.25 days).
MAX_RUN_MS: Final = 30 * 36525 * MS_PER_DAY // 100


class PumpConfig(Record):
    """Controller configuration, validated at construction.

    Raises ValueError naming the field, the value and the expected range.
    """

    __slots__ = (
        "critical_tone_interval_ms",
        "dead_volume_nl",
        "empty_floor_nl",
        "log_capacity",
        "low_reservoir_nl",
        "max_rate_pl_per_day",
        "max_sleep_ms",
        "min_rate_pl_per_day",
        "non_critical_tone_interval_ms",
        "reservoir_capacity_nl",
        "stroke_volume_pl",
    )
    __match_args__ = (
        "stroke_volume_pl",
        "reservoir_capacity_nl",
        "low_reservoir_nl",
        "empty_floor_nl",
        "min_rate_pl_per_day",
        "max_rate_pl_per_day",
        "dead_volume_nl",
        "non_critical_tone_interval_ms",
        "critical_tone_interval_ms",
        "max_sleep_ms",
        "log_capacity",
    )

    def __init__(
        self,
        # Calibrated stroke volume the firmware believes in, pL. 0.25 uL is a
        # placeholder ([U]: SynchroMed II stroke volume is not published).
        stroke_volume_pl: int = 250_000,
        # Reservoir capacity, nL. 20 mL: SynchroMed II 8637-20 ([C] FDA recall page).
        reservoir_capacity_nl: int = 20 * NL_PER_ML,
        # Low-reservoir alarm threshold, nL. 2 mL: Medtronic's historic
        # recommendation ([C] Neurosurgery 2004; Medtronic "Pump management").
        low_reservoir_nl: int = 2 * NL_PER_ML,
        # Estimate at which the reservoir counts as empty, nL. At this floor the
        # critical empty-reservoir alarm sounds and delivery stops (design choice).
        empty_floor_nl: int = 0,
        # Minimum programmable rate ("stopped pump" runs here), pL/day.
        # 0.048 mL/day is [U] (recalled from the 8637 manual, not readable).
        min_rate_pl_per_day: int = 48 * PL_PER_ML // 1000,
        # Maximum rate (also the priming-bolus rate), pL/day. 24 mL/day is [U].
        max_rate_pl_per_day: int = 24 * PL_PER_ML,
        # Volume between the reservoir outlet and the catheter tip (pump tubing +
        # catheter), nL, as entered by the clinician at implant. Used for bridge
        # and priming boluses.
        dead_volume_nl: int = 234_000,
        # Non-critical tone repeat interval: "about once an hour" ([C] Medtronic).
        non_critical_tone_interval_ms: int = MS_PER_H,
        # Critical tone repeat interval: about 10 minutes ([U]).
        critical_tone_interval_ms: int = 10 * MS_PER_MIN,
        # Longest the controller sleeps without a reason. Bounds every motor
        # program to a day so stroke-timer credit fits a signed 64-bit integer at
        # the maximum rate (100 mL/day = 1e11 pL/day x 8.64e7 ms = 8.64e18 < 2**63).
        max_sleep_ms: int = MS_PER_DAY,
        # Event-log ring-buffer size, records (at most 2**20).
        log_capacity: int = 256,
    ) -> None:
        _in_range("stroke_volume_pl", stroke_volume_pl, MIN_STROKE_VOLUME_PL, MAX_STROKE_VOLUME_PL, "pL")
        _in_range("reservoir_capacity_nl", reservoir_capacity_nl, 1, MAX_RESERVOIR_NL, "nL")
        _in_range("low_reservoir_nl", low_reservoir_nl, 0, reservoir_capacity_nl, "nL")
        _in_range("empty_floor_nl", empty_floor_nl, 0, low_reservoir_nl, "nL")
        _in_range("min_rate_pl_per_day", min_rate_pl_per_day, 1, MAX_RATE_PL_PER_DAY, "pL/day")
        _in_range("max_rate_pl_per_day", max_rate_pl_per_day, min_rate_pl_per_day, MAX_RATE_PL_PER_DAY, "pL/day")
        _in_range("dead_volume_nl", dead_volume_nl, 0, MAX_DEAD_VOLUME_NL, "nL")
        _in_range("non_critical_tone_interval_ms", non_critical_tone_interval_ms, 1, MS_PER_DAY, "ms")
        _in_range("critical_tone_interval_ms", critical_tone_interval_ms, 1, MS_PER_DAY, "ms")
        _in_range("max_sleep_ms", max_sleep_ms, 1, MS_PER_DAY, "ms")
        _in_range("log_capacity", log_capacity, 1, 1 << 20, "records")
        self.stroke_volume_pl: Final = stroke_volume_pl
        self.reservoir_capacity_nl: Final = reservoir_capacity_nl
        self.low_reservoir_nl: Final = low_reservoir_nl
        self.empty_floor_nl: Final = empty_floor_nl
        self.min_rate_pl_per_day: Final = min_rate_pl_per_day
        self.max_rate_pl_per_day: Final = max_rate_pl_per_day
        self.dead_volume_nl: Final = dead_volume_nl
        self.non_critical_tone_interval_ms: Final = non_critical_tone_interval_ms
        self.critical_tone_interval_ms: Final = critical_tone_interval_ms
        self.max_sleep_ms: Final = max_sleep_ms
        self.log_capacity: Final = log_capacity

    def replace(self, **changes: int) -> PumpConfig:
        """A copy with the named fields changed (validated again), like ``dataclasses.replace``."""
        values = {name: getattr(self, name) for name in self.__match_args__}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"PumpConfig has no field {sorted(unknown)[0]!r}")
        values.update(changes)
        return PumpConfig(**values)

    @property
    def stroke_cost(self) -> int:
        """Stroke-timer credit one stroke costs: stroke volume (pL) x ms per day (<= 8.64e14)."""
        return self.stroke_volume_pl * MS_PER_DAY


def _in_range(name: str, value: int, lo: int, hi: int, unit: str) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name} = {value}: expected {lo}..{hi} {unit}")
