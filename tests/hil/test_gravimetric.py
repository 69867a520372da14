"""``pumpsim hil gravimetric``: recording a balance to t_s,mass_g,status and analysing it; faults and bad input.

The end-to-end test runs both commands as a bench would: the emulated balance
(``pumpsim hil emulate balance``, a subprocess on a pty) weighing a pump run
3600 times faster than the wall clock, and the recorder reading it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from hil.instruments.balance import BalanceTimeout, Identity, Reading
from hil.instruments.gravimetric import GravimetricRecorder
from hil.testing import PUMPSIM, pumpsim_cli, spawn
from pumpsim.analysis.series import read_series

pytestmark = [pytest.mark.hil, pytest.mark.timeout(90)]

#: A pump 3 % fast with no stroke scatter at 0.5 mL/day (0.25 uL strokes, one every 43.2 s).
FAST_PUMP = """
name = "fast_pump"
duration = "1 d"
seed = 1
[pump]
stroke_volume = "0.25 uL"
calibration_error = "3 %"
stroke_cv = "0 %"
[drug]
concentration = "500 mcg/mL"
[prescription]
mode = "continuous"
rate = "0.5 mL/day"
"""


def mean_error(out: str) -> float:
    line = next(x for x in out.splitlines() if "mean flow error A" in x)
    return float(line.split("A = ")[1].split()[0])


def test_hand_worked_mean_flow_error_of_a_pump_3_percent_fast(tmp_path: Path) -> None:
    """Expected A = +3.00 %, within +/- 0.5 %.

    Working: the pump fires at the nominal 0.5 mL/day (one stroke per 43.2 s) and each stroke moves
    1.03 x 0.25 uL, so the mean flow is 1.03 x 0.5 mL/day: A = +3 %. The emulator runs it x3600 (a simulated
    hour per wall second), so the rate on the recording's time axis is 0.5 x 3600 = 1800 mL/day and the stroke
    cycle 12 ms; the analysis takes 8 s (8 simulated hours, 667 strokes, 172 mg) from 0.5 s. Tolerance: the
    windows are whole stroke cycles, so stroke quantisation cancels; what remains is when each sample was
    taken versus when the emulator weighed (half a round trip, ms on a loaded machine: 20 ms is 0.25 % of 8 s)
    and the noise (0.015 mg against 172 mg).
    """
    scenario = tmp_path / "fast_pump.toml"
    scenario.write_text(FAST_PUMP)
    with spawn("hil", "emulate", "balance", str(scenario), "--speed", "3600", "--settling", "0 s") as emu:
        r = pumpsim_cli(["hil", "gravimetric", "--balance", emu.path, "--interval", "0.02 s", "--duration", "8.6 s",
                         "--rate", "1800 mL/day", "--stroke-volume", "0.25 uL", "--start", "0.5 s", "--length", "8 s",
                         "--analysis-interval", "0.1 s", "--windows", "0.2 s,1 s,2 s", "--out", str(tmp_path / "g")])
    assert r.returncode == 0, r.stderr
    assert mean_error(r.stdout) == pytest.approx(3.0, abs=0.5)
    assert "without an answer (0 timeouts" in r.stdout
    series = read_series(tmp_path / "g" / "gravimetric.csv")
    assert series.is_mass and series.not_weights == 0 and len(series.t_s) > 300
    meta = json.loads((tmp_path / "g" / "gravimetric.json").read_text())
    assert meta["complete"] and meta["identity"]["serial"] == "1000000001"
    acc = json.loads((tmp_path / "g" / "accuracy.json").read_text())
    assert acc["mean_error_pct"] == pytest.approx(3.0, abs=0.5)


def test_garbage_is_counted_marked_and_the_run_goes_on(tmp_path: Path) -> None:
    with spawn("hil", "emulate", "balance", "--vessel", "1 g", "--garbage-at", "0.4", "--garbage-for", "0.25") as emu:
        r = pumpsim_cli(["hil", "gravimetric", "--balance", emu.path, "--interval", "0.05 s", "--duration", "1.5 s",
                         "--max-missed", "20", "--start", "0 s", "--length", "1.4 s", "--analysis-interval", "0.5 s",
                         "--windows", "0.5 s,1 s", "--out", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    rows = (tmp_path / "gravimetric.csv").read_text().splitlines()
    junk = [x for x in rows if x.endswith(",garbage")]
    assert 3 <= len(junk) <= 8 and all(x.split(",")[1] == "" for x in junk)
    assert "garbage" in r.stderr  # logged, one line per sample
    assert f"{len(junk)} garbage" in r.stdout
    assert read_series(tmp_path / "gravimetric.csv").not_weights == len(junk)


def test_a_balance_that_stops_answering_ends_the_run_with_exit_1(tmp_path: Path) -> None:
    with spawn("hil", "emulate", "balance", "--silence-at", "0.5", "--silence-for", "1000") as emu:
        r = pumpsim_cli(["hil", "gravimetric", "--balance", emu.path, "--interval", "0.05 s", "--duration", "60 s",
                         "--timeout-ms", "100", "--max-missed", "3", "--start", "0 s", "--length", "10 s",
                         "--analysis-interval", "1 s", "--windows", "1 s", "--out", str(tmp_path)])
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("pumpsim hil gravimetric: error: no answer from the balance 3 samples in a row")
    assert "gravimetric.csv" in last
    rows = (tmp_path / "gravimetric.csv").read_text().splitlines()
    assert [x.split(",")[2] for x in rows[-3:]] == ["timeout"] * 3
    series = read_series(tmp_path / "gravimetric.csv")  # valid, what was recorded before
    assert len(series.t_s) >= 5 and series.not_weights == 3


def test_ctrl_c_keeps_a_valid_csv(tmp_path: Path) -> None:
    with spawn("hil", "emulate", "balance", "--vessel", "2 g") as emu:
        proc = subprocess.Popen([*PUMPSIM, "hil", "gravimetric", "--balance", emu.path, "--interval", "0.02 s",
                                 "--duration", "60 s", "--rate", "1 mL/day", "--start", "0 s", "--length", "1 s",
                                 "--analysis-interval", "0.5 s", "--windows", "0.5 s", "--out", str(tmp_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        csv = tmp_path / "gravimetric.csv"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not csv.exists() or csv.read_text().count("\n") < 80):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err
    series = read_series(csv)
    assert len(series.t_s) >= 70 and series.values.min() == pytest.approx(2.0, abs=1e-4)
    assert "mean flow Q" in out, err  # what was recorded (over a second) was analysed


@pytest.mark.parametrize(("args", "message"), [
    (["--balance", "/dev/nonexistent-balance"], "--balance /dev/nonexistent-balance: no such device"),
    (["--balance", "loop://", "--interval", "0 s"], "--interval '0 s': expected a duration of at least 10 ms"),
    (["--balance", "loop://", "--duration", "1 h"], "--duration '1 h': shorter than the analysis needs"),
    (["--balance", "loop://", "--interval", "10 min"], "--interval '10 min': longer than the analysis interval"),
    (["--balance", "loop://", "--analysis-interval", "0 s"], "--analysis-interval '0 s': expected a duration above 0"),
    (["--balance", "loop://", "--rate", "fast"], "--rate 'fast': expected"),
    (["--balance", "loop://", "--max-missed", "0"], "--max-missed 0: expected 1 or more"),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    r = pumpsim_cli(["hil", "gravimetric", *args, "--out", str(tmp_path / "o")])
    assert r.returncode == 2 and r.stderr.startswith(f"pumpsim: error: {message}"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_nothing_mt_sics_on_the_port_is_exit_2(tmp_path: Path) -> None:
    """loop:// echoes the commands back: 'I1' is not a reply (no status), so this is not a balance."""
    r = pumpsim_cli(["hil", "gravimetric", "--balance", "loop://", "--timeout-ms", "200", "--out", str(tmp_path)])
    assert r.returncode == 2 and "not an MT-SICS balance answering there" in r.stderr, r.stderr
    assert not (tmp_path / "gravimetric.csv").exists()


