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

from bisect import bisect_left, bisect_right
from typing import Final, Protocol, runtime_checkable

from ._record import Record
from ._units import ceil_div
from .tones import TonePattern


class MotorProgram(Record):
    """A batch of strokes for the stroke timer, with a small rate table.

    From *start_ms* the timer accrues credit at *rate_pl_per_day* units per
    millisecond, then at each rate of *later* from its start time on (a
    time-of-day dosing step is a new row, not a new wake-up). *credit0* units
    are already accrued at the start. A stroke fires each time the credit
    reaches *stroke_cost* (stroke volume in pL times ms per day) and the cost
    is taken off. With ``C(t)`` the credit accrued by *t*, stroke ``k``
    (1-based) fires at the first millisecond with ``C(t) >= k * stroke_cost``;
    for a single rate that is::

        start_ms + ceil((k * stroke_cost - credit0) / rate_pl_per_day)

    This is exact integer arithmetic with no accumulated rounding, whatever
    the rate (a Bresenham / DDA timer, portable to C with 64-bit integers as
    long as a program spans at most a day, see ``PumpConfig.max_sleep_ms``).
    The timer stops after *strokes* strokes.

    Raises ValueError for a negative stroke count, a cost <= 0, *credit0*
    outside [0, stroke_cost), rate-table times that do not increase, a
    negative rate, or strokes with no rate to fire them.

    A program is a value, like the register block it stands for: it is
    loaded whole and never changed (the attributes are ``Final``, so
    ``mypy`` rejects an assignment), and compares by its constructor fields.
    """

    __slots__ = (
        "_credits",
        "_rates",
        "_starts",
        "credit0",
        "later",
        "rate_pl_per_day",
        "start_ms",
        "stroke_cost",
        "strokes",
    )
    __match_args__ = ("start_ms", "strokes", "rate_pl_per_day", "stroke_cost", "credit0", "later")

    def __init__(
        self,
        start_ms: int,
        strokes: int,
        rate_pl_per_day: int,
        stroke_cost: int,
        credit0: int,
        later: tuple[tuple[int, int], ...] = (),
    ) -> None:
        if strokes < 0:
            raise ValueError(f"strokes must be >= 0, got {strokes}")
        if stroke_cost <= 0:
            raise ValueError(f"stroke_cost must be > 0, got {stroke_cost}")
        if not 0 <= credit0 < stroke_cost:
            raise ValueError(f"credit0 must be in [0, stroke_cost), got {credit0}")
        self.start_ms: Final = start_ms
        self.strokes: Final = strokes
        self.rate_pl_per_day: Final = rate_pl_per_day
        self.stroke_cost: Final = stroke_cost
        self.credit0: Final = credit0
        #: Later rows of the rate table: (from_ms, rate_pl_per_day), times increasing.
        self.later: Final = later
        if not later:  # a single rate: no table to build
            if rate_pl_per_day < 0 or (strokes and rate_pl_per_day == 0):
                raise ValueError(f"rate_pl_per_day must be > 0 with strokes, got {rate_pl_per_day}")
            starts: tuple[int, ...] = (start_ms,)
            rates: tuple[int, ...] = (rate_pl_per_day,)
            credits: tuple[int, ...] = (credit0,)
        else:
            starts, rates, credits = _rate_table(start_ms, rate_pl_per_day, credit0, later)
            if strokes and max(rates) == 0:
                raise ValueError("a program with strokes needs a rate > 0")
        self._starts: Final = starts
        self._rates: Final = rates
        #: Credit accrued at the start of each row.
        self._credits: Final = credits

    def _row(self, t_ms: int) -> int:
        return bisect_right(self._starts, t_ms) - 1

    def rate_at(self, t_ms: int) -> int:
        """Timer rate at *t_ms* (pL/day); the first row's before the start."""
        if not self.later:
            return self.rate_pl_per_day
        return self._rates[max(self._row(t_ms), 0)]

    def credit_at(self, t_ms: int) -> int:
        """Credit accrued by *t_ms* (credit0 included, strokes not deducted)."""
        if t_ms <= self.start_ms:
            return self.credit0
        if not self.later:  # the common single-rate program
            return self.credit0 + self.rate_pl_per_day * (t_ms - self.start_ms)
        i = self._row(t_ms)
        return self._credits[i] + self._rates[i] * (t_ms - self._starts[i])

    def stroke_time_ms(self, k: int) -> int:
        """Time of stroke *k* (1-based, k <= strokes)."""
        need = k * self.stroke_cost
        # Last row that starts with less credit than needed holds stroke k.
        i = bisect_left(self._credits, need) - 1
        if i < 0 or self._rates[i] == 0:
            raise ValueError(f"stroke {k} never fires under this program")
        return self._starts[i] + ceil_div(need - self._credits[i], self._rates[i])

    def strokes_by(self, t_ms: int) -> int:
        """How many strokes of this program have fired at or before *t_ms*."""
        if self.strokes == 0 or t_ms < self.start_ms:
            return 0
        fired = self.credit_at(t_ms) // self.stroke_cost
        return fired if fired < self.strokes else self.strokes

    @property
    def end_ms(self) -> int:
        """Time of the last stroke (``start_ms`` for an empty program)."""
        return self.stroke_time_ms(self.strokes) if self.strokes else self.start_ms


def _rate_table(
    start_ms: int, rate0: int, credit0: int, later: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(row start times, rates, credit at each row start) of a multi-row program."""
    starts = [start_ms]
    rates = [rate0]
    for t, r in later:
        if t <= starts[-1]:
            raise ValueError(f"rate table times must increase, got {t} after {starts[-1]}")
        starts.append(t)
        rates.append(r)
    if min(rates) < 0:
        raise ValueError(f"rates must be >= 0 pL/day, got {min(rates)}")
    credits = [credit0]
    for i in range(1, len(starts)):
        credits.append(credits[-1] + rates[i - 1] * (starts[i] - starts[i - 1]))
    return tuple(starts), tuple(rates), tuple(credits)


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
