"""Real time: the run follows the wall clock at --speed, measures its lateness, and says when it falls behind."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.testing import Spawned, pumpsim_cli, spawn

pytestmark = [pytest.mark.hil, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def bench() -> Iterator[Spawned]:
    with spawn("hil", "emulate", "bench") as b:
        yield b


def test_a_realtime_run_takes_its_time_and_writes_the_virtual_runs_events(bench: Spawned, tmp_path: Path) -> None:
    """0.05 days (4,320 s) at speed 2,000 take 2.16 s of wall time; the events are those of the virtual run."""
    virtual, real = tmp_path / "virtual", tmp_path / "real"
    common = ["concentration_change", "--port", bench.path, "--days", "0.05"]
    assert pumpsim_cli(["hil", "run", *common, "--out", str(virtual)]).returncode == 0
    t = time.monotonic()
    r = pumpsim_cli(["hil", "run", *common, "--clock", "realtime", "--speed", "2000", "--out", str(real)])
    wall = time.monotonic() - t
    assert r.returncode == 0, r.stderr
    assert wall >= 2.16
    assert (real / "events.jsonl").read_bytes() == (virtual / "events.jsonl").read_bytes()
    hil = json.loads((real / "hil.json").read_text())
    assert hil["clock"] == "realtime" and hil["speed"] == 2000
    late = hil["lateness"]
    assert late["samples"] >= 8  # a stop at least every 0.25 s of wall time
    assert late["p50_ms"] is not None and 0 <= late["p50_ms"] <= late["p99_ms"] <= late["max_ms"]
    assert "lateness p50" in r.stdout


def test_a_run_that_cannot_keep_up_says_so(bench: Spawned, tmp_path: Path) -> None:
    """20 days in 1.7 ms (a billion times real time) with a 2 ms limit: behind, on stderr and in hil.json."""
    r = pumpsim_cli(["hil", "run", "analytic", "--port", bench.path, "--days", "20", "--clock", "realtime",
                     "--speed", "1e9", "--behind-ms", "2", "--out", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    assert "falling behind real time at day" in r.stderr
    late = json.loads((tmp_path / "hil.json").read_text())["lateness"]
    assert late["late_stops"] > 0 and late["behind_episodes"] >= 1 and late["max_ms"] > 2


def test_bad_clock_options_are_exit_2(bench: Spawned) -> None:
    for opts, what in ((["--speed", "0"], "--speed 0"), (["--clock", "sundial"], "--clock"),
                       (["--behind-ms", "-1"], "--behind-ms -1")):
        r = pumpsim_cli(["hil", "run", "analytic", "--port", bench.path, *opts])
        assert r.returncode == 2 and what in r.stderr and r.stderr.count("\n") == 1, r.stderr
