"""Bench runs as OpenHTF phases: limits, records, teardown after failure, error, timeout, Ctrl-C and kill.

The bench is an in-process :class:`hil.BenchEmulator` that keeps what it
acted on, so each test can check what reached the bench (STOP, SILENCE, END
after the phases, whatever happened to them).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

htf = pytest.importorskip("openhtf")

import pumpsim  # noqa: E402
from hil import BenchEmulator  # noqa: E402
from hil.bench import BenchPlug, Limits, Station, junit_xml, run_bench  # noqa: E402
from hil.bench.record import summary_lines  # noqa: E402
from hil.testing import PUMPSIM  # noqa: E402

pytestmark = [pytest.mark.hil, pytest.mark.timeout(120)]
DOC = Path(__file__).resolve().parents[2] / "docs" / "hil-bench.md"


@pytest.fixture
def bench() -> Iterator[BenchEmulator]:
    with BenchEmulator(keep_acted=True) as b:
        yield b


def _station(tmp_path: Path, name: str = "analytic", **kw: Any) -> Station:
    return Station(pumpsim.load_scenario(name), out_dir=tmp_path, **kw)


#: What the bench does, as against what it is asked to tell (TIME, STATE, COUNT, ...).
_MOTION = {"START", "PROG", "ROW", "RUN", "STOP", "TONE", "SILENCE", "FAULT", "ADVANCE", "END"}


def _left_safe(bench: BenchEmulator, *, stopped_by_teardown: bool = True) -> None:
    """The session ended, no motor program left; after an interrupted session, teardown's STOP, SILENCE, END."""
    acted = [a.split()[0] for a in bench.server.counts.acted if a.split()[0] in _MOTION]
    assert acted[-1] == "END", acted[-6:]
    if stopped_by_teardown:
        assert acted[-3:] == ["STOP", "SILENCE", "END"], acted[-6:]
    assert bench.server.state == "ended"
    assert bench.server.plant is not None and bench.server.plant.timer.program is None


def test_a_full_run_passes_on_the_emulated_bench_and_writes_its_records(bench: BenchEmulator, tmp_path: Path) -> None:
    """analytic: 936 priming strokes (ceil(234 uL / 0.25 uL)); deliver 80,000 strokes = 20 mL as pumpsim run."""
    o = run_bench(_station(tmp_path), {"bench": bench.path})
    assert o.outcome == "PASS", summary_lines(o.record)
    assert o.exit_status == 0
    assert [p["name"] for p in o.record["phases"]] == ["connect", "self_test", "prime", "deliver", "alarm_check",
                                                       "teardown"]
    assert o.measured("prime", "prime_strokes") == 936
    assert o.measured("prime", "prime_volume_ul") == pytest.approx(234.0)
    assert o.measured("deliver", "strokes") == 80_000
    assert o.measured("deliver", "delivered_ml") == pytest.approx(20.0)
    assert o.measured("alarm_check", "alarm_time_error_h") == 0
    rec = json.loads((tmp_path / "record.json").read_text())
    assert rec["outcome"] == "PASS" and "status" not in rec  # the final record, not the journal's
    limits = rec["phases"][3]["measurements"]["strokes"]["validators"]
    assert limits == ["79200 <= x <= 80800"]  # 80,000 +- 1 %: the numbers the run was held to
    assert rec["metadata"]["scenario"] == "analytic" and rec["metadata"]["limits"]["prime_strokes"] == 936
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "6" and suite.get("failures") == "0"
    assert (tmp_path / "deliver" / "summary.json").exists() and (tmp_path / "deliver" / "hil.json").exists()
    _left_safe(bench, stopped_by_teardown=False)  # the deliver session ended itself (END stops the motor)


def test_a_measurement_outside_its_limit_fails_the_phase_and_names_value_and_limit(
        bench: BenchEmulator, tmp_path: Path) -> None:
    """The emulated battery reads 3200 mV (a new cell); a 3000 mV maximum fails self_test, the rest goes on."""
    o = run_bench(_station(tmp_path), {"bench": bench.path}, ["connect", "self_test", "prime"],
                  limits=Limits(battery_max_mv=3000))
    assert o.outcome == "FAIL" and o.exit_status == 1
    assert o.phase("self_test")["outcome"] == "FAIL" and o.phase("prime")["outcome"] == "PASS"
    case = ET.parse(tmp_path / "junit.xml").getroot().find(".//testcase[@name='self_test']/failure")
    assert case is not None
    assert case.get("message") == "battery_mv = 3200 mV [2600.0 <= x <= 3000.0] FAIL"
    _left_safe(bench)