def test_emulator_bad_options(tmp_path: Path) -> None:
    for args, message in ((["--readability", "0 mg"], "--readability '0 mg': expected > 0"),
                          (["--speed", "0"], "--speed 0: expected a factor above 0"),
                          (["--days", "1"], "--days 1: needs a SCENARIO"),
                          (["--density", "5 g/mL"], "--density '5 g/mL': expected a density from 0.5 to 2 g/mL"),
                          (["--settling", "soon"], "--settling 'soon': expected a duration")):
        r = pumpsim_cli(["hil", "emulate", "balance", *args])
        assert r.returncode == 2 and message in r.stderr and not r.stdout, (args, r.stderr)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("t_s,mass_g,status", "time,mass_g,status"), "no t_s column"),
    (lambda t: t.replace("t_s,mass_g,status", "t_s,weight,status"), "no mass_g"),
    (lambda t: "", "the file is empty"),
    (lambda t: t.replace("\n1.000,", "\n0.000,", 1), "is not after the previous row's"),
])
def test_a_damaged_recording_is_refused_by_the_analysis(tmp_path: Path, edit: object, message: str) -> None:
    """A recording edited by hand (missing columns, time going backwards, emptied) is one line and exit 2."""
    text = "# balance\nt_s,mass_g,status\n0.000,1.00000,S\n1.000,1.00010,S\n2.000,1.00020,D\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(edit(text))  # type: ignore[operator]
    r = pumpsim_cli(["trumpet", str(bad), "--start", "0 s", "--length", "2 s", "--interval", "1 s",
                     "--windows", "1 s", "--out", str(tmp_path / "o")])
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


