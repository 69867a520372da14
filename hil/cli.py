"""``pumpsim hil ...``: the HIL commands, added to ``pumpsim`` through the ``pumpsim.commands`` entry point.

* ``pumpsim hil run SCENARIO --port URL``: the firmware model drives a bench;
* ``pumpsim hil serve SCENARIO --port URL``: the simulated plant for a device under test;
* ``pumpsim hil emulate bench`` / ``pumpsim hil emulate dut SCENARIO``: the two
  peers behind pseudo-terminals (the path is the first line on stdout);
* ``pumpsim hil emulate balance [SCENARIO]``, ``pumpsim hil gravimetric --balance URL``:
  the lab balance (:mod:`hil.instruments.commands`).
* ``pumpsim hil bench SCENARIO --port URL``: a bench run as OpenHTF phases with
  limits (:mod:`hil.bench`; needs the ``bench`` extra): record.json, junit.xml.

Exit status: 0 done (a bench run: every phase passed); 1 the session stopped
early (link failure, a peer that stopped answering; outputs written and marked
incomplete), or a bench run failed a limit, erred or timed out; 2 bad input (a
scenario, an option, a port that is missing, not ours to open, or not a
serial device, a peer speaking another protocol version); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from pumpsim.cli import EXIT_INTERRUPTED, Command, UserError, format_summary
from pumpsim.cli.common import load, new_out_dir
from pumpsim.cli.run import MAX_DAYS
from pumpsim.results import DirectorySink
from pumpsim.scenario import Scenario, with_duration
from pumpsim.units import MS_PER_DAY, S_PER_DAY

from . import report
from .client import ProtocolMismatch
from .clock import BEHIND_MS
from .emulators import WATCHDOG_S, BenchEmulator, DutEmulator
from .endpoint import Dispatcher
from .firmware_side import FirmwareSession, RunOutcome, unsupported
from .instruments import commands as instrument_commands
from .link import RECONNECT_S, RETRIES, TIMEOUT_S, Link, LinkTimeout
from .ports import PortError, open_url
from .serve import IDLE_S, PlantSession
from .shaping import WireShape
from .verbs import Role

EXIT_FAILED = 1


# ---------------------------------------------------------------- options


def _scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="a scenario file (.toml) or a built-in name")
    p.add_argument("--days", type=float, metavar="N", help="run N days instead of the scenario's duration")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default: the scenario's)")
    p.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: a new folder under runs/)")


def _port_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", required=True, metavar="URL",
                   help="pyserial URL: /dev/ttyUSB0, a pty path, socket://HOST:PORT, loop://, spy://...")
    p.add_argument("--baudrate", type=int, default=115200, metavar="B", help="UART baud rate (default 115200)")
    p.add_argument("--timeout-ms", type=float, default=TIMEOUT_S * 1000, metavar="MS",
                   help=f"reply timeout (default {TIMEOUT_S * 1000:g} ms)")
    p.add_argument("--retries", type=int, default=RETRIES, metavar="N",
                   help=f"re-sends before giving up (default {RETRIES})")
    p.add_argument("--reconnect-s", type=float, default=RECONNECT_S, metavar="S",
                   help=f"how long a lost port is waited for (default {RECONNECT_S:g} s)")


def _clock_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clock", choices=("virtual", "realtime"), default="virtual",
                   help="virtual: as fast as the link allows, exact; realtime: paced by the wall clock")
    p.add_argument("--speed", type=float, default=1.0, metavar="F",
                   help="real-time speed factor (1: one simulated second per second)")
    p.add_argument("--behind-ms", type=float, default=BEHIND_MS, metavar="MS",
                   help=f"lateness above which a real-time run is falling behind (default {BEHIND_MS:g} ms)")


def _wire_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("wire shaping (what this emulator sends; docs/hil-protocol.md)")
    g.add_argument("--link", type=Path, metavar="PATH", help="also offer the pty at PATH (a symlink; kept over "
                                                             "a simulated disconnect)")
    g.add_argument("--pace-baud", type=int, default=0, metavar="B", help="pace bytes as an 8N1 UART at B baud")
    g.add_argument("--latency-ms", type=float, default=0.0, metavar="MS", help="delay before each frame")
    g.add_argument("--noise", type=float, default=0.0, metavar="P", help="probability per byte of a flipped bit")
    g.add_argument("--drop", type=float, default=0.0, metavar="P", help="probability per frame of losing it")
    g.add_argument("--duplicate", type=float, default=0.0, metavar="P", help="probability per frame of sending "
                                                                             "it twice")
    g.add_argument("--reorder", type=float, default=0.0, metavar="P", help="probability per frame of sending it "
                                                                           "after the next one")
    g.add_argument("--silence-at", type=float, metavar="S", help="go silent S seconds after the first frame")
    g.add_argument("--silence-for", type=float, default=0.0, metavar="S", help="... for S seconds")
    g.add_argument("--disconnect-at", type=float, metavar="S", help="unplug S seconds after the first frame")
    g.add_argument("--disconnect-for", type=float, default=0.0, metavar="S", help="... for S seconds")
    g.add_argument("--wire-seed", type=int, default=0, metavar="N", help="seed of the wire's faults")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="hil_command", metavar="HIL_COMMAND")
    r = sub.add_parser("run", help="run a scenario's firmware against a bench on --port",
                       description="The firmware model drives bench hardware (or `pumpsim hil emulate bench`) over "
                                   "a serial link; writes pumpsim run's files plus hil.json.")
    _scenario_options(r)
    _port_options(r)
    _clock_options(r)
    r.set_defaults(_hil=_run)
    s = sub.add_parser("serve", help="serve the scenario's plant to a device under test on --port",
                       description="The simulated pump mechanism, reservoir, catheter and clock for a device under "
                                   "test (or `pumpsim hil emulate dut`); records the plant's truth.")
    _scenario_options(s)
    _port_options(s)
    s.add_argument("--idle-s", type=float, default=IDLE_S, metavar="S",
                   help="stop (incomplete) when a started device says nothing for S seconds (default 10)")
    s.set_defaults(_hil=_serve)
    e = sub.add_parser("emulate", help="an emulated bench or device under test behind a pseudo-terminal")
    esub = e.add_subparsers(dest="emulated", metavar="WHAT")
    eb = esub.add_parser("bench", help="the bench: motor, sounder, battery and plant model (peer of `hil run`)",
                         description="Prints the pty path as the first line of stdout, then serves sessions until "
                                     "SIGINT or SIGTERM.")
    eb.add_argument("--watchdog-s", type=float, default=WATCHDOG_S, metavar="S",
                    help=f"stop the motor when the host says nothing for S seconds (default {WATCHDOG_S:g})")
    _wire_options(eb)
    eb.set_defaults(_hil=_emulate_bench)
    ed = esub.add_parser("dut", help="the firmware model as a device under test (peer of `hil serve`)",
                         description="Prints the pty path as the first line of stdout, runs the scenario once a "
                                     "plant answers, writes its outputs, then serves until SIGINT or SIGTERM.")
    _scenario_options(ed)
    _clock_options(ed)
    _wire_options(ed)
    ed.set_defaults(_hil=_emulate_dut)
    instrument_commands.add_emulate_balance(esub)
    instrument_commands.add_gravimetric(sub)
    b = sub.add_parser("bench", help="a bench run: phases with measurements and limits (OpenHTF), on --port",
                       description="Runs named phases against the bench on --port (connect, self_test, prime, "
                                   "deliver, alarm_check, then teardown whatever happens); writes record.json "
                                   "(OpenHTF's test record, kept current during the run) and junit.xml. Exit "
                                   "status 0 every phase passed, 1 a limit failed or a phase erred or timed out, "
                                   "2 bad input, 130 interrupted. Phases and limits: docs/hil-bench.md.")
    _scenario_options(b)
    _port_options(b)
    b.add_argument("--clock", choices=("virtual", "realtime"), default="virtual",
                   help="virtual: as fast as the link allows, exact; realtime: paced by the wall clock")
    b.add_argument("--speed", type=float, default=1.0, metavar="F", help="real-time speed factor")
    b.add_argument("--phases", metavar="P,P,...", help="phases to run, in order (default: connect,self_test,prime,"
                                                        "deliver,alarm_check); a name or module:function")
    b.add_argument("--list-phases", action="store_true", help="list the phases that can be named, then exit")
    b.add_argument("--instrument", action="append", default=[], metavar="NAME=URL",
                   help="the port of an instrument a phase uses (e.g. balance=/dev/ttyUSB1); repeatable")
    b.add_argument("--limit", action="append", default=[], metavar="KEY=VALUE",
                   help="override a limit (docs/hil-bench.md lists them); repeatable")
    b.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting for an instrument's plug (read from the run's station); repeatable")
    b.add_argument("--dut-id", metavar="ID", help="the device's id in the record (default: the scenario's name)")
    b.add_argument("--stop-on-fail", action="store_true", help="stop at the first failed measurement "
                                                               "(teardown still runs)")
    b.add_argument("--phase-timeout-s", type=float, metavar="S",
                   help="every phase's timeout (default 180 s; deliver: the time its run needs on top)")
    b.set_defaults(_hil=_bench)


#: The GIL switch interval of a HIL process. The default 5 ms is what a thread waiting for the
#: serial reader can lose to another busy thread (tooling.md: a responder's latency grows to ~5 ms;
#: 0.5 ms brings it under 1 ms); a HIL process has a reader thread and a working thread by design.
SWITCH_INTERVAL_S = 0.0005


def run(args: argparse.Namespace) -> int:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    handler = getattr(args, "_hil", None)
    if handler is None:
        what = ("emulate bench|dut|balance" if getattr(args, "hil_command", None) == "emulate"
                else "run|serve|emulate|gravimetric")
        raise UserError(f"hil: say what to do: pumpsim hil {what} ... (see 'pumpsim hil --help')")
    result: int = handler(args)
    return result


COMMAND = Command("hil", "hardware-in-the-loop: run against a bench, serve a device under test, emulate both",
                  add_arguments, run, epilog="Protocol and outputs: docs/hil-protocol.md")


# ---------------------------------------------------------------- shared checks


def _scenario(args: argparse.Namespace) -> Scenario:
    sc = load(args.scenario)
    why = unsupported(sc)
    if why is not None:
        raise UserError(f"{args.scenario}: pumpsim hil cannot run {why}; 'pumpsim run' simulates it")
    if args.days is not None:
        if not 0 < args.days <= MAX_DAYS:
            raise UserError(f"--days {args.days:g}: expected a number of days above 0 and at most {MAX_DAYS}")
        sc = with_duration(sc, round(args.days * MS_PER_DAY))
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed {args.seed}: expected an integer >= 0")
    return sc


def _check_port_options(args: argparse.Namespace) -> None:
    if not args.timeout_ms > 0:
        raise UserError(f"--timeout-ms {args.timeout_ms:g}: expected > 0 ms")
    if not 0 <= args.retries <= 100:
        raise UserError(f"--retries {args.retries}: expected 0..100")
    if not args.reconnect_s >= 0:
        raise UserError(f"--reconnect-s {args.reconnect_s:g}: expected >= 0 s")


def _check_clock(args: argparse.Namespace) -> None:
    if not 0 < args.speed <= 1e9:
        raise UserError(f"--speed {args.speed:g}: expected a factor above 0 and at most 1e9")
    if not args.behind_ms > 0:
        raise UserError(f"--behind-ms {args.behind_ms:g}: expected > 0 ms")


def _out_dir(args: argparse.Namespace, prefix: str, sc: Scenario) -> Path:
    out: Path = args.out if args.out is not None else new_out_dir(prefix, sc.name)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    clash = [f for f in (*DirectorySink.FILES, report.FILE) if (out / f).exists()]
    if clash:
        raise UserError(f"--out {out}: already holds {clash[0]}; choose another directory")
    return out


#: The option that sets each WireShape field (for error messages).
_SHAPE_OPTIONS = {"baud": "--pace-baud", "latency_ms": "--latency-ms", "noise": "--noise", "drop": "--drop",
                  "duplicate": "--duplicate", "reorder": "--reorder", "silence_s": "--silence-for",
                  "disconnect_s": "--disconnect-for"}


def _shape(args: argparse.Namespace) -> WireShape:
    try:
        return WireShape(baud=args.pace_baud, latency_ms=args.latency_ms, noise=args.noise, drop=args.drop,
                         duplicate=args.duplicate, reorder=args.reorder, silence_at_s=args.silence_at,
                         silence_s=args.silence_for, disconnect_at_s=args.disconnect_at,
                         disconnect_s=args.disconnect_for, seed=args.wire_seed)
    except ValueError as e:
        field, _, rest = str(e).partition(" = ")
        raise UserError(f"{_SHAPE_OPTIONS.get(field, field)} {rest}") from None


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a command the way Ctrl-C does (outputs written, motor stopped)."""
    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _link(args: argparse.Namespace) -> Link:
    return Link.to_url(args.port, baudrate=args.baudrate, timeout_s=args.timeout_ms / 1000, retries=args.retries,
                       reconnect_s=args.reconnect_s)