@htf.plug(bench=BenchPlug)
def _motor_then_error(test: Any, bench: BenchPlug) -> None:
    bench.start_plant()
    bench.safe = False
    bench.client.run(1000, 1000)
    raise RuntimeError("the phase broke with the motor running")


@htf.PhaseOptions(timeout_s=0.5)
@htf.plug(bench=BenchPlug)
def _motor_then_hang(test: Any, bench: BenchPlug) -> None:
    bench.start_plant()
    bench.safe = False
    bench.client.run(1000, 1000)
    for _ in range(100):
        time.sleep(0.05)


@pytest.mark.parametrize(("phase", "outcome"), [(_motor_then_error, "ERROR"), (_motor_then_hang, "TIMEOUT")])
def test_teardown_leaves_the_bench_safe_after_an_error_or_a_timeout(
        phase: Any, outcome: str, bench: BenchEmulator, tmp_path: Path) -> None:
    o = run_bench(_station(tmp_path), {"bench": bench.path}, ["connect", phase, "prime"])
    assert o.outcome == outcome and o.exit_status == 1
    assert [p["name"] for p in o.record["phases"]] == ["connect", phase.name, "teardown"]  # prime never ran
    assert o.phase("teardown")["outcome"] == "PASS"
    _left_safe(bench)
    run = ET.parse(tmp_path / "junit.xml").getroot().find(f".//testcase[@name='{phase.name}']/error")
    assert run is not None


