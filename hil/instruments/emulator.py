"""An emulated MT-SICS balance behind a pseudo-terminal, weighing what a simulated pump delivers.

:class:`BalanceEmulator` (``pumpsim hil emulate balance [SCENARIO]``) opens a
pty (:class:`hil.ports.Pty`) and answers MT-SICS on it
(:class:`~.sics_server.SicsServer` over a :class:`~.weighing.WeighingCell`)
until closed. Any MT-SICS client opens :attr:`BalanceEmulator.path` like a
serial port.

The load on the pan at balance time t (seconds since :meth:`start`)::

    load(t) = vessel + density * V(speed * t) - evaporation * t      (with a scenario)
    load(t) = vessel                                                  (without: an empty pan)

V is the volume out of the catheter tip (:class:`~.pan.DeliveryCurve`), run
*speed* times faster than the wall clock; drift, noise, settling and range
are the cell's. Faults for tests and rehearsals: what the balance sends can
be shaped like any HIL wire (:class:`hil.shaping.WireShape`: a balance that
falls silent, noise, latency, an unplug), and *garbage_at_s* makes every
reply for *garbage_for_s* seconds a line of junk.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from ..ports import PortError, Pty, SerialLike
from ..shaping import WireShape
from . import mtsics as m
from .pan import DeliveryCurve
from .sics_server import SicsServer
from .weighing import S_PER_H, BalanceParams, WeighingCell

#: How often the serving loop looks at the clock while nothing arrives (S waiting for stability, SIR), seconds.
POLL_S = 0.005


class BalanceEmulator:
    """An MT-SICS balance on a pty (see the module docs). Use as a context manager or start()/close()."""

    def __init__(self, params: BalanceParams | None = None, *, curve: DeliveryCurve | None = None,
                 density_g_per_ml: float = 1.0, speed: float = 1.0, shape: WireShape | None = None,
                 link_path: Path | None = None, seed: int = 0, garbage_at_s: float | None = None,
                 garbage_for_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not speed > 0:
            raise ValueError(f"speed = {speed}: expected > 0")
        if not density_g_per_ml > 0:
            raise ValueError(f"density_g_per_ml = {density_g_per_ml}: expected > 0")
        if shape is not None and shape.disconnect_at_s is not None and link_path is None:
            raise ValueError("a simulated disconnect needs a stable path (link_path=...)")
        self.params = params or BalanceParams()
        self.curve = curve
        self.density_g_per_ml = density_g_per_ml
        self.speed = speed
        self.shape = shape
        self.garbage_at_s = garbage_at_s
        self.garbage_for_s = garbage_for_s
        self._clock = clock
        self._t0 = clock()
        self.cell = WeighingCell(self.params, self.load_g, seed=seed)
        self.server = SicsServer(self.cell, self.now)
        self.pty = Pty(link_path)
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._first_command: float | None = None
        self._inner: SerialLike | None = None
        self._port: SerialLike | None = None
        #: Replies replaced by junk (garbage fault).
        self.garbage_replies = 0

    # ------------------------------------------------------------------ the model

    @property
    def path(self) -> str:
        """What a client opens."""
        return self.pty.path

    def now(self) -> float:
        """Balance time: seconds since :meth:`start` (or since construction, before it)."""
        return self._clock() - self._t0

    def sim_ms(self, t: float) -> float:
        """Simulated scenario time at balance time *t*."""
        return t * self.speed * 1000.0

    def load_g(self, t: float) -> float:
        """The true load on the pan at balance time *t* (drift is the cell's)."""
        load = self.params.vessel_g
        if self.curve is not None:
            load += self.density_g_per_ml * self.curve.volume_ml_at(self.sim_ms(t))
            load -= self.params.evaporation_g_per_h * t / S_PER_H
        return load

    # ------------------------------------------------------------------ running

    def start(self) -> BalanceEmulator:
        """Start the clock and serve."""
        self._t0 = self._clock()
        self._spawn(self._serve, "balance-serve")
        s = self.shape
        if s is not None and s.disconnect_at_s is not None:
            self._spawn(self._unplug_later, "balance-unplug")
        return self

    def __enter__(self) -> BalanceEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        if self._port is not None and self._port is not self._inner:
            self._port.close()
        self.pty.close()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _current_port(self) -> SerialLike | None:
        """The pty's master end (shaped if asked); a new one after a replug; None while unplugged."""
        try:
            inner = self.pty.port()
        except PortError:
            return None
        if inner is not self._inner:
            if self._port is not None and self._port is not self._inner:
                self._port.close()
            self._inner = inner
            if self.shape is not None and self.shape.active:
                from ..shaping import ShapedPort

                self._port = ShapedPort(inner, self.shape)
            else:
                self._port = inner
            self._port.timeout = POLL_S
        return self._port

    def _serve(self) -> None:
        buf = bytearray()
        queue: deque[bytes] = deque()
        server = self.server
        while not self._stop.is_set():
            port = self._current_port()
            if port is None:
                time.sleep(POLL_S)
                continue
            try:
                data = port.read(4096)
            except Exception:  # a port lost under us: wait for the replug
                time.sleep(POLL_S)
                continue
            if data:
                buf += data
                while True:
                    i = _line_end(buf)
                    if i < 0:
                        break
                    queue.append(bytes(buf[:i]))
                    del buf[: i + 1]
                if len(buf) > m.MAX_LINE:  # a line that never ends: a garbled command
                    buf.clear()
                    queue.append(b"\xff")
            out: list[str] = []
            while queue:
                if server.busy and not queue[0].strip().startswith(b"@"):
                    break  # S, Z or T still waits for stability; the next command waits its turn
                line = queue.popleft()
                if self._first_command is None and line.strip():
                    self._first_command = self.now()
                out += server.handle(line)
            out += server.poll()
            if out:
                self._send(port, out)

    def _send(self, port: SerialLike, lines: list[str]) -> None:
        for line in lines:
            data = line.encode("ascii") + m.EOL
            if self._garbage_now():
                self.garbage_replies += 1
                junk = bytes(self._rng.randrange(0x80, 0x100) for _ in range(max(4, len(line))))
                data = b"\xff" + junk + m.EOL
            # One write per reply line: a shaped wire drops or delays whole replies. No client, or unplugged:
            # the reply is lost, as on a real wire.
            with contextlib.suppress(Exception):
                port.write(data)

    def _garbage_now(self) -> bool:
        if self.garbage_at_s is None or self._first_command is None:
            return False
        start = self._first_command + self.garbage_at_s
        return start <= self.now() < start + self.garbage_for_s

    def _unplug_later(self) -> None:
        s = self.shape
        assert s is not None and s.disconnect_at_s is not None
        while self._first_command is None and not self._stop.is_set():
            time.sleep(POLL_S)
        if self._stop.wait(s.disconnect_at_s):
            return
        self.pty.unplug()
        if self._stop.wait(s.disconnect_s):
            return
        self.pty.replug()


def _line_end(buf: bytearray) -> int:
    """Index of the first CR or LF, -1 if none yet. CR LF is a line and an empty one (ignored), so a terminal
    program that ends lines with CR alone is understood too."""
    ends = [i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0]
    return min(ends) if ends else -1