def _say_outcome(outcome: RunOutcome, out: Path | None) -> int:
    h = outcome.hil["link"]
    if outcome.complete:
        return 0
    where = f"; partial outputs in {out}/ (summary.json has \"complete\": false)" if out else ""
    if outcome.interrupted:
        print(f"pumpsim hil: interrupted at day {outcome.hil['simulated_s'] / S_PER_DAY:.3f}; motor stopped{where}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"pumpsim hil: error: {outcome.failure}; motor stop sent{where} "
          f"({h['retries']} retries, {h['crc_errors']} CRC errors, {h['reconnects']} reconnects)", file=sys.stderr)
    return EXIT_FAILED


def _link_line(outcome: RunOutcome) -> str:
    h, late = outcome.hil["link"], outcome.hil["lateness"]
    line = (f"link      {h['requests_tx']} requests, RTT p50 {h['rtt_p50_ms']} ms / p99 {h['rtt_p99_ms']} ms, "
            f"{h['retries']} retries, {h['crc_errors']} CRC errors, {h['reconnects']} reconnects")
    if outcome.hil["clock"] == "realtime":
        line += f"\nrealtime  x{outcome.hil['speed']:g}, lateness p50 {late['p50_ms']} ms / p99 {late['p99_ms']} ms"
        line += f" / max {late['max_ms']} ms, {late['late_stops']} late stops"
    return line


