"""pytest plugin: bench tests that run on emulators in CI and against hardware at the bench.

Registered through the ``pytest11`` entry point (as pytest-embedded registers
its own), so any pytest run in an environment where pumpsim is installed has
these fixtures and options; loading it imports only pytest and the standard
library (hil, numpy, SimPy, pyserial and OpenHTF are imported when a fixture
is used). ``-p no:pumpsim_hil`` turns it off.

Options (``pytest --help``, group "pumpsim hil")::

    --hil-port URL       the hardware (a pyserial URL); default: an emulator per test
    --hil-role ROLE      what is on --hil-port: bench (the firmware model drives it, default)
                         or dut (a board's firmware drives the simulated plant)
    --hil-clock CLOCK    virtual (default) or realtime; --hil-speed F
    --hil-baudrate B     the UART's baud rate (default 115200)
    --hil-emulator HOW   inprocess (default) or subprocess (``pumpsim hil emulate ...``)
    --hil-log-dir DIR    per test: the frames both ways (pyserial's spy://) and the session's files
    --hil-instrument NAME=URL   an instrument's port for bench phases (e.g. balance=/dev/ttyUSB1)

Fixtures (each torn down after its test, after a failure or a timeout too):

* ``hil_scenario`` - the scenario the hardware runs (default ``analytic``;
  parametrize it indirectly, or override the fixture, for another);
* ``hil_bench_url`` / ``hil_link`` / ``hil_bench`` - the bench: its URL, a
  started :class:`hil.Link`, and a :class:`hil.BenchClient` with a session
  open and the scenario's plant started (left safe after the test: STOP,
  SILENCE, END);
* ``hil_firmware`` - a function that runs the scenario's firmware model
  against the bench (``pumpsim hil run``) and returns its :class:`hil.RunOutcome`;
* ``hil_dut_url`` / ``hil_plant`` - role 2: the device under test's URL, and a
  function that serves it the scenario's plant (served from the start of the
  test) until its run ends and returns the recorded :class:`hil.ServeOutcome`
  (``pumpsim hil serve``, one session per test);
* ``hil_bench_run`` - a function that runs bench phases
  (:func:`hil.bench.run_bench`) against the bench and returns the outcome;
* ``hil_bench_emulator`` / ``hil_dut_emulator`` - the in-process emulator,
  for tests that inspect it (skipped on hardware);
* ``hil_log_dir`` - where the test's session files go (``--hil-log-dir``, or
  the test's tmp_path).

A test that needs a bench is skipped when ``--hil-port`` is a device under
test, and the other way round; with no ``--hil-port`` every test runs on
emulators.
"""

from __future__ import annotations

import contextlib
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pumpsim.scenario import Scenario

    from .bench import BenchOutcome, Limits
    from .client import BenchClient
    from .emulators import BenchEmulator, DutEmulator
    from .firmware_side import RunOutcome
    from .link import Link
    from .serve import ServeOutcome

DEFAULT_SCENARIO = "analytic"


@dataclass(frozen=True)
class HilOptions:
    """The command line's ``--hil-*`` options."""

    port: str | None = None
    role: str = "bench"
    clock: str = "virtual"
    speed: float = 1.0
    baudrate: int = 115200
    emulator: str = "inprocess"
    log_dir: Path | None = None
    instruments: dict[str, str] = field(default_factory=dict)

    @property
    def on_hardware(self) -> bool:
        return self.port is not None


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("pumpsim hil", "hardware in the loop (pumpsim's pytest plugin, docs/hil-bench.md)")
    g.addoption("--hil-port", metavar="URL", help="the hardware under test, a pyserial URL (/dev/ttyUSB0, "
                                                  "socket://host:port); default: an emulator started per test")
    g.addoption("--hil-role", choices=("bench", "dut"), default="bench",
                help="what is on --hil-port: a bench the firmware model drives (default), or a device under "
                     "test whose firmware drives the simulated plant")
    g.addoption("--hil-clock", choices=("virtual", "realtime"), default="virtual", help="the session clock")
    g.addoption("--hil-speed", type=float, default=1.0, metavar="F", help="real-time speed factor")
    g.addoption("--hil-baudrate", type=int, default=115200, metavar="B", help="UART baud rate (default 115200)")
    g.addoption("--hil-emulator", choices=("inprocess", "subprocess"), default="inprocess",
                help="how an emulator runs when there is no --hil-port (subprocess: pumpsim hil emulate ...)")
    g.addoption("--hil-log-dir", type=Path, metavar="DIR",
                help="write each test's frames (pyserial spy://) and session files under DIR/<test>/")
    g.addoption("--hil-instrument", action="append", default=[], metavar="NAME=URL",
                help="the port of an instrument used by bench phases (e.g. balance=/dev/ttyUSB1); repeatable")


