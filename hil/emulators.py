"""Emulators: a bench and a device under test behind pseudo-terminals, so a session needs no hardware.

* :class:`BenchEmulator` (``pumpsim hil emulate bench``): the bench controller
  (motor, sounder, battery and a plant model) as a :class:`~hil.plant_server.PlantServer`;
  it is configured by each session's CONFIG and serves sessions one after
  another until closed.
* :class:`DutEmulator` (``pumpsim hil emulate dut SCENARIO``): the firmware
  model as a device under test, the peer of ``pumpsim hil serve``: it runs the
  scenario's firmware side (:class:`~hil.firmware_side.FirmwareSession`) once
  a plant answers, writes its outputs, then keeps answering STATUS and PING.

Both offer :attr:`path` (a pty slave, or a stable symlink to it) for a client
to open with pyserial, shape what they send (:class:`~hil.shaping.WireShape`)
and can simulate an unplug (the pty is closed, and reopened at the same path
after a while). Use them in-process (tests, the pytest plugin) as context
managers, or as the ``pumpsim hil emulate`` commands, which print the path as
the first line of stdout and serve until SIGINT or SIGTERM.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pumpsim.scenario import Scenario

from .endpoint import Dispatcher
from .firmware_side import FirmwareSession, RunOutcome
from .link import Link, LinkError
from .plant_server import PlantServer
from .ports import PortError, Pty
from .shaping import WireShape
from .verbs import Role

#: A bench stops its motor when the firmware side has said nothing for this long (seconds).
WATCHDOG_S = 5.0


class _PtyEndpoint:
    """What both emulators share: a pty, a link on its master end, the simulated unplug."""

    def __init__(self, name: str, shape: WireShape | None, link_path: Path | None) -> None:
        if shape is not None and shape.disconnect_at_s is not None and link_path is None:
            raise ValueError("a simulated disconnect needs a stable path (link_path=...)")
        self.shape = shape
        self.pty = Pty(link_path)
        self.link = Link(self.pty.port, name=f"{name} {self.pty.path}", reconnect_s=None, shape=shape)
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def path(self) -> str:
        """What a client opens."""
        return self.pty.path

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _start_link(self) -> None:
        self.link.start()
        s = self.shape
        if s is not None and s.disconnect_at_s is not None:
            self._spawn(self._unplug_later, "hil-unplug")

    def _unplug_later(self) -> None:
        """Unplug *disconnect_at_s* after the first frame arrives, for *disconnect_s*."""
        s = self.shape
        assert s is not None and s.disconnect_at_s is not None
        while self.link.stats.frames_rx == 0 and not self.stop.is_set():
            time.sleep(0.005)
        if self.stop.wait(s.disconnect_at_s):
            return
        self.pty.unplug()
        if self.stop.wait(s.disconnect_s):
            return
        self.pty.replug()

    def close(self) -> None:
        self.stop.set()
        self.link.close()
        self.pty.close()
        for t in self._threads:
            t.join(timeout=5)


class BenchEmulator(_PtyEndpoint):
    """An emulated bench behind a pty (see the module docs). *keep_acted* records every request acted on.

    Fail safe: when the firmware side sends nothing for *watchdog_s* while the
    motor runs, the bench stops the motor itself (a real bench must too: a
    host that died mid-program must not leave the pump running).
    """

    def __init__(self, *, shape: WireShape | None = None, link_path: Path | None = None,
                 keep_acted: bool = False, watchdog_s: float = WATCHDOG_S) -> None:
        super().__init__("bench", shape, link_path)
        self.server = PlantServer(notify=self.link.call_async, keep_acted=keep_acted)
        self.link.responder = Dispatcher(Role.BENCH, self.server)
        self.watchdog_s = watchdog_s

    def start(self) -> BenchEmulator:
        self._start_link()
        self._spawn(self._watchdog, "hil-watchdog")
        return self

    def _watchdog(self) -> None:
        last_rx, last_t, fired = self.link.stats.requests_rx, time.monotonic(), False
        while not self.stop.wait(min(0.1, self.watchdog_s / 4)):
            if self.link.stats.requests_rx != last_rx:
                last_rx, last_t, fired = self.link.stats.requests_rx, time.monotonic(), False
            elif not fired and time.monotonic() - last_t > self.watchdog_s:
                fired = True
                self.server.watchdog()

    def __enter__(self) -> BenchEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class DutEmulator(_PtyEndpoint):
    """The firmware model as a device under test behind a pty (see the module docs).

    The session options are :class:`~hil.firmware_side.FirmwareSession`'s.
    :attr:`outcome` is set when the run has ended; :attr:`done` is set then
    (or when the emulator gave up or was closed); :attr:`error` says why it
    gave up, if it did.
    """

    def __init__(self, scenario: Scenario, *, out_dir: Path | None = None, seed: int | None = None,
                 duration_ms: int | None = None, clock: str = "virtual", speed: float = 1.0,
                 shape: WireShape | None = None, link_path: Path | None = None, argv: list[str] | None = None) -> None:
        super().__init__("dut", shape, link_path)
        self.session = FirmwareSession(scenario, self.link, role=Role.DUT, seed=seed, duration_ms=duration_ms,
                                       clock=clock, speed=speed, out_dir=out_dir, argv=argv,
                                       port_name=self.pty.path)
        self.link.responder = Dispatcher(Role.DUT, self.session.endpoint)
        self.outcome: RunOutcome | None = None
        self.error: str | None = None
        self.done = threading.Event()

    def start(self) -> DutEmulator:
        self._start_link()
        self._spawn(self._serve, "hil-dut")
        return self

    def __enter__(self) -> DutEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        try:
            while not self.stop.is_set():
                if not self.link.connected or not self._peer_present():
                    time.sleep(0.02)  # nobody has the pty open: do not fill its buffer with HELLOs
                    continue
                with contextlib.suppress(LinkError):
                    self.session.connect(wait_s=0.0)
                    break
            if self.stop.is_set():
                return
            self.outcome = self.session.run()
        except Exception as e:  # reported by the command; the emulator keeps answering STATUS
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.done.set()

    def _peer_present(self) -> bool:
        try:
            return self.pty.port().peer_present
        except PortError:
            return False

    def close(self) -> None:
        """Stop: a run in progress fails with LinkDown, stops safely and writes its outputs, marked incomplete."""
        super().close()
        self.done.wait(timeout=30)
