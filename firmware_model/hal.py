"""The hardware abstraction layer (HAL): everything the controller touches.

The controller never reads a clock, a sensor or a port directly. It is handed an
object that satisfies :class:`Hal` and calls only these methods. The simulator
implements the HAL against the plant model (``pumpsim.engine``), the bench
implements it against a real board over a serial link (``hil``), and
:class:`firmware_model.testing.FakeHal` implements it in memory for unit tests.

The motor is programmed the way a hardware stroke timer would be: "run N more
strokes, paced by this fractional interval", after which it stops by itself.
The controller wakes up (tickless) only when it asked to, or when a telemetry
message arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ._units import ceil_div
from .tones import TonePattern


@dataclass(frozen=True, slots=True)
class MotorProgram:
    """A batch of strokes for the stroke timer.

    The timer accrues *rate_pl_per_day* credit units every millisecond starting
    at *start_ms* with *credit0* units already accrued; a stroke fires each time
    the credit reaches *stroke_cost* (stroke volume in pL times ms per day), and
    the cost is then taken off. Stroke ``k`` (1-based) therefore fires at::

        start_ms + ceil((k * stroke_cost - credit0) / rate_pl_per_day)

    which is exact integer arithmetic with no accumulated rounding, whatever
    the rate (a Bresenham / DDA timer, portable to C with 64-bit integers as
    long as a program spans at most a day, see ``PumpConfig.max_sleep_ms``).
    The timer stops after *strokes* strokes.
    """

    start_ms: int
    strokes: int
    rate_pl_per_day: int
    stroke_cost: int
    credit0: int

    def __post_init__(self) -> None:
        if self.strokes < 0:
            raise ValueError(f"strokes must be >= 0, got {self.strokes}")
        if self.strokes and self.rate_pl_per_day <= 0:
            raise ValueError(f"rate_pl_per_day must be > 0, got {self.rate_pl_per_day}")
        if self.stroke_cost <= 0:
            raise ValueError(f"stroke_cost must be > 0, got {self.stroke_cost}")
        if not 0 <= self.credit0 < self.stroke_cost:
            raise ValueError(f"credit0 must be in [0, stroke_cost), got {self.credit0}")

    def stroke_time_ms(self, k: int) -> int:
        """Time of stroke *k* (1-based, k <= strokes)."""
        return self.start_ms + ceil_div(k * self.stroke_cost - self.credit0, self.rate_pl_per_day)

    def strokes_by(self, t_ms: int) -> int:
        """How many strokes of this program have fired at or before *t_ms*."""
        if self.strokes == 0 or t_ms < self.start_ms:
            return 0
        fired = (self.credit0 + self.rate_pl_per_day * (t_ms - self.start_ms)) // self.stroke_cost
        return min(fired, self.strokes)

    @property
    def end_ms(self) -> int:
        """Time of the last stroke (``start_ms`` for an empty program)."""
        return self.stroke_time_ms(self.strokes) if self.strokes else self.start_ms


@runtime_checkable
class Motor(Protocol):
    """Stroke motor with its hardware stroke timer and stroke counter."""

    def run(self, program: MotorProgram) -> None:
        """Replace any running program with *program* (starts at ``program.start_ms``)."""

    def stop(self) -> None:
        """Stop the stroke timer; strokes not yet fired are dropped."""

    def stroke_count(self) -> int:
        """Total strokes completed since power-on (monotonic)."""

    def stalled(self) -> bool:
        """True if the motor driver has flagged a stall."""


@runtime_checkable
class Sounder(Protocol):
    """Piezo sounder."""

    def play(self, pattern: TonePattern) -> None:
        """Play *pattern* once, now."""


@runtime_checkable
class Rtc(Protocol):
    """Real-time clock with a wake-up alarm."""

    def now_ms(self) -> int:
        """Milliseconds since the epoch the controller was booted with."""

    def set_wakeup(self, t_ms: int) -> None:
        """Wake the controller at *t_ms* (replaces any earlier request)."""


@runtime_checkable
class BatteryGauge(Protocol):
    """Battery fuel gauge."""

    def battery_mv(self) -> int:
        """Battery terminal voltage in millivolts."""


@runtime_checkable
class TelemetryInbox(Protocol):
    """Messages received from the clinician programmer."""

    def receive(self) -> object | None:
        """Pop the next pending command, or None when the inbox is empty."""


class Hal(Protocol):
    """Everything the controller may use, as five small parts.

    Keeping the parts separate lets a bench swap one (say, a real motor board)
    while the others stay simulated.
    """

    @property
    def motor(self) -> Motor: ...

    @property
    def sounder(self) -> Sounder: ...

    @property
    def rtc(self) -> Rtc: ...

    @property
    def battery(self) -> BatteryGauge: ...

    @property
    def inbox(self) -> TelemetryInbox: ...