def pytest_configure(config: pytest.Config) -> None:
    _options(config)  # a bad --hil-* option stops the run before collection
    config.addinivalue_line("markers", "hil: hardware-in-the-loop tests (run against emulators unless --hil-port "
                                       "is given)")


def pytest_report_header(config: pytest.Config) -> str | None:
    port = config.getoption("--hil-port")
    if port is None:
        return None
    return (f"pumpsim hil: a {config.getoption('--hil-role')} on {port}, clock {config.getoption('--hil-clock')} "
            f"(tests for the other role are skipped)")


# ---------------------------------------------------------------- options and scenario


def _options(config: pytest.Config) -> HilOptions:
    """The ``--hil-*`` options; raises pytest.UsageError for a bad one (before any test runs)."""
    o = config.getoption
    instruments = {}
    for item in o("--hil-instrument"):
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise pytest.UsageError(f"--hil-instrument {item}: expected NAME=URL")
        instruments[name] = url
    if not o("--hil-speed") > 0:
        raise pytest.UsageError(f"--hil-speed {o('--hil-speed')}: expected a factor above 0")
    return HilOptions(o("--hil-port"), o("--hil-role"), o("--hil-clock"), o("--hil-speed"), o("--hil-baudrate"),
                      o("--hil-emulator"), o("--hil-log-dir"), instruments)


@pytest.fixture(scope="session")
def hil_options(pytestconfig: pytest.Config) -> HilOptions:
    """The ``--hil-*`` options of this run."""
    return _options(pytestconfig)


@pytest.fixture
def hil_scenario(request: pytest.FixtureRequest) -> Scenario:
    """The scenario of the session (a built-in name or a file; indirect parametrization picks another)."""
    from pumpsim.scenario import Scenario, load_scenario

    wanted = getattr(request, "param", DEFAULT_SCENARIO)
    return wanted if isinstance(wanted, Scenario) else load_scenario(wanted)


@pytest.fixture
def hil_log_dir(request: pytest.FixtureRequest, hil_options: HilOptions, tmp_path: Path) -> Path:
    """This test's directory for session files: DIR/<test id> with --hil-log-dir, else the test's tmp_path."""
    if hil_options.log_dir is None:
        return tmp_path
    d = hil_options.log_dir / re.sub(r"[^A-Za-z0-9._-]+", "_", request.node.nodeid).strip("_")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _logged(url: str, options: HilOptions, log_dir: Path, name: str) -> str:
    """*url* wrapped in pyserial's spy:// (a hex dump of both directions) when --hil-log-dir is given."""
    if options.log_dir is None or url.startswith("spy://"):
        return url
    return f"spy://{url}?file={log_dir / name}"


