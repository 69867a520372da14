"""OpenHTF plugs for a bench run: hardware behind a pyserial URL, configured per run.

* :class:`PortPlug` is the base of every plug that talks to an instrument on a
  port (the bench, a lab balance, ...): it names its *instrument* (the bench is
  ``bench``, given by ``--port``; others by ``--instrument NAME=URL``), may
  offer an :meth:`PortPlug.emulator` for runs without hardware, and is made
  concrete for one run with :meth:`PortPlug.at` (an OpenHTF plug subclass
  carrying the URL, substituted into the phases with ``with_plugs``).
* :class:`BenchPlug` is the bench: a :class:`~hil.link.Link` and a
  :class:`~hil.client.BenchClient`, the plant session the phases share, the
  wait for a simulated time (virtual: ``ADVANCE`` at once; real time: paced by
  the wall clock), and the fail-safe stop (motor stopped, sounder silent) that
  the ``teardown`` phase runs and the plug's ``tearDown`` runs again if that
  phase never did.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from openhtf.plugs import BasePlug

from pumpsim.units import MS_PER_S

from ..client import BenchClient, Hello
from ..emulators import BenchEmulator
from ..link import Link, LinkError
from ..verbs import Group, Role
from .plan import Plan, Station

#: What the bench phases need of the bench (the plant model for the volume and delivery checks).
BENCH_NEEDS = (Group.CLOCK, Group.MOTOR, Group.SOUNDER, Group.BATTERY, Group.PLANT, Group.FAULT)
#: How often a real-time wait moves the bench's clock (the protocol's "at least every 0.25 s").
REALTIME_STEP_S = 0.25


class PortPlug(BasePlug):  # type: ignore[misc]  # OpenHTF's BasePlug is untyped
    """A plug for an instrument on a pyserial URL (see the module docs). Subclass it for an instrument.

    A subclass sets :attr:`instrument` (the name in ``--instrument NAME=URL``)
    and may override :meth:`emulator`. Its ``__init__`` opens the port (OpenHTF
    makes plugs when the run starts); ``tearDown`` must close it.
    """

    #: OpenHTF: phases may name this class and get the run's configured subclass (``with_plugs``).
    auto_placeholder = True
    instrument: ClassVar[str] = ""
    url: ClassVar[str | None] = None
    plan: ClassVar[Plan | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # OpenHTF looks for auto_placeholder in the class's own __dict__: every subclass may be substituted.
        super().__init_subclass__(**kwargs)
        cls.auto_placeholder = True

    @classmethod
    def at(cls, url: str, plan: Plan) -> type[PortPlug]:
        """This plug class bound to *url* and the run's *plan*: the class a run substitutes for *cls*."""
        bound: type[PortPlug] = type(cls.__name__, (cls,), {"url": url, "plan": plan, "__module__": cls.__module__})
        return bound

    @classmethod
    def emulator(cls) -> AbstractContextManager[str] | None:
        """A context manager that starts an emulated instrument and gives its URL (None: no emulator)."""
        return None

    def settings(self) -> tuple[str, Plan]:
        """The URL and plan this plug was bound to. Raises RuntimeError for an unbound plug."""
        if self.url is None or self.plan is None:
            raise RuntimeError(f"{type(self).__name__}: not bound to a port (use {type(self).__name__}.at(url, plan))")
        return self.url, self.plan


@contextlib.contextmanager
def _bench_emulator() -> Iterator[str]:
    with BenchEmulator() as bench:
        yield bench.path


class BenchPlug(PortPlug):
    """The bench on ``--port``: its link, typed verbs and the plant session the phases share."""

    instrument = "bench"

    def __init__(self) -> None:
        url, plan = self.settings()
        station = plan.station
        #: The run's station (scenario, clock, port settings).
        self.cfg: Station = station
        self.link = Link.to_url(url, baudrate=station.baudrate, timeout_s=station.timeout_s,
                                retries=station.retries, reconnect_s=station.reconnect_s)
        self.client = BenchClient(self.link)
        self.hello: Hello | None = None
        #: True while a plant session this plug started (HELLO, CONFIG, START) is running.
        self.started = False
        #: True once the fail-safe stop has been sent since the last motion.
        self.safe = True
        #: What phases hand to later phases (the ``deliver`` outcome for ``alarm_check``).
        self.results: dict[str, Any] = {}
        self.link.start()  # PortError: the run stops with ERROR before any phase, naming the port

    @classmethod
    def emulator(cls) -> AbstractContextManager[str]:
        return _bench_emulator()

    # ------------------------------------------------------------ sessions

    def connect(self) -> Hello:
        """HELLO as the host; raises ProtocolMismatch if the peer lacks :data:`BENCH_NEEDS`."""
        self.hello = self.client.hello(Role.HOST, needs=BENCH_NEEDS)
        self.started = False
        return self.hello

    def start_plant(self) -> None:
        """A fresh plant session for the scenario (HELLO, CONFIG, START), unless one is running."""
        if self.started:
            return
        self.connect()
        st = self.cfg
        self.client.config(st.params, st.run_seed)
        self.client.start()
        self.started = True

    def status_int(self, key: str) -> int | None:
        """An integer from STATUS (None if the bench does not report it)."""
        value = self.client.status().get(key)
        return int(value) if value is not None and value.lstrip("-").isdigit() else None

    # ------------------------------------------------------------ motion and time

    def run_strokes(self, strokes: int, period_ms: int) -> int:
        """RUN *strokes* one every *period_ms* from now, then wait until they are due; the counter then."""
        self.safe = False
        start_ms = self.client.time_ms()
        self.client.run(strokes, period_ms)
        return self.wait_until(start_ms + strokes * period_ms)

    def wait_until(self, t_ms: int) -> int:
        """Move the bench's clock to *t_ms* (virtual: at once; real time: with the wall clock); the counter then."""
        st = self.cfg
        if st.clock == "virtual":
            return self.client.advance(t_ms)
        start_ms, wall0 = self.client.time_ms(), time.monotonic()
        while True:
            now_ms = min(t_ms, start_ms + int((time.monotonic() - wall0) * st.speed * MS_PER_S))
            n = self.client.advance(now_ms)
            if now_ms >= t_ms:
                return n
            time.sleep(min(REALTIME_STEP_S, (t_ms - now_ms) / (st.speed * MS_PER_S)))

    def fail_safe(self) -> tuple[bool, bool]:
        """Leave the bench safe; whether its motor is stopped and its sounder silent, as far as it says.

        A plant session that runs gets STOP and SILENCE (one quick try each:
        the bench may be gone), then END. A bench whose session has ended, or
        not started, has no motor program by the protocol (END stops the motor,
        START starts with it stopped), so it is safe as it is. REQ-HIL-004.
        """
        try:
            state = self.client.status().get("STATE")
        except LinkError:
            state = None
        if state in ("idle", "ready", "ended"):
            self.safe, self.started = True, False
            return True, True
        acked = []
        for verb in ("STOP", "SILENCE"):
            try:
                self.link.call(verb, retries=1)
                acked.append(True)
            except LinkError:
                acked.append(False)
        self.safe = all(acked)
        self.started = state == "running"
        self.end(False)
        return acked[0], acked[1]

    def end(self, complete: bool) -> None:
        """END the plant session if one is running (one quick try)."""
        if self.started:
            with contextlib.suppress(LinkError):
                self.client.end(self.client.time_ms(), complete, retries=1)
            self.started = False

    def tearDown(self) -> None:
        """Close the link; first stop the motor and silence the sounder if the teardown phase did not."""
        try:
            if not self.safe:
                self.fail_safe()
        finally:
            self.link.close()
