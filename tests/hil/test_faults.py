"""Faults on the link: nothing lost when the wire is bad, a safe stop when the peer is gone, one clear line.

The in-process tests shape both directions (hil.shaping); the command-line
tests shape what the emulator sends, as a bench engineer would with
``pumpsim hil emulate bench --noise ...``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import tty
from pathlib import Path

import pytest

from hil.client import BenchClient
from hil.emulators import BenchEmulator, DutEmulator
from hil.endpoint import Dispatcher
from hil.firmware_side import FirmwareSession
from hil.link import Link
from hil.ports import Pty
from hil.protocol import FrameParser, Reply, frame, request_frame
from hil.serve import PlantSession
from hil.shaping import WireShape
from hil.testing import PUMPSIM, pumpsim_cli, spawn
from hil.verbs import Role
from pumpsim.engine import Simulation
from pumpsim.engine.ports import PlantParams
from pumpsim.results import DirectorySink
from pumpsim.scenario import load_scenario

pytestmark = [pytest.mark.hil, pytest.mark.timeout(120)]


#: The noisy-wire tests use a short scenario with a refill, a concentration change and a bridge bolus
#: (about 1,000 requests): every fault costs a timeout, so a long scenario would only cost time.
NOISY = "concentration_change"


@pytest.fixture(scope="module")
def analytic_ref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "analytic"
    Simulation(load_scenario("analytic"), sink=DirectorySink(out)).run()
    return out


@pytest.fixture(scope="module")
def noisy_ref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / NOISY
    Simulation(load_scenario(NOISY), sink=DirectorySink(out)).run()
    return out


def _lines(p: Path) -> list[str]:
    return p.read_text().splitlines()




def test_a_noisy_lossy_wire_both_ways_loses_nothing(noisy_ref: Path, tmp_path: Path) -> None:
    """Bit noise, dropped, duplicated and reordered frames in both directions: the same files, every fault counted."""
    bad = dict(noise=0.001, drop=0.02, duplicate=0.02, reorder=0.02)
    with BenchEmulator(shape=WireShape(seed=1, **bad), keep_acted=True) as bench:
        link = Link.to_url(bench.path, timeout_s=0.03, retries=8, shape=WireShape(seed=2, **bad))
        session = FirmwareSession(load_scenario(NOISY), link, out_dir=tmp_path)
        link.responder = Dispatcher(Role.HOST, session.endpoint)
        with link:
            outcome = session.run()
        bench_stats = bench.link.stats
    assert outcome.complete, outcome.failure
    for f in ("events.jsonl", "summary.json", "trace.csv"):
        assert (tmp_path / f).read_bytes() == (noisy_ref / f).read_bytes(), f
    h = json.loads((tmp_path / "hil.json").read_text())["link"]
    assert h["retries"] > 0 and h["timeouts"] > 0 and h["unmatched_replies"] > 0 and h["failures"] == 0
    assert h["crc_errors"] + h["naks_rx"] > 0
    assert bench_stats.replays > 0 and bench_stats.crc_errors > 0
    acted = bench.server.counts.acted
    assert len([a for a in acted if a.startswith("ADVANCE")]) == len({a for a in acted if a.startswith("ADVANCE")})


def test_the_cli_survives_a_noisy_bench_and_counts_it(noisy_ref: Path, tmp_path: Path) -> None:
    with spawn("hil", "emulate", "bench", "--noise", "0.001", "--drop", "0.01", "--duplicate", "0.01",
               "--reorder", "0.01", "--wire-seed", "5") as bench:
        r = pumpsim_cli(["hil", "run", NOISY, "--port", bench.path, "--out", str(tmp_path),
                         "--timeout-ms", "40", "--retries", "8"])
    assert r.returncode == 0, r.stderr
    assert _lines(tmp_path / "events.jsonl") == _lines(noisy_ref / "events.jsonl")
    link = json.loads((tmp_path / "hil.json").read_text())["link"]
    assert link["retries"] > 0 and link["crc_errors"] > 0 and link["unmatched_replies"] > 0


def test_a_short_silence_is_ridden_out(analytic_ref: Path, tmp_path: Path) -> None:
    """The bench goes quiet for 0.3 s, less than 5 tries of 0.25 s: the run resumes and completes."""
    with spawn("hil", "emulate", "bench", "--silence-at", "0.3", "--silence-for", "0.3") as bench:
        r = pumpsim_cli(["hil", "run", "analytic", "--port", bench.path, "--out", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    assert _lines(tmp_path / "events.jsonl") == _lines(analytic_ref / "events.jsonl")
    assert json.loads((tmp_path / "hil.json").read_text())["link"]["timeouts"] > 0


def test_a_bench_that_stops_answering_ends_the_run_safely(analytic_ref: Path, tmp_path: Path) -> None:
    """No reply after every retry: exit 1, one line, files valid and marked incomplete (REQ-HIL-002)."""
    with spawn("hil", "emulate", "bench", "--silence-at", "0.4", "--silence-for", "600") as bench:
        r = pumpsim_cli(["hil", "run", "analytic", "--port", bench.path, "--out", str(tmp_path),
                         "--timeout-ms", "50", "--retries", "2"])
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "stopped answering" in r.stderr and "Traceback" not in r.stderr
    events = _lines(tmp_path / "events.jsonl")
    assert 0 < len(events) < len(_lines(analytic_ref / "events.jsonl"))
    assert events == _lines(analytic_ref / "events.jsonl")[:len(events)]  # what was written is right
    assert [json.loads(e) for e in events]
    assert json.loads((tmp_path / "summary.json").read_text())["complete"] is False
    hil = json.loads((tmp_path / "hil.json").read_text())
    assert not hil["complete"] and "stopped answering" in hil["failure"] and hil["link"]["failures"] >= 1


def test_the_bench_stops_its_motor_when_the_host_goes_quiet() -> None:
    """The host dies mid-program: the bench's watchdog stops the motor (REQ-HIL-003)."""
    with BenchEmulator(watchdog_s=0.2) as bench, Link.to_url(bench.path) as link:
        client = BenchClient(link)
        client.hello("host")
        client.config(PlantParams.of(load_scenario("analytic")), 1)
        client.start()
        client.run(1000, 1000)
        time.sleep(0.6)
        assert bench.server.counts.watchdog_stops == 1
        assert bench.server.plant is not None and bench.server.plant.timer.program is None
        assert client.advance(60_000) == 0  # nothing fires any more