# ---------------------------------------------------------------- hil run


def _run(args: argparse.Namespace) -> int:
    sc = _scenario(args)
    _check_port_options(args)
    _check_clock(args)
    out = _out_dir(args, "hil-", sc)
    link = _link(args)
    session = FirmwareSession(sc, link, role=Role.HOST, seed=args.seed, clock=args.clock, speed=args.speed,
                              behind_ms=args.behind_ms, out_dir=out, argv=args.argv, port_name=args.port)
    link.responder = Dispatcher(Role.HOST, session.endpoint)
    with _sigterm_as_interrupt():
        try:
            _open(link)
            try:
                session.connect()
            except LinkTimeout:
                raise UserError(f"--port {args.port}: nothing answered HELLO ({args.retries + 1} tries, "
                                f"{args.timeout_ms:g} ms each): is the bench running, and is this its port?") from None
            except ProtocolMismatch as e:
                raise UserError(f"--port {args.port}: {e}") from None
            outcome = session.run()
        except KeyboardInterrupt:
            print("\npumpsim hil: interrupted before the run started; nothing written", file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            link.close()
    status = _say_outcome(outcome, out)
    if status == 0:
        print(format_summary(outcome.summary, outcome.events, outcome.hil["wall_s"]))
        print(_link_line(outcome))
        print(f"\noutputs: {out}/ (summary.json, events.jsonl, trace.csv, scenario.toml, run.json, hil.json)")
    return status


def _open(link: Link) -> None:
    try:
        link.start()
    except PortError as e:
        raise UserError(str(e)) from None


# ---------------------------------------------------------------- hil serve


def _serve(args: argparse.Namespace) -> int:
    sc = _scenario(args)
    _check_port_options(args)
    if not args.idle_s > 0:
        raise UserError(f"--idle-s {args.idle_s:g}: expected > 0 s")
    out = _out_dir(args, "serve-", sc)
    link = _link(args)
    session = PlantSession(sc, link, seed=args.seed, out_dir=out, argv=args.argv, idle_s=args.idle_s,
                           port_name=args.port)
    failure: str | None = None
    interrupted = False
    with _sigterm_as_interrupt():
        try:
            _open(link)
            print(f"pumpsim hil serve: {sc.name} on {args.port}; waiting for a device under test", file=sys.stderr)
            failure = session.wait()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            link.close()
    o = session.finish(failure, interrupted)
    if o.wrong_version is not None:
        raise UserError(f"--port {args.port}: the device under test speaks protocol version {o.wrong_version}; "
                        "this is version 1")
    if interrupted:
        print(f"\npumpsim hil serve: interrupted; outputs in {out}/ (marked incomplete)", file=sys.stderr)
        return EXIT_INTERRUPTED
    if o.summary is None:
        print(f"pumpsim hil serve: error: {failure or 'no session'}; nothing recorded", file=sys.stderr)
        return EXIT_FAILED
    if not o.complete:
        print(f"pumpsim hil serve: error: {failure or 'the device ended the run early'}; outputs in {out}/ "
              "(marked incomplete)", file=sys.stderr)
        return EXIT_FAILED
    print(format_summary(o.summary, o.events, o.hil["wall_s"]))
    print(f"\noutputs: {out}/ (summary.json, events.jsonl, trace.csv, scenario.toml, run.json, hil.json)")
    return 0


# ---------------------------------------------------------------- emulators


@contextmanager
def _until_signalled() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM (the emulators' way to end: exit status 0)."""
    stop = threading.Event()

    def set_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    old = {s: signal.signal(s, set_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _emulate_bench(args: argparse.Namespace) -> int:
    shape = _shape(args)
    link_path = args.link
    if shape.disconnect_at_s is not None and link_path is None:
        link_path = Path(f"/tmp/pumpsim-hil-bench-{os.getpid()}")
    if not args.watchdog_s > 0:
        raise UserError(f"--watchdog-s {args.watchdog_s:g}: expected > 0 s")
    with _until_signalled() as stop, BenchEmulator(shape=shape, link_path=link_path,
                                                   watchdog_s=args.watchdog_s) as bench:
        print(bench.path, flush=True)
        while not stop.wait(0.2):
            pass
        c, st = bench.server.counts, bench.link.stats
        print(f"pumpsim hil emulate bench: {c.sessions} sessions, {st.requests_rx} requests ({st.replays} replayed, "
              f"{st.crc_errors} CRC errors), {c.programs} programs, {c.stops} stops, {c.watchdog_stops} watchdog "
              f"stops, {c.tones} tones, {c.silences} silences, {c.refills} refills", file=sys.stderr)
    return 0


def _emulate_dut(args: argparse.Namespace) -> int:
    sc = _scenario(args)
    _check_clock(args)
    shape = _shape(args)
    out = _out_dir(args, "dut-", sc)
    link_path = args.link
    if shape.disconnect_at_s is not None and link_path is None:
        link_path = Path(f"/tmp/pumpsim-hil-dut-{os.getpid()}")
    with _until_signalled() as stop:
        dut = DutEmulator(sc, out_dir=out, seed=args.seed, clock=args.clock, speed=args.speed, shape=shape,
                          link_path=link_path, argv=args.argv)
        with dut:
            print(dut.path, flush=True)
            reported = False
            while not stop.wait(0.1):
                if dut.done.is_set() and not reported:
                    reported = True
                    _report_dut(dut, out)
        if not reported:
            _report_dut(dut, out)
    return 0


def _report_dut(dut: DutEmulator, out: Path) -> None:
    o = dut.outcome
    if o is None:
        print(f"pumpsim hil emulate dut: {dut.error or 'stopped before a plant answered'}", file=sys.stderr)
    elif o.complete:
        print(f"pumpsim hil emulate dut: run complete, {o.summary['simulated_s'] / S_PER_DAY:g} days; "
              f"outputs in {out}/", file=sys.stderr)
    else:
        print(f"pumpsim hil emulate dut: run stopped early ({o.failure or 'interrupted'}); outputs in {out}/ "
              "(marked incomplete)", file=sys.stderr)



# ---------------------------------------------------------------- hil bench


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UserError(f"{option} {item}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _bench(args: argparse.Namespace) -> int:
    try:
        from . import bench  # OpenHTF: imported only for bench runs (~0.4 s)
    except ImportError as e:
        raise UserError(f"pumpsim hil bench needs OpenHTF ({e}): pip install 'pumpsim[bench]'") from None
    if args.list_phases:
        for name, where in bench.available_phases().items():
            print(f"{name:<14} {where}")
        return 0
    sc = _scenario(args)
    _check_port_options(args)
    if not 0 < args.speed <= 1e9:
        raise UserError(f"--speed {args.speed:g}: expected a factor above 0 and at most 1e9")
    if args.phase_timeout_s is not None and not args.phase_timeout_s > 0:
        raise UserError(f"--phase-timeout-s {args.phase_timeout_s:g}: expected > 0 s")
    out = args.out if args.out is not None else new_out_dir("bench-", sc.name)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    if any((out / f).exists() for f in (bench.RECORD, bench.JUNIT, "deliver")):
        raise UserError(f"--out {out}: already holds a bench run; choose another directory")
    try:
        limits = bench.Limits().overridden(_pairs(args.limit, "--limit"))
    except ValueError as e:
        raise UserError(f"--limit {e}") from None
    ports = {"bench": args.port, **_pairs(args.instrument, "--instrument")}
    for url in ports.values():  # a missing device is one line and status 2, before anything starts
        try:
            open_url(url, baudrate=args.baudrate).close()
        except PortError as e:
            raise UserError(str(e)) from None
    phases = [p.strip() for p in args.phases.split(",") if p.strip()] if args.phases else bench.DEFAULT_PHASES
    station = bench.Station(sc, seed=args.seed, clock=args.clock, speed=args.speed,
                            deliver_ms=round(args.days * MS_PER_DAY) if args.days is not None else None,
                            out_dir=out, baudrate=args.baudrate, timeout_s=args.timeout_ms / 1000,
                            retries=args.retries, reconnect_s=args.reconnect_s,
                            extra=_pairs(args.setting, "--setting"))
    try:
        outcome = bench.run_bench(station, ports, phases, limits=limits, dut_id=args.dut_id,
                                  stop_on_first_failure=args.stop_on_fail, phase_timeout_s=args.phase_timeout_s,
                                  metadata={"argv": " ".join(args.argv)})
    except bench.BenchSetupError as e:
        raise UserError(str(e)) from None
    except KeyboardInterrupt:
        print("\npumpsim hil bench: interrupted before the run started; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    print("\n".join(bench.record.summary_lines(outcome.record)))
    print(f"\noutputs: {out}/ ({bench.RECORD}, {bench.JUNIT}{', deliver/' if (out / 'deliver').exists() else ''})")
    if outcome.outcome == "ABORTED":
        print("pumpsim hil bench: interrupted; teardown ran (motor stopped, sounder silent); record written",
              file=sys.stderr)
    return outcome.exit_status
