"""pumpsim's pytest plugin: registered, cheap to load, and the same test file on emulators and on "hardware".

"Hardware" here is an emulator in this process whose pty is given to an inner
pytest run with ``--hil-port``, exactly as a bench team gives ``/dev/ttyUSB0``:
the inner run then starts no emulator of its own for that role, and skips the
tests for the other role and those that inspect an emulator.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pumpsim
from hil import BenchEmulator, DutEmulator

pytestmark = [pytest.mark.hil, pytest.mark.timeout(240)]
EXAMPLE = Path(__file__).with_name("test_bench_example.py")
ROOT = Path(__file__).resolve().parents[2]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", str(EXAMPLE), "-p", "no:cacheprovider", "-q", *args],
                          capture_output=True, text=True, timeout=200, cwd=ROOT)


def _counts(out: str) -> dict[str, int]:
    """{"passed": n, "skipped": n, ...} from pytest's closing line."""
    last = [line for line in out.splitlines() if re.search(r"\d+ (passed|failed|skipped)", line)][-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error|errors)", last)}


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = ("import sys, hil.pytest_plugin; "
            "print(sorted(m for m in ('numpy', 'serial', 'simpy', 'openhtf', 'pumpsim', 'hil.link') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert r.stdout.strip() == "[]"


def test_the_plugin_is_registered_through_its_entry_point() -> None:
    from importlib.metadata import entry_points

    assert [ep.value for ep in entry_points(group="pytest11") if ep.name == "pumpsim_hil"] == ["hil.pytest_plugin"]


def test_the_example_file_runs_against_a_bench_given_by_port_and_logs_its_frames(tmp_path: Path) -> None:
    """Role 1 on "hardware": the bench tests pass on it; the DUT test and the emulator test are skipped."""
    with BenchEmulator() as bench:
        r = _pytest("--hil-port", bench.path, "--hil-log-dir", str(tmp_path), "-rs")
        sessions = bench.server.counts.sessions
    assert r.returncode == 0, r.stdout + r.stderr
    assert _counts(r.stdout) == {"passed": 4, "skipped": 2}
    assert "needs a device under test" in r.stdout and "inspects the in-process bench emulator" in r.stdout
    assert sessions >= 4  # the tests talked to our bench, not to emulators of their own
    frames = list(tmp_path.glob("*fires_the_strokes*/frames.txt"))  # pyserial's spy:// hex dump, both ways
    assert len(frames) == 1 and frames[0].stat().st_size > 0


def test_the_example_file_runs_against_a_device_under_test_given_by_port(tmp_path: Path) -> None:
    """Role 2 on "hardware": the DUT test passes against it; the bench tests are skipped."""
    with DutEmulator(pumpsim.load_scenario("analytic"), out_dir=tmp_path / "dut") as dut:
        r = _pytest("--hil-port", dut.path, "--hil-role", "dut")
        dut.done.wait(30)
        outcome = dut.outcome
    assert r.returncode == 0, r.stdout + r.stderr
    assert _counts(r.stdout) == {"passed": 1, "skipped": 5}
    assert outcome is not None and outcome.complete


def test_the_example_file_runs_on_subprocess_emulators() -> None:
    r = _pytest("--hil-emulator", "subprocess", "-k", "fires_the_strokes or device_under_test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert _counts(r.stdout) == {"passed": 2}


def test_a_bad_option_is_a_usage_error() -> None:
    r = _pytest("--hil-instrument", "balance", "--collect-only")
    assert r.returncode == 4 and "--hil-instrument balance: expected NAME=URL" in r.stdout + r.stderr


_FAILING = '''
import time
import pytest


def test_fails(hil_bench):
    hil_bench.run(1000, 1000)
    assert False, "a bench test that fails with the motor programmed"


@pytest.mark.timeout(2)
def test_hangs(hil_bench):
    time.sleep(30)
'''


def _emulators_alive(mark: str) -> list[int]:
    """Processes whose environment carries *mark* (the emulators a test's inner pytest run started)."""
    alive = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"PUMPSIM_TEST_MARK={mark}".encode() in env.read_bytes():
                alive.append(int(env.parent.name))
        except OSError:
            continue
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("method", ["signal", "thread"])
def test_subprocess_emulators_are_gone_after_a_failure_and_a_timeout(method: str, tmp_path: Path) -> None:
    """signal: pytest-timeout raises in the test, the fixture stops the emulator; thread: pytest-timeout ends the
    whole process at once, and the emulator goes with it (PR_SET_PDEATHSIG)."""
    import os
    import uuid

    mark = uuid.uuid4().hex
    test_file = tmp_path / "test_failing_bench.py"
    test_file.write_text(_FAILING)
    r = subprocess.run([sys.executable, "-m", "pytest", str(test_file), "-p", "no:cacheprovider", "-q",
                        "--hil-emulator", "subprocess", "-o", f"timeout_method={method}"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path,
                       env={**os.environ, "PUMPSIM_TEST_MARK": mark})
    assert r.returncode != 0
    deadline = time.monotonic() + 10
    while _emulators_alive(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _emulators_alive(mark) == []