def _die_with_parent() -> None:
    """In an emulator subprocess (Linux): SIGTERM when the test process dies, even from SIGKILL."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _subprocess_emulator(*args: str) -> Iterator[str]:
    from .testing import spawn

    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    with spawn(*args, preexec_fn=preexec) as emulated:
        yield emulated.path


# ---------------------------------------------------------------- role 1: a bench


@dataclass
class _Bench:
    url: str
    emulator: BenchEmulator | None


@pytest.fixture
def _hil_bench(hil_options: HilOptions) -> Iterator[_Bench]:
    o = hil_options
    if o.on_hardware:
        if o.role != "bench":
            pytest.skip(f"needs a bench; --hil-port {o.port} is a device under test")
        assert o.port is not None
        yield _Bench(o.port, None)
    elif o.emulator == "subprocess":
        with _subprocess_emulator("hil", "emulate", "bench") as path:
            yield _Bench(path, None)
    else:
        from .emulators import BenchEmulator

        with BenchEmulator(keep_acted=True) as emulator:
            yield _Bench(emulator.path, emulator)


@pytest.fixture
def hil_bench_url(_hil_bench: _Bench) -> str:
    """The bench's URL: --hil-port, or an emulator's pty."""
    return _hil_bench.url


@pytest.fixture
def hil_bench_emulator(_hil_bench: _Bench) -> BenchEmulator:
    """The in-process emulated bench (its counts, what it acted on); the test is skipped on hardware."""
    if _hil_bench.emulator is None:
        pytest.skip("inspects the in-process bench emulator (not on hardware, not with --hil-emulator subprocess)")
    return _hil_bench.emulator


@pytest.fixture
def hil_link(hil_bench_url: str, hil_options: HilOptions, hil_log_dir: Path) -> Iterator[Link]:
    """A started link to the bench (closed after the test)."""
    from .link import Link

    url = _logged(hil_bench_url, hil_options, hil_log_dir, "frames.txt")
    with Link.to_url(url, baudrate=hil_options.baudrate) as link:
        yield link


@pytest.fixture
def hil_bench(hil_link: Link, hil_scenario: Scenario) -> Iterator[BenchClient]:
    """The bench with a session open (HELLO as the host) and the scenario's plant started (CONFIG, START).

    After the test, whatever happened: STOP, SILENCE and END (one quick try each).
    """
    from pumpsim.engine.ports import PlantParams

    from .client import BenchClient
    from .link import LinkError
    from .verbs import Role

    client = BenchClient(hil_link)
    client.hello(Role.HOST)
    client.config(PlantParams.of(hil_scenario), hil_scenario.seed)
    client.start()
    try:
        yield client
    finally:
        for verb in ("STOP", "SILENCE"):
            with contextlib.suppress(LinkError):
                hil_link.call(verb, retries=1)
        with contextlib.suppress(LinkError):
            client.end(client.time_ms(), False, retries=1)


@pytest.fixture
def hil_firmware(hil_link: Link, hil_scenario: Scenario, hil_options: HilOptions,
                 hil_log_dir: Path) -> Callable[..., RunOutcome]:
    """``run(scenario=None, *, duration_ms=None, seed=None, out_dir=None)``: the firmware model drives the bench.

    Runs ``pumpsim hil run``'s session (HELLO, CONFIG, START, the story, END)
    over the test's link with the --hil-clock; writes pumpsim run's files and
    hil.json to *out_dir* (default: the test's log directory, ``run/``).
    """
    from .endpoint import Dispatcher
    from .firmware_side import FirmwareSession
    from .verbs import Role

    def run(scenario: Scenario | None = None, *, duration_ms: int | None = None, seed: int | None = None,
            out_dir: Path | None = None) -> RunOutcome:
        session = FirmwareSession(scenario or hil_scenario, hil_link, role=Role.HOST, seed=seed,
                                  duration_ms=duration_ms, clock=hil_options.clock, speed=hil_options.speed,
                                  out_dir=out_dir or hil_log_dir / "run", port_name=hil_link.name)
        hil_link.responder = Dispatcher(Role.HOST, session.endpoint)
        session.connect(wait_s=5.0)
        return session.run()

    return run


@pytest.fixture
def hil_bench_run(hil_bench_url: str, hil_scenario: Scenario, hil_options: HilOptions,
                  hil_log_dir: Path) -> Callable[..., BenchOutcome]:
    """``run(phases=DEFAULT_PHASES, *, limits=None, scenario=None, deliver_ms=None, **run_bench_options)``.

    Runs bench phases (OpenHTF) against the bench; record.json and junit.xml
    go to the test's log directory (``bench/``). Instruments without a
    --hil-instrument port get their emulators when the bench is emulated too.
    Skipped if OpenHTF is not installed (the ``bench`` extra).
    """
    pytest.importorskip("openhtf", reason="bench phases need OpenHTF: pip install 'pumpsim[bench]'")
    from . import bench

    def run(phases: Sequence[Any] = bench.DEFAULT_PHASES, *, limits: Limits | None = None,
            scenario: Scenario | None = None, deliver_ms: int | None = None, **options: Any) -> BenchOutcome:
        station = bench.Station(scenario or hil_scenario, clock=hil_options.clock, speed=hil_options.speed,
                                deliver_ms=deliver_ms, out_dir=hil_log_dir / "bench", baudrate=hil_options.baudrate)
        ports = {"bench": hil_bench_url, **hil_options.instruments}
        return bench.run_bench(station, ports, phases, limits=limits, emulate_missing=not hil_options.on_hardware,
                               **options)

    return run


# ---------------------------------------------------------------- role 2: a device under test


@dataclass
class _Dut:
    url: str
    emulator: DutEmulator | None


@pytest.fixture
def _hil_dut(hil_options: HilOptions, hil_scenario: Scenario, hil_log_dir: Path) -> Iterator[_Dut]:
    o = hil_options
    if o.on_hardware:
        if o.role != "dut":
            pytest.skip(f"needs a device under test; --hil-port {o.port} is a bench")
        assert o.port is not None
        yield _Dut(o.port, None)
    elif o.emulator == "subprocess":
        source = hil_log_dir / "scenario.toml"  # the scenario as loaded, whatever it came from
        source.write_text(hil_scenario.source or "", encoding="utf-8")
        with _subprocess_emulator("hil", "emulate", "dut", str(source), "--out", str(hil_log_dir / "dut"),
                                  "--clock", o.clock, "--speed", str(o.speed)) as path:
            yield _Dut(path, None)
    else:
        from .emulators import DutEmulator

        with DutEmulator(hil_scenario, out_dir=hil_log_dir / "dut", clock=o.clock, speed=o.speed) as emulator:
            yield _Dut(emulator.path, emulator)


@pytest.fixture
def hil_dut_url(_hil_dut: _Dut) -> str:
    """The device under test's URL: --hil-port, or an emulator's pty."""
    return _hil_dut.url


@pytest.fixture
def hil_dut_emulator(_hil_dut: _Dut) -> DutEmulator:
    """The in-process emulated device under test; the test is skipped on hardware."""
    if _hil_dut.emulator is None:
        pytest.skip("inspects the in-process DUT emulator (not on hardware, not with --hil-emulator subprocess)")
    return _hil_dut.emulator


@pytest.fixture
def hil_plant(hil_dut_url: str, hil_scenario: Scenario, hil_options: HilOptions,
              hil_log_dir: Path) -> Iterator[Callable[..., ServeOutcome]]:
    """``serve(timeout_s=120, idle_s=10)``: serve the scenario's plant to the DUT until its run ends; the record.

    ``pumpsim hil serve``'s session: the outputs (the plant's truth) go to the
    test's log directory (``serve/``). A run that does not end within
    *timeout_s*, or a device silent for *idle_s*, ends the serve, recorded as
    incomplete.
    """
    import threading

    from .link import Link
    from .serve import PlantSession

    url = _logged(hil_dut_url, hil_options, hil_log_dir, "frames.txt")
    link = Link.to_url(url, baudrate=hil_options.baudrate)
    session = PlantSession(hil_scenario, link, out_dir=hil_log_dir / "serve", port_name=hil_dut_url)
    link.start()  # after the session: it answers the DUT's HELLO as soon as the port is open

    def serve(timeout_s: float = 120.0, idle_s: float = 10.0) -> ServeOutcome:
        session.idle_s = idle_s
        stop = threading.Event()
        timer = threading.Timer(timeout_s, stop.set)
        timer.start()
        try:
            failure = session.wait(stop)
        finally:
            timer.cancel()
        if failure == "stopped":
            failure = f"the device under test did not end its run within {timeout_s:g} s"
        return session.finish(failure)

    try:
        yield serve
    finally:
        link.close()
