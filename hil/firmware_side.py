"""The firmware side of a link: the firmware model runs a scenario against a plant across the link.

This is ``pumpsim hil run`` (role ``host``: the model drives a bench) and
``pumpsim hil emulate dut`` (role ``dut``: the model plays a device under
test for ``pumpsim hil serve``). Both are the engine's own story of a run,
:class:`pumpsim.engine.Simulation`, with the plant and the HAL replaced by
their link-backed versions (:mod:`hil.remote`) and, in real time, SimPy's
real-time environment (:mod:`hil.clock`). :class:`HilSimulation` adds to the
story only what a link needs:

* telemetry pass-through: clinician commands received from the peer (TELEM)
  join the inbox at the next stop and wake the controller;
* relays for a recording plant (``serve``, capability REC): the firmware's
  log records, what it believes after each wake-up, and each visit;
* real time: a stop at least every :data:`hil.clock.POLL_S` of wall time,
  and the lateness of every stop.

:class:`FirmwareSession` does a whole session: HELLO, CONFIG, START, the run,
END, and the fail-safe stop (motor stopped, sounder silent, outputs written
and marked incomplete) when the link fails or the user interrupts.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TextIO

from firmware_model import (
    MODE_NAMES,
    PrescriptionMode,
    PrimingBolus,
    PumpController,
    Refill,
    Reprogram,
    SetLowReservoirThreshold,
)
from firmware_model.prescription import Prescription
from pumpsim.engine import Simulation
from pumpsim.engine.events import entered_nl
from pumpsim.engine.ports import PlantParams
from pumpsim.engine.trace import alarm_bits
from pumpsim.results import DirectorySink, MemorySink, Sink, run_info
from pumpsim.results.records import Event, Summary
from pumpsim.scenario import Scenario
from pumpsim.scenario.model import Visit
from pumpsim.units import MS_PER_DAY, MS_PER_S

from . import report
from .client import BenchClient, Hello
from .clock import BEHIND_MS, Pacer, virtual_env
from .endpoint import Dispatcher, Refusal, arg_error, state_error
from .link import Link, LinkError, LinkTimeout
from .protocol import ErrorCode, Value
from .remote import RemotePlant, link_hal
from .verbs import Args, Group, Role

#: What a firmware side needs of its peer.
NEEDS = (Group.CLOCK, Group.MOTOR, Group.SOUNDER, Group.BATTERY, Group.PLANT)
#: Telemetry commands waiting for a wake-up at most (then TELEM is answered BUSY).
INBOX_LIMIT = 16
_MODES = {name: mode for mode, name in MODE_NAMES.items()}


class FirmwareEndpoint:
    """The firmware side's verbs: TELEM (into the inbox at the next stop), ALERT (counted), STATUS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[object] = deque()
        self.state = "idle"
        self.now_ms = 0
        self.alerts: list[str] = []
        self.telemetry = 0

    def new_session(self, peer_role: str, session: str | None) -> None:
        with self._lock:
            self._queue.clear()

    def status(self) -> Mapping[str, Value]:
        with self._lock:
            return {"STATE": self.state, "T_MS": self.now_ms, "QUEUED": len(self._queue)}

    def handle(self, verb: str, args: Args) -> Mapping[str, Value]:
        if verb == "ALERT":
            self.alerts.append(f"{args.word('KIND')}@{args.integer('T_MS')}")
            return {}
        if self.state != "running":
            raise state_error(f"{verb}: the firmware is not running")
        cmd = telemetry_command(args)
        with self._lock:
            if len(self._queue) >= INBOX_LIMIT:
                raise Refusal(ErrorCode.BUSY, f"{INBOX_LIMIT} commands already wait for the next wake-up")
            self._queue.append(cmd)
            self.telemetry += 1
            return {"QUEUED": len(self._queue)}

    def take_commands(self) -> list[object]:
        """The commands received since the last call, in order."""
        with self._lock:
            out = list(self._queue)
            self._queue.clear()
            return out