# ---------------------------------------------------------------- the recorder with a fake balance and clock


class FakeBalance:
    """Answers from a list: a Reading, or an exception to raise; counts reopen calls."""

    def __init__(self, answers: list[Reading | Exception]) -> None:
        self.answers = answers
        self.reopened = 0

    def read(self, *, stable: bool = False) -> Reading:
        a = self.answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    def identity(self) -> Identity:
        raise NotImplementedError

    def reopen(self) -> None:
        self.reopened += 1

    def close(self) -> None:
        pass


def weight(status: str, text: str, unit: str = "g") -> Reading:
    return Reading(status, float(text), unit, text, "SI", f"S {status} {text} {unit}")


def test_the_recorder_keeps_to_its_grid_and_marks_every_status(tmp_path: Path) -> None:
    """Slots every 10 s for 50 s: 6 samples at t = 0, 10, ..., 50 on a fake clock that only moves when waited on;
    the statuses come out as the balance gave them, the mg reading in grams."""
    now = [0.0]
    answers: list[Reading | Exception] = [
        weight("S", "1.00000"), weight("D", "1.00100"), Reading("+", None, None, None, "SI", "S +"),
        Reading("-", None, None, None, "SI", "S -"), Reading("I", None, None, None, "SI", "S I"),
        weight("S", "1002.00", "mg")]
    rec = GravimetricRecorder(FakeBalance(answers), tmp_path / "g.csv", interval_s=10, duration_s=50,
                              clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    out = rec.run()
    assert out.complete and not out.interrupted and out.failure is None
    rows = (tmp_path / "g.csv").read_text().splitlines()
    assert rows == ["t_s,mass_g,status", "0.000,1.00000,S", "10.000,1.00100,D", "20.000,,+", "30.000,,-",
                    "40.000,,I", "50.000,1.002,S"]
    c = out.counts
    assert (c.samples, c.stable, c.dynamic, c.overload, c.underload, c.busy) == (6, 2, 1, 1, 1, 1)


def test_the_recorder_skips_overrun_slots_and_stops_after_max_missed(tmp_path: Path) -> None:
    now = [0.0]

    def slow_timeout() -> Exception:
        now[0] += 25.0  # a reply that never came took 25 s: two 10-s slots overrun
        return BalanceTimeout("bal: no reply")

    answers: list[Reading | Exception] = [weight("S", "1.0"), slow_timeout(), weight("S", "1.1")]
    rec = GravimetricRecorder(FakeBalance(answers), tmp_path / "g.csv", interval_s=10, duration_s=100,
                              max_missed=1, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    out = rec.run()
    assert out.failure is not None and "1 samples in a row" in out.failure and not out.complete
    assert (tmp_path / "g.csv").read_text().splitlines()[-1].endswith(",timeout")
