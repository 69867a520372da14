"""The firmware's HAL (``firmware_model.hal``) implemented against the simulated plant.

Each part is a thin adapter: the motor loads programs into the plant's stroke
timer and reads its counter, the RTC reads the engine's clock and remembers the
wake-up the controller asked for, the battery gauge reads the plant's battery,
the inbox queues the commands clinic visits send. Nothing here decides
anything; the engine (``simulation.py``) moves the clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from firmware_model import MotorProgram, TonePattern

from ..plant import PumpPlant


class Clock:
    """The engine's clock: integer ms since t = 0, moved only by the engine."""

    __slots__ = ("now_ms",)

    def __init__(self) -> None:
        self.now_ms = 0


class EngineMotor:
    """The motor and its stroke timer: programs go to the plant's timer, counts come from it."""

    def __init__(self, clock: Clock, plant: PumpPlant[MotorProgram]) -> None:
        self._clock = clock
        self._timer = plant.timer

    def run(self, program: MotorProgram) -> None:
        self._timer.load(program, self._clock.now_ms)

    def stop(self) -> None:
        self._timer.stop(self._clock.now_ms)

    def stroke_count(self) -> int:
        return self._timer.count_at(self._clock.now_ms)

    def stalled(self) -> bool:
        return False  # stalls are not modelled yet (docs/architecture.md, "Not modelled yet")


class EngineSounder:
    """A silent sounder: the engine reports tones from the firmware's log, which has their times."""

    def play(self, pattern: TonePattern) -> None:
        pass


class EngineRtc:
    """The real-time clock on the engine's clock; :attr:`wakeup_ms` is the controller's last request."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.wakeup_ms = 0

    def now_ms(self) -> int:
        return self._clock.now_ms

    def set_wakeup(self, t_ms: int) -> None:
        self.wakeup_ms = t_ms


class EngineBattery:
    """The fuel gauge, reading the plant's battery model at the engine's clock."""

    def __init__(self, clock: Clock, plant: PumpPlant[MotorProgram]) -> None:
        self._clock = clock
        self._battery = plant.battery

    def battery_mv(self) -> int:
        return self._battery.mv_at(self._clock.now_ms)


class EngineInbox:
    """Telemetry commands sent by clinic visits, received by the controller in order."""

    def __init__(self) -> None:
        self.queue: deque[object] = deque()

    def send(self, cmd: object) -> None:
        self.queue.append(cmd)

    def receive(self) -> object | None:
        return self.queue.popleft() if self.queue else None


@dataclass
class EngineHal:
    """The firmware's HAL implemented against the plant."""

    motor: EngineMotor
    sounder: EngineSounder
    rtc: EngineRtc
    battery: EngineBattery
    inbox: EngineInbox

    @classmethod
    def on(cls, plant: PumpPlant[MotorProgram], clock: Clock) -> EngineHal:
        """The HAL of *plant*, on *clock*."""
        return cls(EngineMotor(clock, plant), EngineSounder(), EngineRtc(clock), EngineBattery(clock, plant),
                   EngineInbox())
