"""Serving a scenario's plant to a device under test, and recording its truth (``pumpsim hil serve``).

:class:`PlantSession` puts a :class:`~hil.plant_server.PlantServer` with the
scenario's own parameters on a link, waits for one device under test to run
its session (HELLO, CONFIG checked against the scenario, START, ..., END) and
records it with a :class:`~hil.recorder.PlantRecorder`. Use it in-process
(tests, the pytest plugin) or through the command.

The session ends when the DUT sends END, when a started DUT says nothing for
*idle_s*, when the port is gone for good, when a DUT speaks another protocol
version, or when the caller's *stop* event is set; whatever was recorded is
written then, marked incomplete unless END said the run was complete.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from firmware_model import MotorProgram
from pumpsim.engine.ports import PlantParams
from pumpsim.plant import PumpPlant
from pumpsim.results import DirectorySink, MemorySink, Sink, run_info
from pumpsim.results.records import Event, Summary
from pumpsim.scenario import Scenario

from . import report
from .clock import BEHIND_MS
from .endpoint import Dispatcher, Refusal
from .link import Link
from .plant_server import PlantServer
from .protocol import ErrorCode
from .recorder import PlantRecorder
from .verbs import Role

#: A started device that says nothing for this long has stopped (seconds).
IDLE_S = 10.0


class _OneSession(PlantServer):
    """A served plant records one session: a second HELLO (a restarted device) is refused."""

    def new_session(self, peer_role: str, session: str | None) -> None:
        if self.counts.sessions:
            raise Refusal(ErrorCode.STATE, "pumpsim hil serve records one session; restart serve for another")
        super().new_session(peer_role, session)


@dataclass
class ServeOutcome:
    """How a served session ended."""

    complete: bool
    failure: str | None
    interrupted: bool
    #: The recorded summary, or None if no session started.
    summary: Summary | None
    events: list[Event]
    hil: report.HilRecord
    #: The protocol version of a DUT refused for speaking another one.
    wrong_version: int | None


class PlantSession:
    """Serve *scenario*'s plant over *link* to one DUT and record it (see the module docs)."""

    def __init__(self, scenario: Scenario, link: Link, *, seed: int | None = None, duration_ms: int | None = None,
                 out_dir: Path | None = None, argv: list[str] | None = None, idle_s: float = IDLE_S,
                 port_name: str = "") -> None:
        self.scenario = scenario
        self.link = link
        self.seed = scenario.seed if seed is None else seed
        self.seed_override = seed
        self.duration_ms = scenario.duration_ms if duration_ms is None else duration_ms
        self.out_dir = out_dir
        self.argv = argv or []
        self.idle_s = idle_s
        self.port_name = port_name or link.name
        self.recorder: PlantRecorder | None = None
        self.sink: Sink | None = None
        self.server = _OneSession(fixed=(PlantParams.of(scenario), self.seed), recorder=self._record,
                                  notify=link.call_async)
        self.dispatcher = Dispatcher(Role.PLANT, self.server)
        link.responder = self.dispatcher
        self._started = datetime.now(UTC)
        self._t0 = time.perf_counter()

    def _record(self, plant: PumpPlant[MotorProgram]) -> PlantRecorder:
        # The files are opened when a session starts: a serve nobody talked to writes only hil.json.
        sc = self.scenario
        if self.out_dir is not None:
            self.sink = DirectorySink(self.out_dir)
            (self.out_dir / "scenario.toml").write_text(sc.source or "", encoding="utf-8")
        else:
            self.sink = MemorySink()
        self.recorder = PlantRecorder(sc, self.seed, self.duration_ms, plant, self.sink)
        return self.recorder

    def wait(self, stop: threading.Event | None = None) -> str | None:
        """Until the session ends (None) or stops early (the reason); see the module docs."""
        link, server, d = self.link, self.server, self.dispatcher
        last_rx, last_t = link.stats.requests_rx, time.monotonic()
        while server.state != "ended":
            if stop is not None and stop.wait(0.05):
                return "stopped"
            if stop is None:
                time.sleep(0.05)
            if d.wrong_version is not None:
                return f"the device under test speaks protocol version {d.wrong_version}"
            if link.down is not None:
                return f"the port is gone: {link.down}"
            if link.stats.requests_rx != last_rx:
                last_rx, last_t = link.stats.requests_rx, time.monotonic()
            elif server.state == "running" and time.monotonic() - last_t > self.idle_s:
                return f"the device under test stopped talking ({self.idle_s:g} s without a request)"
        return None

    def finish(self, failure: str | None, interrupted: bool = False) -> ServeOutcome:
        """Write what was recorded (marked incomplete unless END said complete), run.json and hil.json."""
        rec = self.recorder
        summary = None if rec is None else rec.summary if rec.closed else rec.abort()
        complete = summary is not None and summary["complete"] and failure is None and not interrupted
        wall = time.perf_counter() - self._t0
        hil: report.HilRecord = {
            "role": Role.PLANT, "peer_role": self.dispatcher.peer_role, "peer_caps": [], "port": self.port_name,
            "clock": "virtual", "speed": 1.0, "complete": complete, "failure": failure, "interrupted": interrupted,
            "simulated_s": summary["simulated_s"] if summary is not None else 0.0, "wall_s": round(wall, 6),
            "link": self.link.stats.record(),
            "lateness": {"samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "behind_ms": BEHIND_MS,
                         "late_stops": 0, "behind_episodes": 0},
            "count_mismatches": 0, "alerts": [], "telemetry_commands": 0, "nan_trace_rows": 0,
            "stale_plant_state": False, "wire": self.link.shape.describe() if self.link.shape else "none",
        }
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            if isinstance(self.sink, DirectorySink):
                self.sink.write_run_info(run_info(started=self._started, wall_s=wall, argv=self.argv, exact=False,
                                                  seed_override=self.seed_override))
            report.write(self.out_dir, hil)
        events = self.sink.events if isinstance(self.sink, MemorySink | DirectorySink) else []
        return ServeOutcome(complete, failure, interrupted, summary, events, hil, self.dispatcher.wrong_version)