def telemetry_command(a: Args) -> object:
    """The firmware command a TELEM request carries. Raises :class:`~hil.endpoint.Refusal` (BADARG)."""
    cmd = a.word("CMD")

    def need(key: str) -> int:
        v = a.maybe_integer(key)
        if v is None:
            raise arg_error(f"CMD={cmd} needs {key}")
        return v

    if cmd == "refill":
        return Refill(need("RESERVOIR_NL"), need("CONC_NG_PER_ML"), bridge=a.flag("BRIDGE"), confirm=a.flag("CONFIRM"))
    if cmd == "threshold":
        return SetLowReservoirThreshold(need("THRESHOLD_NL"))
    if cmd == "priming":
        return PrimingBolus()
    if cmd == "reprogram":
        name = a.maybe_word("MODE")
        mode = _MODES.get(name or "")
        if mode is None or mode == PrescriptionMode.FLEX:
            ok = ", ".join(n for m, n in MODE_NAMES.items() if m != PrescriptionMode.FLEX)
            raise arg_error(f"MODE={name}: expected one of {ok} (flex needs more than one frame)")
        try:
            rx = Prescription(mode, a.maybe_integer("DOSE_NG_PER_DAY") or 0, (), a.maybe_integer("BOLUS_NG") or 0,
                              a.maybe_integer("BOLUS_DURATION_MS") or 0, a.maybe_integer("BOLUS_INTERVAL_MS") or 0,
                              a.maybe_integer("BOLUS_START_MS") or 0)
        except ValueError as e:
            raise arg_error(str(e)) from None
        return Reprogram(rx, confirm=a.flag("CONFIRM"))
    raise arg_error(f"CMD={cmd}: expected refill, reprogram, threshold or priming")


def unsupported(scenario: Scenario) -> str | None:
    """What in *scenario* protocol v1 cannot carry, or None if a HIL session can run it.

    Version 1 serves the programmable peristaltic pump (SynchroMed-like benches): a pump
    without firmware has nothing to run on the host, and a valve-gated mechanism, an
    environment change or a patient-bolus press have no verbs yet.
    """
    pump = scenario.pump
    if not pump.has_firmware:
        return f"a {pump.mechanism.replace('_', '-')} pump (it has no firmware to run over a link)"
    if pump.mechanism != "peristaltic":
        return f"a {pump.mechanism.replace('_', '-')} pump (protocol v1 serves peristaltic pumps)"
    if scenario.environment:
        return "environment changes (protocol v1 has no verb for them)"
    if scenario.ptm is not None and scenario.ptm.presses_ms:
        return "patient-bolus presses (protocol v1 has no verb for them)"
    return None


class HilSimulation(Simulation):
    """The engine's story over a link (see the module docs); build it with :class:`FirmwareSession`."""

    def __init__(self, scenario: Scenario, *, client: BenchClient, plant: RemotePlant, endpoint: FirmwareEndpoint,
                 pacer: Pacer | None, sink: Sink, seed: int | None, duration_ms: int | None, trace: bool) -> None:
        self.client = client
        self.endpoint = endpoint
        self.pacer = pacer
        self.relay = client.records
        super().__init__(scenario, seed=seed, sink=sink, duration_ms=duration_ms, trace=trace, plant=plant,
                         hal=link_hal(client, plant), env=pacer.env if pacer is not None else virtual_env())

    @property
    def fw(self) -> PumpController:
        """The controller (a HIL session always has one: :func:`unsupported` refuses pumps without)."""
        assert self.firmware is not None, "HIL sessions run programmable pumps only"
        return self.firmware

    def _after_wake(self, now: int) -> None:
        first = self._log_seq
        super()._after_wake(now)
        self.endpoint.now_ms = now
        if self.relay:
            fw = self.fw
            records, lost = fw.log.since(first)
            self.client.log(records, lost)
            est_base, count_base = fw.estimate_basis()
            self.client.wake(est_base, count_base, fw.conc_ng_per_ml, alarm_bits(fw.active_alarms))

    def _visit(self, v: Visit, now: int) -> None:
        index = self._next_visit
        estimate = self.fw.reservoir_estimate_nl(self.plant.strokes)
        super()._visit(v, now)
        if self.relay:
            if v.refill_nl is None:
                self.client.visit(index)
            else:
                self.client.visit(index, entered_nl(v, estimate, self.scenario.pump.reservoir_nl),
                                  self._conc_ng_per_ml)

    def _visits(self, now: int) -> bool:
        due = super()._visits(now)
        commands = self.endpoint.take_commands()
        for cmd in commands:
            self.hal.inbox.send(cmd)
        return due or bool(commands)

    def _next_stop(self, t_wake: int) -> tuple[int, bool]:
        if self.pacer is not None:
            t_wake = min(t_wake, self.plant.now_ms + self.pacer.poll_ms)
        return super()._next_stop(t_wake)

    def _record_wait(self, now: int, target: int) -> None:
        super()._record_wait(now, target)
        if self.pacer is not None:
            self.pacer.reached(target)


