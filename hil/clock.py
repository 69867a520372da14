"""Time for a firmware side: virtual (as fast as the link allows) or real time (paced by the wall clock).

With ``--clock virtual`` the run uses SimPy's ordinary environment and moves
the bench's clock with ADVANCE: nothing waits, and the result is exact. With
``--clock realtime --speed F`` a :class:`Pacer` runs the same story in a
``simpy.rt.RealtimeEnvironment`` (one simulated ms takes 1/F wall ms) and
measures, at every stop, how late the wall clock was against the schedule
(*lateness*). A run whose lateness exceeds *behind_ms* is falling behind: it
is said once on stderr per episode, counted, and reported in hil.json.

The serial link's reader runs on its own thread while the story waits; the
heavy work (the plant, trace batches) is on the bench's side of the link, in
another process for ``pumpsim hil emulate bench``, so it does not steal the
host's GIL (tooling.md: a CPU-bound thread in the same process adds up to
5 ms to a serial responder).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

import simpy
import simpy.rt

from .stats import Samples

#: Default lateness above which a real-time run counts as falling behind, ms.
BEHIND_MS = 50.0
#: In real time the story stops at least this often (wall seconds), so a telemetry command
#: or a bench alert is taken up promptly even when the controller sleeps for hours.
POLL_S = 0.25


class Pacer:
    """Real-time pacing at *speed* x the wall clock, with lateness bookkeeping."""

    def __init__(self, speed: float = 1.0, *, behind_ms: float = BEHIND_MS, poll_s: float = POLL_S,
                 warn: TextIO | None = sys.stderr, day_of: Callable[[int], str] | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed = {speed}: expected > 0")
        self.speed = speed
        self.behind_ms = behind_ms
        #: Simulated ms between stops at the most (see :data:`POLL_S`).
        self.poll_ms = max(1, round(poll_s * 1000 * speed))
        self.env = simpy.rt.RealtimeEnvironment(initial_time=0, factor=1 / (1000 * speed), strict=False)
        self.lateness = Samples()
        self.late_stops = 0
        self.episodes = 0
        self._behind = False
        self._warn = warn
        self._day_of = day_of or (lambda t_ms: f"t = {t_ms} ms")

    def sync(self) -> None:
        """Take the wall clock's anchor now (call right before the run starts)."""
        self.env.sync()

    def reached(self, t_ms: int) -> float:
        """The story got to simulated *t_ms*; returns how late that is, in ms (and keeps it)."""
        due = self.env.real_start + (t_ms - self.env.env_start) * self.env.factor
        late_ms = (time.monotonic() - due) * 1000
        self.lateness.add(max(late_ms, 0.0) / 1000)
        if late_ms > self.behind_ms:
            self.late_stops += 1
            if not self._behind:
                self._behind = True
                self.episodes += 1
                if self._warn is not None:
                    print(f"pumpsim hil: falling behind real time at {self._day_of(t_ms)}: {late_ms:.1f} ms late "
                          f"(limit {self.behind_ms:g} ms)", file=self._warn, flush=True)
        else:
            self._behind = False
        return late_ms


def virtual_env() -> simpy.Environment:
    """The environment of a virtual-clock run."""
    return simpy.Environment(initial_time=0)
