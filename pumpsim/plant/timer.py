"""The motor's hardware stroke timer, as the plant sees it: which program runs, and since when.

The firmware loads a program ("from start_ms, fire up to N strokes at this
rate") and the timer fires them by itself; the stroke counter is the count at
the program's start plus the strokes the program has fired. The stroke
arithmetic of a program (when stroke k fires, how many have fired by t) is the
program's own (``firmware_model.MotorProgram``, integer Bresenham pacing). The
plant needs only the :class:`StrokeProgram` protocol, so it does not import
the firmware.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar


class StrokeProgram(Protocol):
    """What the plant reads of a motor program (``firmware_model.MotorProgram`` is one)."""

    @property
    def strokes(self) -> int:
        """Strokes the program fires in all."""
        ...

    def strokes_by(self, t_ms: int) -> int:
        """Strokes fired at or before *t_ms*."""
        ...

    def stroke_time_ms(self, k: int) -> int:
        """Time of stroke *k* (1-based, k <= strokes)."""
        ...

    def rate_at(self, t_ms: int) -> int:
        """Timer rate at *t_ms*, pL/day."""
        ...


P = TypeVar("P", bound=StrokeProgram)


class StrokeTimer(Generic[P]):
    """The stroke timer and its counter, at the plant's present time :attr:`now_ms`.

    Like the hardware it models, the timer holds the stroke count as a
    register: :meth:`advance` moves it to a later time, firing the strokes due
    by then, and :attr:`count` is read without arithmetic. :meth:`count_at`
    answers for a later time without moving (the engine's look-ahead).

    Generic in the program type, so the engine gets back the firmware's own
    program objects (with their credit arithmetic) without the plant knowing them.
    """

    def __init__(self) -> None:
        self.program: P | None = None
        #: Stroke count when the current program was loaded (or the timer stopped).
        self.base = 0
        #: The present time, ms.
        self.now_ms = 0
        #: Strokes fired since power-on, at :attr:`now_ms`.
        self.count = 0

    def advance(self, t_ms: int) -> None:
        """Move the present to *t_ms* (>= now): the strokes due by then have fired."""
        self.count = self.count_at(t_ms)
        self.now_ms = t_ms

    def count_at(self, t_ms: int) -> int:
        """The count at *t_ms* (>= now) if the running program is left alone."""
        p = self.program
        return self.base if p is None else self.base + p.strokes_by(t_ms)

    def counts_at(self, times: Sequence[int]) -> list[int]:
        """:meth:`count_at` for each of *times* (>= now), the program left alone."""
        p, base = self.program, self.base
        if p is None:
            return [base] * len(times)
        return [base + p.strokes_by(t) for t in times]

    def load(self, program: P) -> None:
        """Replace the running program now (strokes not yet fired are dropped)."""
        self.base = self.count
        self.program = program

    def stop(self) -> None:
        """Stop now; the count stays where it is."""
        self.base = self.count
        self.program = None

    def time_of_count(self, k: int) -> int:
        """Time at which the count reaches *k* (base < k <= base + program.strokes)."""
        if self.program is None or not 0 < k - self.base <= self.program.strokes:
            raise ValueError(f"stroke count {k} is not reached by the running program (base {self.base})")
        return self.program.stroke_time_ms(k - self.base)

    def next_stroke_ms(self) -> int | None:
        """Time of the next stroke, or None if the timer fires no more."""
        p = self.program
        if p is None:
            return None
        j = self.count - self.base + 1
        return p.stroke_time_ms(j) if j <= p.strokes else None

    def rate_at(self, t_ms: int) -> int:
        """The timer's rate at *t_ms*, pL/day (0 when stopped)."""
        return 0 if self.program is None else self.program.rate_at(t_ms)

    def rates_at(self, times: Sequence[int]) -> list[int]:
        """:meth:`rate_at` for each of *times*, the program left alone."""
        p = self.program
        if p is None:
            return [0] * len(times)
        return [p.rate_at(t) for t in times]
