"""Running a bench: phases by name, plugs bound to ports, an OpenHTF test, the record and its exit status.

:func:`run_bench` builds one OpenHTF test: the chosen phases as the main part
of a phase group whose teardown is the ``teardown`` phase (OpenHTF runs it
after a failure, an error, a phase timeout or an abort), every
:class:`~hil.bench.plugs.PortPlug` in the phases bound to its port, the limits
filled in from the run's :class:`~hil.bench.plan.Plan`. It writes
``record.json`` (kept current while the run goes) and ``junit.xml``
(:mod:`hil.bench.record`) and returns a :class:`BenchOutcome`.

Phases are found by name (:func:`find_phase`): the built-ins
(:data:`hil.bench.phases.BUILTIN`), then the entry-point group
``pumpsim.bench_phases`` (how an installed package such as an instrument
adds its phases), then ``module:function`` or ``path/to/file.py:function``
(a bench team's own phases).

Why OpenHTF: it is the test framework bench teams already know (phases,
measurements with units and validators, plugs with a tear-down, phase groups
whose teardown is guaranteed, phase timeouts, abort on SIGINT, JSON records),
it installs and imports on Python 3.11, and it costs its import (~0.4 s) only
in bench runs. What it lacks is added here and in :mod:`hil.bench.record`:
JUnit XML, a record kept current during the run, SIGTERM handled as Ctrl-C,
and its few process-wide habits kept in check (:func:`_openhtf_quietly`).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import openhtf as htf
from openhtf.core.test_descriptor import Test
from openhtf.util import console_output, threads

from .phases import BUILTIN, LATENESS
from .plan import Limits, Plan, Station
from .plugs import PortPlug
from .record import JUNIT, RECORD, Journal, record_dict, write_junit, write_record

#: The phases of a full run, in order (``teardown`` is always the group's teardown).
DEFAULT_PHASES = ("connect", "self_test", "prime", "deliver", "alarm_check")
#: The entry-point group through which installed packages add phases (name = phase name).
ENTRY_POINT_GROUP = "pumpsim.bench_phases"
#: OpenHTF's default phase timeout (3 minutes) kept for every phase but ``deliver``, which gets the time
#: its run needs in real time on top.
PHASE_TIMEOUT_S = 180.0

EXIT_PASS, EXIT_FAIL, EXIT_INTERRUPTED = 0, 1, 130


class BenchSetupError(Exception):
    """The run cannot be set up as asked (an unknown phase, an instrument without a port); one line."""


@dataclass
class BenchOutcome:
    """How a bench run ended: OpenHTF's outcome, the record, where it was written, the exit status."""

    #: PASS, FAIL, ERROR, TIMEOUT or ABORTED.
    outcome: str
    record: dict[str, Any]
    out_dir: Path | None

    @property
    def exit_status(self) -> int:
        return {"PASS": EXIT_PASS, "ABORTED": EXIT_INTERRUPTED}.get(self.outcome, EXIT_FAIL)

    def phase(self, name: str) -> dict[str, Any]:
        """The record of phase *name* (the last one of that name). Raises KeyError."""
        for p in reversed(self.record.get("phases") or []):
            if p["name"] == name:
                return dict(p)
        raise KeyError(name)

    def measured(self, phase: str, measurement: str) -> Any:
        """The value phase *phase* measured as *measurement*."""
        return self.phase(phase)["measurements"][measurement].get("measured_value")


def available_phases() -> dict[str, str]:
    """Phase name -> where it comes from (``builtin`` or the entry point's value)."""
    out = {name: "builtin" for name in BUILTIN}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        out.setdefault(ep.name, ep.value)
    return out