def test_unplug_and_replug_mid_run_loses_nothing(analytic_ref: Path, tmp_path: Path) -> None:
    link_path = tmp_path / "bench-tty"
    with spawn("hil", "emulate", "bench", "--link", str(link_path), "--disconnect-at", "0.4",
               "--disconnect-for", "0.4") as bench:
        assert bench.path == str(link_path)
        out = tmp_path / "out"
        r = pumpsim_cli(["hil", "run", "analytic", "--port", bench.path, "--out", str(out)])
    assert r.returncode == 0, r.stderr
    assert _lines(out / "events.jsonl") == _lines(analytic_ref / "events.jsonl")
    link = json.loads((out / "hil.json").read_text())["link"]
    assert link["disconnects"] >= 1 and link["reconnects"] >= 1


def test_ctrl_c_stops_the_motor_and_leaves_valid_files(analytic_ref: Path, tmp_path: Path) -> None:
    with spawn("hil", "emulate", "bench") as bench:
        proc = subprocess.Popen([*PUMPSIM, "hil", "run", "default", "--port", bench.path, "--out", str(tmp_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        events = tmp_path / "events.jsonl"
        deadline = time.monotonic() + 30
        while (not events.exists() or events.stat().st_size < 2000) and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        _status, bench_err = bench.stop()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "motor stopped" in err and "Traceback" not in err
    lines = _lines(events)
    assert lines and all(json.loads(line) for line in lines)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] is False and summary["events"] == len(lines)
    assert json.loads((tmp_path / "hil.json").read_text())["interrupted"] is True
    assert " 0 stops" not in bench_err  # the STOP reached the bench


def _fake_peer(version: int) -> tuple[str, threading.Event]:
    """A pty whose peer answers every request ``ERR VERSION <version>`` (a newer bench)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    done = threading.Event()

    def loop() -> None:
        p = FrameParser()
        while not done.is_set():
            try:
                data = os.read(master, 4096)
            except OSError:
                time.sleep(0.01)
                continue
            for o in p.feed(data):
                if not isinstance(o, Reply):
                    os.write(master, frame(f"{o.seq} ERR VERSION {version}".encode()))
        os.close(master)

    threading.Thread(target=loop, daemon=True).start()
    return path, done


def test_a_bench_of_another_protocol_version_is_exit_2() -> None:
    path, done = _fake_peer(2)
    try:
        r = pumpsim_cli(["hil", "run", "analytic", "--port", path, "--out", "/tmp/never-written-hil"])
    finally:
        done.set()
    assert r.returncode == 2
    assert r.stderr.strip() == f"pumpsim: error: --port {path}: the peer speaks protocol version 2; this is version 1"
    assert not Path("/tmp/never-written-hil/events.jsonl").exists()


@pytest.mark.parametrize(("port", "reason"), [("/dev/ttyNOPE9", "no such device"),
                                              ("/etc/passwd", "not a serial device")])
def test_bad_ports_are_exit_2_with_one_line(port: str, reason: str, tmp_path: Path) -> None:
    for cmd in (["hil", "run", "analytic"], ["hil", "serve", "analytic"]):
        r = pumpsim_cli([*cmd, "--port", port, "--out", str(tmp_path / cmd[1])])
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert r.stderr.startswith(f"pumpsim: error: --port {port}: {reason}")


def test_nothing_answering_is_exit_2() -> None:
    with BenchEmulator(shape=WireShape(silence_at_s=0.0, silence_s=600)) as bench:
        r = pumpsim_cli(["hil", "run", "analytic", "--port", bench.path, "--timeout-ms", "30", "--retries", "1",
                         "--out", "/tmp/never-written-hil"])
    assert r.returncode == 2 and "nothing answered HELLO" in r.stderr and r.stderr.count("\n") == 1


def test_serve_stops_safely_when_the_dut_goes_quiet(tmp_path: Path) -> None:
    sc = load_scenario("analytic")
    with DutEmulator(sc, shape=WireShape(silence_at_s=0.5, silence_s=600)) as dut:
        link = Link.to_url(dut.path)
        session = PlantSession(sc, link, out_dir=tmp_path, idle_s=0.5)
        with link:
            failure = session.wait()
        o = session.finish(failure)
    assert not o.complete and failure is not None and "stopped talking" in failure
    assert json.loads((tmp_path / "summary.json").read_text())["complete"] is False
    assert o.summary is not None and o.summary["strokes"] > 0


def _serve_with_raw_dut(tmp_path: Path) -> tuple[subprocess.Popen[str], Pty]:
    """``pumpsim hil serve analytic`` on a pty whose other end the test drives by hand."""
    pty = Pty()
    serve = subprocess.Popen([*PUMPSIM, "hil", "serve", "analytic", "--port", pty.path, "--out", str(tmp_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert serve.stderr is not None and "waiting for a device under test" in serve.stderr.readline()
    return serve, pty


def test_serve_refuses_a_dut_of_another_protocol_version_with_exit_2(tmp_path: Path) -> None:
    serve, pty = _serve_with_raw_dut(tmp_path)
    try:
        pty.port().write(frame(b"1 HELLO VERSION=2 ROLE=dut"))
        _, err = serve.communicate(timeout=20)
    finally:
        pty.close()
    assert serve.returncode == 2
    assert err.strip().endswith("the device under test speaks protocol version 2; this is version 1")
    assert err.count("pumpsim: error:") == 1 and "Traceback" not in err


def test_serve_interrupted_writes_its_record_marked_incomplete(tmp_path: Path) -> None:
    serve, pty = _serve_with_raw_dut(tmp_path)
    port = pty.port()
    try:
        cfg = {"STROKE_PL": 250000, "CAL_ERROR": 0.0, "STROKE_CV": 0.0, "SEED": 1, "RESERVOIR_NL": 20_000_000,
               "FILL_NL": 20_000_000, "CONC_NG_PER_ML": 500_000, "DEAD_NL": 234_000, "PRIMED": True}
        frames = [request_frame(1, "HELLO", {"VERSION": 1, "ROLE": "dut"}),
                  request_frame(2, "CONFIG", dict(list(cfg.items())[:5])),
                  request_frame(3, "CONFIG", dict(list(cfg.items())[5:])), request_frame(4, "START"),
                  request_frame(5, "RUN", {"N": 10, "PERIOD_MS": 1000}), request_frame(6, "ADVANCE", {"T_MS": 4500})]
        parser, got = FrameParser(), []
        for f in frames:
            port.write(f)
            while not got or got[-1].seq != int(f[1:].split(b" ")[0]):
                got += parser.feed(port.read(4096))
        assert all(isinstance(r, Reply) and r.ok for r in got), got
        serve.send_signal(signal.SIGINT)
        _, err = serve.communicate(timeout=20)
    finally:
        pty.close()
    assert serve.returncode == 130 and "interrupted" in err and "Traceback" not in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] is False and summary["strokes"] == 4
    assert json.loads((tmp_path / "hil.json").read_text())["interrupted"] is True
