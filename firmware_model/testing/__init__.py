"""Helpers for testing code that uses :mod:`firmware_model`.

:class:`FakeHal` is an in-memory HAL whose motor fires strokes exactly as
programmed; :func:`run_until` drives a controller with it, so a user's test can
check firmware behaviour without the simulator::

    hal = FakeHal()
    ctl = PumpController(hal, PumpConfig(), rx, conc_ng_per_ml=500_000, reservoir_nl=20_000_000)
    run_until(ctl, hal, 40 * MS_PER_DAY)
    assert AlarmId.LOW_RESERVOIR in ctl.status().active_alarms

:mod:`firmware_model.testing.int64` checks that firmware arithmetic stays
within int64 (:func:`~firmware_model.testing.int64.int64_checked`). Like
:mod:`firmware_model.describe`, this package is host side: it is not part of
the C port (and may use dataclasses).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..controller import PumpController
from ..hal import MotorProgram
from ..tones import TonePattern


@dataclass
class FakeMotor:
    """Motor whose stroke counter follows its program exactly (no stalls unless set)."""

    now_ms: int = 0
    program: MotorProgram | None = None
    base_count: int = 0
    stall: bool = False

    def run(self, program: MotorProgram) -> None:
        self.base_count = self.stroke_count()
        self.program = program

    def stop(self) -> None:
        self.base_count = self.stroke_count()
        self.program = None

    def stroke_count(self) -> int:
        if self.program is None or self.stall:
            return self.base_count
        return self.base_count + self.program.strokes_by(self.now_ms)

    def stalled(self) -> bool:
        return self.stall


@dataclass
class FakeSounder:
    """Records every tone played as (t_ms, pattern)."""

    clock: FakeMotor
    played: list[tuple[int, TonePattern]] = field(default_factory=list)

    def play(self, pattern: TonePattern) -> None:
        self.played.append((self.clock.now_ms, pattern))


@dataclass
class FakeRtc:
    """Clock shared with the motor; remembers the requested wake-up."""

    clock: FakeMotor
    wakeup_ms: int | None = None

    def now_ms(self) -> int:
        return self.clock.now_ms

    def set_wakeup(self, t_ms: int) -> None:
        self.wakeup_ms = t_ms


@dataclass
class FakeBattery:
    """Battery gauge reading a settable voltage."""

    mv: int = 3_000

    def battery_mv(self) -> int:
        return self.mv


@dataclass
class FakeInbox:
    """FIFO of telemetry commands; :meth:`send` queues one."""

    queue: deque[object] = field(default_factory=deque)

    def send(self, cmd: object) -> None:
        self.queue.append(cmd)

    def receive(self) -> object | None:
        return self.queue.popleft() if self.queue else None


class FakeHal:
    """An in-memory HAL: exact motor, recording sounder, settable clock."""

    def __init__(self) -> None:
        self._motor = FakeMotor()
        self._sounder = FakeSounder(self._motor)
        self._rtc = FakeRtc(self._motor)
        self._battery = FakeBattery()
        self._inbox = FakeInbox()

    @property
    def motor(self) -> FakeMotor:
        return self._motor

    @property
    def sounder(self) -> FakeSounder:
        return self._sounder

    @property
    def rtc(self) -> FakeRtc:
        return self._rtc

    @property
    def battery(self) -> FakeBattery:
        return self._battery

    @property
    def inbox(self) -> FakeInbox:
        return self._inbox

    def set_time(self, t_ms: int) -> None:
        """Move the shared clock (the motor's counter follows)."""
        self._motor.now_ms = t_ms


def run_until(ctl: PumpController, hal: FakeHal, until_ms: int, *, booted: bool = False) -> int:
    """Boot (unless *booted*) and wake *ctl* at every requested time up to *until_ms*.

    Returns the next wake-up time after *until_ms*. Commands queued on
    ``hal.inbox`` before the call are handled at the first wake-up.
    """
    if not booted:
        hal.set_time(hal.rtc.now_ms())
        nxt = ctl.boot(hal.rtc.now_ms())
    else:
        nxt = hal.rtc.wakeup_ms if hal.rtc.wakeup_ms is not None else hal.rtc.now_ms()
    while nxt <= until_ms:
        hal.set_time(nxt)
        nxt = ctl.on_wake(nxt)
    hal.set_time(until_ms)
    return nxt


def wake_now(ctl: PumpController, hal: FakeHal, t_ms: int) -> int:
    """Wake *ctl* early at *t_ms* (as a telemetry message would); returns the next wake-up."""
    hal.set_time(t_ms)
    return ctl.on_wake(t_ms)