@dataclass
class RunOutcome:
    """How a session ended, and what it wrote."""

    complete: bool
    failure: str | None
    interrupted: bool
    summary: Summary
    events: list[Event]
    hil: report.HilRecord
    out_dir: Path | None = None
    exit_status: int = field(init=False)

    def __post_init__(self) -> None:
        self.exit_status = 0 if self.complete else 130 if self.interrupted else 1


class FirmwareSession:
    """One session of the firmware side over *link* (see the module docs).

    *out_dir* None keeps the outputs in memory. *clock* is ``virtual`` or
    ``realtime`` (paced at *speed*). Raises ValueError for a bad clock or speed.
    """

    def __init__(self, scenario: Scenario, link: Link, *, role: str = Role.HOST, seed: int | None = None,
                 duration_ms: int | None = None, clock: str = "virtual", speed: float = 1.0,
                 behind_ms: float = BEHIND_MS, out_dir: Path | None = None, argv: list[str] | None = None,
                 trace: bool = True, port_name: str = "", warn: TextIO | None = sys.stderr) -> None:
        if clock not in ("virtual", "realtime"):
            raise ValueError(f"clock = {clock!r}: expected virtual or realtime")
        self.scenario = scenario
        self.link = link
        self.role = role
        self.seed = scenario.seed if seed is None else seed
        self.duration_ms = duration_ms
        self.clock = clock
        self.pacer = (Pacer(speed, behind_ms=behind_ms, warn=warn,
                            day_of=lambda t: f"day {t / MS_PER_DAY:.3f}") if clock == "realtime" else None)
        self.speed = speed if clock == "realtime" else 1.0
        self.behind_ms = behind_ms
        self.out_dir = out_dir
        self.argv = argv or []
        self.trace = trace
        self.port_name = port_name or link.name
        self.client = BenchClient(link)
        self.endpoint = FirmwareEndpoint()
        self.hello: Hello | None = None

    def connect(self, wait_s: float | None = 0.0, stop: threading.Event | None = None) -> Hello:
        """HELLO until the peer answers: once (*wait_s* 0), for *wait_s* seconds, or until *stop* (None).

        Raises :class:`~hil.link.LinkTimeout` if nobody answered in time,
        :class:`~hil.client.ProtocolMismatch` for the wrong peer.
        """
        deadline = None if wait_s is None else time.monotonic() + wait_s
        while True:
            try:
                self.hello = self.client.hello(self.role, needs=NEEDS)
                if isinstance(self.link.responder, Dispatcher):
                    self.link.responder.opened(self.hello.role, self.hello.session)
                return self.hello
            except LinkTimeout:
                if (deadline is not None and time.monotonic() >= deadline) or (stop is not None and stop.is_set()):
                    raise

    def run(self) -> RunOutcome:
        """The run, from CONFIG to END; never raises for a link failure or an interruption (see RunOutcome)."""
        sc = self.scenario
        if self.hello is None:
            self.connect()
        sink: Sink
        if self.out_dir is not None:
            sink = DirectorySink(self.out_dir)
            (self.out_dir / "scenario.toml").write_text(sc.source or "", encoding="utf-8")
        else:
            sink = MemorySink()
        started, t0 = datetime.now(UTC), time.perf_counter()
        self.client.config(PlantParams.of(sc), self.seed)
        self.client.start()
        plant = RemotePlant(self.client, float(sc.pump.internal_volume_nl + sc.catheter.volume_nl))
        sim = HilSimulation(sc, client=self.client, plant=plant, endpoint=self.endpoint, pacer=self.pacer,
                            sink=sink, seed=self.seed, duration_ms=self.duration_ms, trace=self.trace)
        failure: str | None = None
        interrupted = False
        self.endpoint.state = "running"
        try:
            with self._stop_first_on_interrupt():
                if self.pacer is not None:
                    self.pacer.sync()
                sim.run()
        except LinkError as e:
            failure = str(e)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self.endpoint.state = "ended"
        complete = sim.complete and failure is None and not interrupted
        if not complete:
            self._fail_safe()
        summary = sim.summary()  # with the last plant state read if the link failed (plant.stale_state)
        self._end(sim, complete)
        wall = time.perf_counter() - t0
        hil = self._record(sim, plant, complete, failure, interrupted, wall)
        if isinstance(sink, DirectorySink) and self.out_dir is not None:
            sink.write_run_info(run_info(started=started, wall_s=wall, argv=self.argv, exact=False,
                                         seed_override=self.seed if self.seed != sc.seed else None))
            report.write(self.out_dir, hil)
        events = sink.events if isinstance(sink, MemorySink | DirectorySink) else []
        return RunOutcome(complete, failure, interrupted, summary, events, hil, self.out_dir)

    @contextlib.contextmanager
    def _stop_first_on_interrupt(self) -> Iterator[None]:
        """Ctrl-C (in the main thread): STOP and SILENCE go out at once, then the run writes its files."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def interrupt(signum: int, frame: FrameType | None) -> None:
            self.link.call_async("STOP")  # from another thread: this one may be inside a call
            self.link.call_async("SILENCE")
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGINT, interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old)

    def _fail_safe(self) -> None:
        """Motor stopped, sounder silent: one quick try each (the peer may be gone). REQ-HIL-002."""
        for verb in ("STOP", "SILENCE"):
            with contextlib.suppress(LinkError):
                self.link.call(verb, retries=1)

    def _end(self, sim: HilSimulation, complete: bool) -> None:
        fw = sim.fw
        with contextlib.suppress(LinkError):
            self.client.end(sim.plant.now_ms, complete, fw.reservoir_estimate_nl(sim.plant.strokes),
                            sim.tally.prescribed, retries=None if complete else 1)

    def _record(self, sim: HilSimulation, plant: RemotePlant, complete: bool, failure: str | None,
                interrupted: bool, wall_s: float) -> report.HilRecord:
        pacer = self.pacer
        late = pacer.lateness.percentiles_ms() if pacer is not None else {"p50_ms": None, "p99_ms": None,
                                                                           "max_ms": None}
        h = self.hello
        return {
            "role": self.role, "peer_role": h.role if h else None, "peer_caps": list(h.caps) if h else [],
            "port": self.port_name, "clock": self.clock, "speed": self.speed, "complete": complete,
            "failure": failure, "interrupted": interrupted, "simulated_s": sim.plant.now_ms / MS_PER_S,
            "wall_s": round(wall_s, 6), "link": self.link.stats.record(),
            "lateness": {"samples": len(pacer.lateness) if pacer else 0, "p50_ms": late["p50_ms"],
                         "p99_ms": late["p99_ms"], "max_ms": late["max_ms"], "behind_ms": self.behind_ms,
                         "late_stops": pacer.late_stops if pacer else 0,
                         "behind_episodes": pacer.episodes if pacer else 0},
            "count_mismatches": plant.count_mismatches, "alerts": list(self.endpoint.alerts),
            "telemetry_commands": self.endpoint.telemetry, "nan_trace_rows": plant.nan_rows,
            "stale_plant_state": plant.stale_state,
            "wire": self.link.shape.describe() if self.link.shape is not None else "none",
        }

