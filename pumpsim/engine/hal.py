"""The firmware's HAL (``firmware_model.hal``) implemented against the simulated plant.

Each part is a thin adapter: the motor loads programs into the plant's stroke
timer and reads its counter, the RTC reads the plant's clock and remembers the
wake-up the controller asked for, the battery gauge reads the plant's battery,
the inbox queues the commands clinic visits send. Nothing here decides
anything; the engine (``simulation.py``) moves the plant's time forward.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from firmware_model import MotorProgram, TonePattern

from ..plant import PumpPlant


class EngineMotor:
    """The motor and its stroke timer: programs go to the plant's timer, counts come from it."""

    def __init__(self, plant: PumpPlant[MotorProgram]) -> None:
        self._timer = plant.timer

    def run(self, program: MotorProgram) -> None:
        self._timer.load(program)

    def stop(self) -> None:
        self._timer.stop()

    def stroke_count(self) -> int:
        return self._timer.count

    def stalled(self) -> bool:
        return False  # stalls are not modelled yet (docs/architecture.md, "Not modelled yet")


class EngineSounder:
    """A silent sounder: the engine reports tones from the firmware's log, which has their times."""

    def play(self, pattern: TonePattern) -> None:
        pass


class EngineRtc:
    """The real-time clock, on the plant's time; :attr:`wakeup_ms` is the controller's last request."""

    def __init__(self, plant: PumpPlant[MotorProgram]) -> None:
        self._timer = plant.timer
        self.wakeup_ms = 0

    def now_ms(self) -> int:
        return self._timer.now_ms

    def set_wakeup(self, t_ms: int) -> None:
        self.wakeup_ms = t_ms


class EngineBattery:
    """The fuel gauge, reading the plant's battery model at the plant's time."""

    def __init__(self, plant: PumpPlant[MotorProgram]) -> None:
        self._plant = plant

    def battery_mv(self) -> int:
        return self._plant.battery.mv_at(self._plant.now_ms)


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
    def on(cls, plant: PumpPlant[MotorProgram]) -> EngineHal:
        """The HAL of *plant*."""
        return cls(EngineMotor(plant), EngineSounder(), EngineRtc(plant), EngineBattery(plant), EngineInbox())
