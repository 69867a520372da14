"""Testing kit for HIL sessions: emulators as subprocesses, linked endpoints without any port.

* :func:`spawn` starts ``pumpsim hil emulate ...`` (or ``serve``/``run``) as a
  subprocess the way a bench team would, reads the pty path from the first
  line of stdout, and on exit sends SIGTERM and checks the exit status;
* :func:`pumpsim_cli` runs a ``pumpsim`` command line to completion;
* :func:`bench_pair` gives a firmware-side link and an in-process bench over a
  ``socket.socketpair()``: no pty, no subprocess, for fast property tests.

The in-process emulators themselves are :class:`hil.emulators.BenchEmulator`
and :class:`hil.emulators.DutEmulator`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .endpoint import Dispatcher
from .link import Link
from .plant_server import PlantServer
from .ports import FdPort, PortError
from .shaping import WireShape
from .verbs import Role

#: How pumpsim is started in a subprocess (the same interpreter and environment).
PUMPSIM = (sys.executable, "-m", "pumpsim")


@dataclass
class Spawned:
    """A ``pumpsim`` subprocess serving a pty at :attr:`path`."""

    path: str
    process: subprocess.Popen[str]

    def stop(self, timeout_s: float = 30.0) -> tuple[int, str]:
        """SIGTERM, then wait; returns (exit status, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, err


@contextmanager
def spawn(*args: str, check: bool = True, timeout_s: float = 30.0,
          preexec_fn: Callable[[], None] | None = None) -> Iterator[Spawned]:
    """Start ``pumpsim ARGS`` (an emulator) and yield it once its first stdout line (the path) is read.

    On leaving, SIGTERM; with *check*, an exit status other than 0 raises
    AssertionError with the emulator's stderr. *preexec_fn* runs in the child
    before pumpsim starts (the pytest plugin ties the child's life to its own).
    """
    proc = subprocess.Popen([*PUMPSIM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=preexec_fn)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"pumpsim {' '.join(args)} printed no path: {err}")
    spawned = Spawned(line, proc)
    try:
        yield spawned
    finally:
        status, err = spawned.stop(timeout_s)
        if check and status != 0:
            raise AssertionError(f"pumpsim {' '.join(args)} exited {status}: {err}")


def pumpsim_cli(args: Sequence[str], *, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``pumpsim ARGS`` to the end; its exit status, stdout and stderr."""
    return subprocess.run([*PUMPSIM, *args], capture_output=True, text=True, timeout=timeout_s, check=False)


@dataclass
class BenchPair:
    """A firmware-side link and the bench it talks to, in-process."""

    link: Link
    bench_link: Link
    server: PlantServer

    def close(self) -> None:
        self.link.close()
        self.bench_link.close()


def _once(fd: int, name: str) -> Callable[[], FdPort]:
    """An opener for one end of a socket pair: it opens once (a closed socket pair does not come back)."""
    opened = False

    def opener() -> FdPort:
        nonlocal opened
        if opened:
            raise PortError(f"{name}: the socket pair is closed")
        opened = True
        return FdPort(fd, name=name)

    return opener


@contextmanager
def bench_pair(*, host_shape: WireShape | None = None, bench_shape: WireShape | None = None,
               timeout_s: float = 0.05, retries: int = 6) -> Iterator[BenchPair]:
    """A host link and an in-process bench over a socket pair; *host_shape*/*bench_shape* shape each side."""
    a, b = socket.socketpair()
    fa, fb = a.detach(), b.detach()
    server = PlantServer(keep_acted=True)
    host = Link(_once(fa, "host"), name="host", timeout_s=timeout_s, retries=retries, reconnect_s=0,
                shape=host_shape)
    bench = Link(_once(fb, "bench"), name="bench", reconnect_s=0, shape=bench_shape)
    bench.responder = Dispatcher(Role.BENCH, server)
    server.notify = bench.call_async
    pair = BenchPair(host.start(), bench.start(), server)
    try:
        yield pair
    finally:
        pair.close()
