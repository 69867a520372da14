"""The firmware side's view of a plant across the link: the engine's seams answered by a bench.

:class:`RemotePlant` is a :class:`~pumpsim.engine.ports.PlantPort` whose
methods are the bench's verbs (ADVANCE, DRYAT, DRY, REFILL, STATE, TRACE,
FORGET); :func:`link_hal` is the firmware's HAL with the bench's motor,
sounder, battery and clock (and the host's own telemetry inbox, which clinic
visits fill). Together they let :class:`pumpsim.engine.Simulation` run
unchanged with the plant on the far side of a serial link.

The stroke timer here is the host's mirror of the bench's: the programs the
firmware loaded, advanced with the clock. The engine reads it between stops
(trace grid rows, prescribed dose); the stroke count itself always comes from
the bench (every ADVANCE reply carries it) and a disagreement is counted in
:attr:`RemotePlant.count_mismatches` and resolved in the bench's favour.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from firmware_model import MotorProgram, TonePattern
from pumpsim.engine.hal import EngineInbox
from pumpsim.plant import NOMINAL, Environment, PlantColumns, PlantState, RefillOutcome, Response, StrokeTimer
from pumpsim.plant.principle import NOTHING

from .client import BenchClient
from .link import LinkError


class LinkUnsupported(RuntimeError):
    """The scenario asked for something protocol v1 cannot carry (checked before a session starts)."""


@dataclass(frozen=True, slots=True)
class _DeadVolume:
    volume_nl: float


class RemotePlant:
    """The plant behind *client* (a bench or a plant server), as the engine uses a plant.

    If the link fails, the methods that move the run forward raise
    :class:`~hil.link.LinkError` (the run stops); the ones the outputs need at
    the end degrade instead: :meth:`state` returns the last state read
    (:attr:`stale_state` is set), :meth:`trace_values` returns NaN rows
    (:attr:`nan_rows` counts them), :meth:`release_strokes_before` does
    nothing. So an interrupted run still writes valid files, marked incomplete.
    """

    def __init__(self, client: BenchClient, dead_nl: float) -> None:
        self.client = client
        self.timer: StrokeTimer[MotorProgram] = StrokeTimer()
        self.catheter = _DeadVolume(dead_nl)
        self._epoch = 0
        self.count_mismatches = 0
        self.last_state: PlantState | None = None
        self.stale_state = False
        self.nan_rows = 0

    @property
    def now_ms(self) -> int:
        return self.timer.now_ms

    @property
    def strokes(self) -> int:
        return self.timer.count

    @property
    def epoch_index(self) -> int:
        return self._epoch

    def advance(self, t_ms: int) -> None:
        n = self.client.advance(t_ms)
        self.timer.advance(t_ms)
        self.sync_count(n)

    def sync_count(self, n: int) -> None:
        """The bench's counter reads *n*: the mirror follows it (a stall, a fault, a bench of its own mind)."""
        if n != self.timer.count:
            self.count_mismatches += 1
            self.timer.base += n - self.timer.count
            self.timer.count = n

    def dry_stroke_ms(self, until_ms: int) -> int | None:
        return self.client.dry_at(until_ms)

    def check_dry(self) -> bool:
        return self.client.check_dry()

    def release_strokes_before(self, k: int) -> None:
        with contextlib.suppress(LinkError):  # a memory hint; the run's own failure is reported where it stops
            self.client.forget(k)

    def refill(self, added_nl: float, conc_ng_per_nl: float, aspirate: bool, unaspirated_nl: float) -> RefillOutcome:
        self._epoch, out = self.client.refill(added_nl, conc_ng_per_nl, aspirate, unaspirated_nl)
        return out

    def state(self) -> PlantState:
        try:
            _, s = self.client.state()
        except LinkError:
            if self.last_state is None:
                raise
            self.stale_state = True
            return self.last_state
        self.last_state = s
        return s

    # Protocol v1 serves programmable peristaltic pumps in a nominal environment (see
    # :func:`hil.firmware_side.unsupported`): the environment never changes over a link.

    @property
    def environment(self) -> Environment:
        return NOMINAL

    def set_environment(self, env: Environment) -> Response:
        if env != NOMINAL:
            raise LinkUnsupported("an environment change (protocol v1 has no verb for it)")
        return NOTHING

    def reset_mechanism(self) -> Response:
        raise LinkUnsupported("a mechanism reset (protocol v1 serves peristaltic pumps only)")

    def trace_values(self, k: np.ndarray, epoch: np.ndarray) -> PlantColumns:
        try:
            return self.client.trace(k.tolist(), epoch.tolist())
        except LinkError:
            self.nan_rows += len(k)
            nan = np.full(len(k), np.nan)
            return PlantColumns(reservoir_nl=nan, pumped_nl=nan.copy(), delivered_ng=nan.copy(),
                                tip_conc_ng_per_nl=nan.copy())


class LinkMotor:
    """The motor and its stroke timer on the bench; programs are mirrored into *plant*'s timer."""

    def __init__(self, client: BenchClient, plant: RemotePlant) -> None:
        self._client = client
        self._plant = plant

    def run(self, program: MotorProgram) -> None:
        self._client.load(program)
        self._plant.timer.load(program)

    def stop(self) -> None:
        self._plant.sync_count(self._client.stop())
        self._plant.timer.stop()

    def stroke_count(self) -> int:
        n = self._client.count()
        self._plant.sync_count(n)
        return n

    def stalled(self) -> bool:
        return self._client.stalled()


class LinkSounder:
    """The bench's sounder."""

    def __init__(self, client: BenchClient) -> None:
        self._client = client

    def play(self, pattern: TonePattern) -> None:
        self._client.tone(pattern)


class LinkBattery:
    """The bench's battery gauge."""

    def __init__(self, client: BenchClient) -> None:
        self._client = client

    def battery_mv(self) -> int:
        return self._client.battery_mv()


class LinkRtc:
    """The bench's clock; the wake-up the controller asks for is kept here (the host runs the story)."""

    def __init__(self, client: BenchClient) -> None:
        self._client = client
        self.wakeup_ms = 0

    def now_ms(self) -> int:
        return self._client.time_ms()

    def set_wakeup(self, t_ms: int) -> None:
        self.wakeup_ms = t_ms


@dataclass
class LinkHal:
    """The firmware's HAL with the bench's parts and the host's telemetry inbox."""

    motor: LinkMotor
    sounder: LinkSounder
    rtc: LinkRtc
    battery: LinkBattery
    inbox: EngineInbox


def link_hal(client: BenchClient, plant: RemotePlant) -> LinkHal:
    """The HAL of a firmware side whose hardware is behind *client*."""
    return LinkHal(LinkMotor(client, plant), LinkSounder(client), LinkRtc(client), LinkBattery(client), EngineInbox())