def _wait_for_phase(record: Path, name: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if record.exists():
            rec: dict[str, Any] = json.loads(record.read_text())  # always whole: written atomically
            if rec.get("running_phase") == name:
                return rec
        time.sleep(0.05)
    raise AssertionError(f"phase {name} never started")


def _bench_cli(port: str, out: Path, *extra: str) -> subprocess.Popen[str]:
    # deliver in real time at 1 simulated day per second: 45 days take 45 s, so it is mid-phase when stopped.
    return subprocess.Popen([*PUMPSIM, "hil", "bench", "analytic", "--port", port, "--out", str(out),
                             "--phases", "connect,deliver", "--clock", "realtime", "--speed", "86400", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_mid_phase_runs_teardown_and_writes_the_record(
        sig: signal.Signals, bench: BenchEmulator, tmp_path: Path) -> None:
    proc = _bench_cli(bench.path, tmp_path)
    running = _wait_for_phase(tmp_path / "record.json", "deliver")
    assert running["outcome"] is None and running["status"] == "RUNNING"
    time.sleep(1.0)  # the firmware is driving the motor
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted; teardown ran" in err
    rec = json.loads((tmp_path / "record.json").read_text())
    assert rec["outcome"] == "ABORTED"
    assert rec["phases"][-1]["name"] == "teardown" and rec["phases"][-1]["outcome"] == "PASS"
    _left_safe(bench)
    assert ET.parse(tmp_path / "junit.xml").getroot().get("errors") != "0"


def test_a_run_killed_outright_leaves_a_valid_record_and_the_bench_watchdog_stops_the_motor(
        tmp_path: Path) -> None:
    with BenchEmulator(keep_acted=True, watchdog_s=0.5) as bench:
        proc = _bench_cli(bench.path, tmp_path)
        _wait_for_phase(tmp_path / "record.json", "deliver")
        time.sleep(1.0)
        proc.kill()
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while bench.server.counts.watchdog_stops == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bench.server.counts.watchdog_stops == 1  # REQ-HIL-003
        assert bench.server.plant is not None and bench.server.plant.timer.program is None
    rec = json.loads((tmp_path / "record.json").read_text())
    assert rec["outcome"] is None and rec["status"] == "RUNNING" and rec["running_phase"] == "deliver"
    assert [p["name"] for p in rec["phases"]] == ["connect"] and rec["phases"][0]["outcome"] == "PASS"


def test_the_worked_example_of_the_docs_runs_as_written(bench: BenchEmulator, tmp_path: Path) -> None:
    """docs/hil-bench.md, "Adding a phase": the file as printed there, run by path from the command line."""
    code = re.search(r"```python\n(# my_phases\.py.*?)```", DOC.read_text(), re.S)
    assert code is not None
    (tmp_path / "my_phases.py").write_text(code.group(1))
    r = subprocess.run([*PUMPSIM, "hil", "bench", "analytic", "--port", bench.path, "--out", str(tmp_path / "out"),
                        "--phases", f"connect,self_test,{tmp_path / 'my_phases.py'}:stroke_pacing"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "strokes_at_half_time = 30 [29 <= x <= 31] PASS" in r.stdout
    rec = json.loads((tmp_path / "out" / "record.json").read_text())
    assert [p["name"] for p in rec["phases"]] == ["connect", "self_test", "stroke_pacing", "teardown"]
    assert rec["phases"][2]["measurements"]["pumped_ul"]["measured_value"] == pytest.approx(15.0)


def test_a_real_time_deliver_measures_its_lateness(bench: BenchEmulator, tmp_path: Path) -> None:
    """One analytic day at 86,400x (one second): 2,000 strokes; the real-time run adds lateness_p99_ms."""
    from pumpsim.units import MS_PER_DAY

    o = run_bench(_station(tmp_path, clock="realtime", speed=86_400.0, deliver_ms=MS_PER_DAY), {"bench": bench.path},
                  ["deliver", "alarm_check"])
    assert o.outcome == "PASS", summary_lines(o.record)
    assert o.measured("deliver", "strokes") == 2_000
    lateness = o.phase("deliver")["measurements"]["lateness_p99_ms"]
    assert lateness["outcome"] == "PASS" and list(lateness["validators"]) == ["x <= 50.0"]


@pytest.mark.parametrize(("args", "message"), [
    (["--phases", "connect,nope"], "--phases nope: no such phase"),
    (["--phases", "connect,no_such_module:phase"], "--phases no_such_module:phase: cannot load it"),
    (["--limit", "rtt_max=3"], "--limit rtt_max: not a limit"),
    (["--limit", "battery_min_mv=lots"], "--limit battery_min_mv = 'lots': expected a number in mV"),
    (["--instrument", "balance"], "--instrument balance: expected KEY=VALUE"),
    (["--setting", "unit"], "--setting unit: expected KEY=VALUE"),
    (["--speed", "0"], "--speed 0: expected a factor above 0"),
])
def test_bad_input_is_one_line_and_exit_status_2(args: list[str], message: str, bench: BenchEmulator,
                                                 tmp_path: Path) -> None:
    r = subprocess.run([*PUMPSIM, "hil", "bench", "analytic", "--port", bench.path, "--out", str(tmp_path), *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith(f"pumpsim: error: {message}"), r.stderr
    assert r.stderr.count("\n") == 1
    assert not (tmp_path / "record.json").exists()


def test_a_missing_port_is_exit_status_2(tmp_path: Path) -> None:
    r = subprocess.run([*PUMPSIM, "hil", "bench", "analytic", "--port", str(tmp_path / "ttyNONE")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no such device" in r.stderr


class _Balance(BenchPlug):
    instrument = "balance"


@htf.plug(balance=_Balance)
def _weigh(test: Any, balance: _Balance) -> None:
    pass


def test_an_instrument_without_a_port_is_named(bench: BenchEmulator, tmp_path: Path) -> None:
    from hil.bench import BenchSetupError

    with pytest.raises(BenchSetupError, match=r"the balance \(_Balance\): give its port \(--instrument balance=URL"):
        run_bench(_station(tmp_path), {"bench": bench.path}, ["connect", _weigh])


def test_limits_refuse_what_is_not_a_limit() -> None:
    with pytest.raises(ValueError, match="battery_min_mv = 3300: expected <= battery_max_mv = 3200"):
        Limits(battery_min_mv=3300)
    with pytest.raises(ValueError, match=r"volume_tolerance = -0.1: expected a number >= 0"):
        Limits(volume_tolerance=-0.1)
    assert Limits().overridden({"prime_period_ms": "250"}).prime_period_ms == 250


def test_junit_of_an_unfinished_record_is_an_error() -> None:
    """A journal record (the run was killed) has no outcome: JUnit shows an INCOMPLETE error, not a pass."""
    rec = {"outcome": None, "metadata": {"test_name": "t"}, "phases": [
        {"name": "connect", "outcome": "PASS", "measurements": {"x": {"outcome": "PASS", "measured_value": 1}}}]}
    root = ET.fromstring(junit_xml(rec).split("\n", 1)[1])
    assert root.get("tests") == "2" and root.get("errors") == "1"
    err = root.find(".//testcase[@name='(run)']/error")
    assert err is not None and err.get("type") == "INCOMPLETE"


def test_the_generated_tables_of_the_bench_doc_are_fresh() -> None:
    from hil.bench.docgen import main

    assert main(["--check"]) == 0, "run: python -m hil.bench.docgen (or ./dev docs)"


def test_the_record_is_strict_json_even_with_nothing_measured(tmp_path: Path) -> None:
    """A round trip never measured is NaN in memory; record.json says "nan" (other JSON readers refuse NaN)."""
    from hil.bench.record import write_record

    write_record(tmp_path / "r.json", {"rtt_p99_ms": float("nan"), "limits": (1, 2)})

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in record.json")

    assert json.loads((tmp_path / "r.json").read_text(), parse_constant=refuse) == {"rtt_p99_ms": "nan",
                                                                                     "limits": [1, 2]}