def find_phase(name: str) -> Any:
    """The OpenHTF phase called *name* (see the module docs). Raises BenchSetupError."""
    if name in BUILTIN:
        return BUILTIN[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    module, sep, attr = name.rpartition(":")
    if not sep or not module or not attr:
        raise BenchSetupError(f"--phases {name}: no such phase (known: {', '.join(available_phases())}; "
                              "or module:function, or path/to/file.py:function)")
    try:
        return getattr(_load_module(module), attr)
    except (ImportError, AttributeError, OSError, SyntaxError) as e:
        raise BenchSetupError(f"--phases {name}: cannot load it ({type(e).__name__}: {e})") from None


def _load_module(module: str) -> ModuleType:
    """A module by name, or a Python file by path (a bench team's phases next to their bench)."""
    if not module.endswith(".py"):
        return importlib.import_module(module)
    path = Path(module)
    spec = importlib.util.spec_from_file_location(f"bench_phases_{path.stem}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"no such file: {path}")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def _as_phase(item: Any) -> Any:
    if isinstance(item, str):
        return find_phase(item)
    return htf.PhaseDescriptor.wrap_or_copy(item)


def _port_plugs(group: Any) -> dict[str, type[PortPlug]]:
    """Plug name -> PortPlug class, over every phase of *group*."""
    out: dict[str, type[PortPlug]] = {}
    for phase in group.all_phases():
        for plug in phase.plugs:
            if isinstance(plug.cls, type) and issubclass(plug.cls, PortPlug):
                out[plug.name] = plug.cls
    return out


@contextlib.contextmanager
def _openhtf_quietly() -> Iterator[None]:
    """OpenHTF's process-wide habits, kept to this run.

    ``Test()`` parses ``sys.argv`` for its own flags (``-v`` would turn on its
    console logging inside ``pytest -v``), and it prints a banner with the
    outcome (we print our own summary).
    """
    _quiet_thread_terminations()
    argv, quiet = sys.argv, console_output.CLI_QUIET
    sys.argv, console_output.CLI_QUIET = sys.argv[:1], True
    try:
        yield
    finally:
        sys.argv, console_output.CLI_QUIET = argv, quiet


def _quiet_thread_terminations() -> None:
    """A phase thread OpenHTF stops (timeout, abort) dies with its ThreadTerminationError, possibly after the
    run has ended (a busy thread is stopped when it next runs Python code); threading would print that as a
    traceback, and pytest turn it into a warning. The record already says what happened, so that one
    exception is not printed (installed once, for the process)."""
    hook = threading.excepthook
    if getattr(hook, "quiet_openhtf", False):
        return

    def excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not None and issubclass(args.exc_type, threads.ThreadTerminationError):
            return
        hook(args)

    excepthook.quiet_openhtf = True  # type: ignore[attr-defined]
    threading.excepthook = excepthook


@contextlib.contextmanager
def _sigterm_aborts() -> Iterator[None]:
    """SIGTERM aborts the run as Ctrl-C does (OpenHTF's SIGINT handler: teardown, then the record)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def abort(signum: int, frame: FrameType | None) -> None:
        Test.handle_sig_int(signum, frame)

    old = signal.signal(signal.SIGTERM, abort)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _deliver_timeout_s(plan: Plan) -> float:
    st = plan.station
    if st.clock == "virtual":
        return PHASE_TIMEOUT_S
    return PHASE_TIMEOUT_S + plan.reference["duration_s"] / st.speed


def build_group(phases: Sequence[Any], plan: Plan, ports: Mapping[str, str],
                phase_timeout_s: float | None = None) -> Any:
    """The OpenHTF phase group of a run (see the module docs). Raises BenchSetupError."""
    main = []
    for item in phases:
        p = _as_phase(item)
        if p.name == "teardown":
            continue  # always the group's teardown
        if p is BUILTIN["deliver"] and plan.station.clock == "realtime":
            p = htf.measures(LATENESS)(p)
        timeout = phase_timeout_s or (_deliver_timeout_s(plan) if p.name == "deliver" else PHASE_TIMEOUT_S)
        main.append(htf.PhaseOptions(timeout_s=timeout)(p) if p.options.timeout_s is None else p)
    teardown = htf.PhaseOptions(timeout_s=phase_timeout_s or PHASE_TIMEOUT_S)(BUILTIN["teardown"])
    group = htf.PhaseGroup(main=main, teardown=[teardown], name="bench")
    bound: dict[str, type[PortPlug]] = {}
    for name, cls in _port_plugs(group).items():
        url = ports.get(cls.instrument)
        if url is None:
            raise BenchSetupError(f"the phases use the {cls.instrument} ({cls.__name__}): give its port "
                                  f"(--instrument {cls.instrument}=URL)")
        bound[name] = cls.at(url, plan)
    return group.with_plugs(**bound).with_args(**plan.args())


def run_bench(station: Station, ports: Mapping[str, str], phases: Sequence[Any] = DEFAULT_PHASES, *,
              limits: Limits | None = None, test_name: str = "pumpsim_bench", dut_id: str | None = None,
              stop_on_first_failure: bool = False, phase_timeout_s: float | None = None,
              emulate_missing: bool = False, metadata: Mapping[str, Any] | None = None) -> BenchOutcome:
    """Run *phases* (names, ``module:function``, or OpenHTF phases) against the instruments on *ports*.

    *ports* maps an instrument name (``bench``, ``balance``, ...) to a pyserial
    URL; with *emulate_missing*, an instrument without a port gets its
    emulator (:meth:`PortPlug.emulator`) for the run. Writes ``record.json``
    and ``junit.xml`` to ``station.out_dir`` (if set). Raises BenchSetupError
    for a run that cannot be set up; a failing bench is an outcome, not an
    exception. Ctrl-C (or SIGTERM, in the main thread) aborts the run:
    teardown runs, the record is written, the outcome is ABORTED.
    """
    plan = Plan.of(station, limits)
    out = station.out_dir
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        ports = dict(ports)
        if emulate_missing:
            wanted = htf.PhaseGroup(main=[_as_phase(p) for p in phases], teardown=[BUILTIN["teardown"]])
            for cls in _port_plugs(wanted).values():
                emulator = cls.emulator() if cls.instrument not in ports else None
                if emulator is not None:
                    ports[cls.instrument] = stack.enter_context(emulator)
        group = build_group(phases, plan, ports, phase_timeout_s)
        meta = {"scenario": station.scenario.name, "seed": station.run_seed, "clock": station.clock,
                "speed": station.speed, "ports": dict(ports), "limits": plan.args(), **(metadata or {})}
        with _openhtf_quietly():
            test = htf.Test(group, test_name=test_name, **meta)
            test.configure(default_dut_id=dut_id or station.scenario.name,
                           stop_on_first_failure=stop_on_first_failure)
        final: dict[str, Any] = {}
        journal = Journal(out / RECORD, lambda: test.state) if out is not None else None

        def output(test_record: Any) -> None:
            if journal is not None:
                journal.stop()  # first: the journal must not write over the final record
            final.update(record_dict(test_record))
            if out is not None:
                write_record(out / RECORD, final)
                write_junit(out / JUNIT, final, properties={k: str(v) for k, v in meta.items()
                                                            if k in ("scenario", "seed", "clock", "speed")})

        test.add_output_callbacks(output)
        if journal is not None:
            journal.start()
        with _openhtf_quietly(), _sigterm_aborts(), contextlib.suppress(KeyboardInterrupt):
            test.execute()
    return BenchOutcome(str(final.get("outcome") or "ABORTED"), final, out)

