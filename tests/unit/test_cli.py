"""The command line: outputs, exit codes, messages without tracebacks, interrupted runs."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pumpsim.cli import main

PUMPSIM = [sys.executable, "-m", "pumpsim"]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMPSIM, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_run_writes_the_three_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pumpsim run analytic --out DIR` prints a summary and writes summary.json, events.jsonl, trace.csv."""
    out = tmp_path / "run"
    assert main(["run", "analytic", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "low_reservoir" in printed and "day 36.000" in printed
    summary = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "seed", "duration_s", "strokes", "pumped_ml", "delivered_ml", "delivered_mg",
                "reservoir_actual_ml", "reservoir_estimated_ml", "alarms", "dry_t_s"):
        assert key in summary
    assert summary["complete"] is True and summary["strokes"] == 80_000
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert {"alarm", "tone", "dry"} <= {e["kind"] for e in events}
    assert all("t_s" in e and "kind" in e for e in events)
    rows = list(csv.DictReader((out / "trace.csv").open()))
    assert float(rows[-1]["t_s"]) == 45 * 86400
    assert (out / "scenario.toml").read_text().startswith("# Continuous")


def test_days_and_seed_override(tmp_path: Path) -> None:
    """--days shortens the run; --seed is recorded."""
    assert main(["run", "analytic", "--days", "2", "--seed", "9", "--out", str(tmp_path / "r"), "--quiet"]) == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["duration_s"] == 2 * 86400 and s["seed"] == 9 and s["strokes"] == 4000


def test_existing_output_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second run into the same --out refuses (exit 2) and leaves the first run's files intact."""
    out = tmp_path / "r"
    assert main(["run", "analytic", "--days", "1", "--out", str(out), "--quiet"]) == 0
    before = (out / "summary.json").read_bytes()
    assert main(["run", "analytic", "--days", "2", "--out", str(out), "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "summary.json").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('name="x"\nduration="1 d"\n[drug]\nconcentration="500 mcg/mL"\n[pump]\nfill="500 mg/day"\n'
         '[prescription]\ndose="250 mcg/day"\n', '[pump] fill = "500 mg/day": expected a volume'),
        ('duration="1 d"\n[drug]\nconcentration="500 mcg/mL"\n[prescription]\ndose="250 mcg/day"\ncolour="red"\n',
         "[prescription] colour"),
        ("this is not toml", "valid TOML"),
    ],
)
def test_bad_scenarios_exit_2_without_traceback(tmp_path: Path, content: str, fragment: str) -> None:
    """validate and run print one clear line on stderr and exit 2; no traceback, no output folder."""
    f = tmp_path / "bad.toml"
    f.write_text(content)
    for args in (["validate", str(f)], ["run", str(f), "--out", str(tmp_path / "o")]):
        p = _run(*args)
        assert p.returncode == 2, p.stderr
        assert fragment in p.stderr
        assert "Traceback" not in p.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "missing.toml"], "no such file"),
        (["run", "analytic", "--days", "-3"], "--days -3"),
        (["run", "analytic", "--seed", "-1"], "--seed -1"),
        (["scenarios", "show", "nope"], "no built-in scenario"),
        (["validate", "."], "directory"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    """Bad command-line values give exit 2 and a message naming the value."""
    p = _run(*args, cwd=tmp_path)
    assert p.returncode == 2
    assert fragment in p.stderr and "Traceback" not in p.stderr


def test_scenarios_list_and_show_roundtrip(tmp_path: Path) -> None:
    """`scenarios` lists built-ins; `scenarios show NAME` prints TOML that validates as a file."""
    p = _run("scenarios")
    assert p.returncode == 0 and p.stdout.splitlines()[0].startswith("default")
    shown = _run("scenarios", "show", "default")
    f = tmp_path / "copy.toml"
    f.write_text(shown.stdout)
    v = _run("validate", str(f))
    assert v.returncode == 0 and "OK" in v.stdout and "11 visits" in v.stdout  # 10 planned refills + 1 dose change


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT")
def test_ctrl_c_leaves_readable_partial_outputs(tmp_path: Path) -> None:
    """SIGINT during a long run: exit 130, summary.json says complete=false, trace rows so far parse."""
    out = tmp_path / "r"
    proc = subprocess.Popen([*PUMPSIM, "run", "default", "--exact", "--days", "3000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until some trace batches are on disk
        trace = out / "trace.csv"
        if trace.exists() and trace.stat().st_size > 300_000:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    s = json.loads((out / "summary.json").read_text())
    assert s["complete"] is False and 0 < s["simulated_s"] < 3000 * 86400
    rows = list(csv.DictReader((out / "trace.csv").open()))
    assert len(rows) > 1000 and all(len(r) == len(rows[0]) for r in rows)
    assert float(rows[-1]["t_s"]) <= s["simulated_s"]  # no row beyond what the summary covers
    for line in (out / "events.jsonl").read_text().splitlines():
        json.loads(line)
    info = json.loads((out / "run.json").read_text())
    assert info["mode"] == "exact" and "wall_s" not in s


def test_days_beyond_the_scenario_keeps_refilling(tmp_path: Path) -> None:
    """--days 400 on the 365-day default keeps the 35-day refill plan going: it never runs dry."""
    assert main(["run", "default", "--days", "400", "--out", str(tmp_path / "r"), "--quiet"]) == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["dry_t_s"] is None and s["visits"] == 400 // 35 + 1


def test_unwritable_out_and_odd_names_are_clean_errors(tmp_path: Path) -> None:
    """--out under a regular file exits 2 with a message; a name with a slash stays under runs/."""
    p = _run("run", "analytic", "--days", "1", "--out", "/etc/passwd/x")
    assert p.returncode == 2 and "cannot write there" in p.stderr and "Traceback" not in p.stderr
    f = tmp_path / "s.toml"
    f.write_text(pumpsim_text().replace('name = "analytic"', 'name = "../../evil/name"'))
    p = _run("run", str(f), "--days", "1", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = Path(p.stdout.strip())
    assert out.parts[0] == "runs" and (tmp_path / out / "summary.json").exists()


def pumpsim_text() -> str:
    from pumpsim.scenario import builtin_text

    return builtin_text("analytic")


def test_interrupted_summary_counts_exactly_the_events_written() -> None:
    """Ctrl-C inside one wake-up's batch of log records: the summary counts the events the sink got."""
    import pumpsim
    from pumpsim.results import MemorySink

    class StopAt(MemorySink):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n

        def event(self, ev: dict[str, object]) -> None:
            if len(self.events) == self.n:
                raise KeyboardInterrupt
            super().event(ev)

    sc = pumpsim.load_scenario("concentration_change")
    for n in (0, 1, 5):  # boot writes three records at t = 0: stop before, inside and after that batch
        sink = StopAt(n)
        with pytest.raises(KeyboardInterrupt):
            pumpsim.simulate(sc, sink=sink)
        assert sink.summary is not None and sink.summary["complete"] is False
        assert sink.summary["events"] == len(sink.events) == n


# ------------------------------------------------------------------ what a new user hit (issue 8)

LONG = """name = "long"
duration = "10950 d"
trace_interval = "1 min"
[drug]
concentration = "500 mcg/mL"
[prescription]
dose = "250 mcg/day"
"""


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pumpsim: error: ") and "Traceback" not in err and "[-h]" not in err
    return lines[0]


def test_no_command_is_one_line_and_exit_2() -> None:
    """`pumpsim` alone prints a one-line usage hint on stderr and exits 2 (was: the whole help, on stdout)."""
    p = _run()
    assert p.returncode == 2 and p.stdout == ""
    assert "no command given" in _one_error_line(p.stderr) and "pumpsim run" in p.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["frob"], "invalid choice: 'frob'"),
        (["run", "--seed", "x"], "run: argument --seed: invalid int value: 'x'"),
        (["run", "--days", "many"], "run: argument --days: invalid float value: 'many'"),
        (["run", "--bogus"], "run: unrecognized arguments: --bogus"),
        (["sweep", "--runs", "abc"], "sweep: argument --runs: invalid int value: 'abc'"),
        (["scenarios", "frob"], "scenarios: argument action: invalid choice"),
        (["validate"], "validate: the following arguments are required: file"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], fragment: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """argparse errors follow the house rule: one line naming the option and value, exit 2, no usage block."""
    assert main(args) == 2
    out = capsys.readouterr()
    assert fragment in _one_error_line(out.err) and out.out == ""


def test_help_still_prints_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help is not an error: the full help on stdout, exit status 0."""
    with pytest.raises(SystemExit) as e:
        main(["run", "--help"])
    assert e.value.code == 0
    assert "--force" in capsys.readouterr().out


def _special_files(tmp_path: Path) -> list[tuple[str, str]]:
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 1_000_001)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'name = "\xff"\n')
    cases = [(str(big), "at most 1,000,000 bytes"), (str(binary), "UTF-8"), (str(tmp_path), "not a directory")]
    if os.name == "posix":
        fifo = tmp_path / "fifo.toml"
        os.mkfifo(fifo)
        cases += [("/dev/zero", "not a character device"), (str(fifo), "not a named pipe")]
    return cases


@pytest.mark.parametrize("command", [["validate"], ["run"], ["sweep", "--runs", "1", "--out", "OUT"]])
def test_only_regular_files_up_to_1_mb_are_read(tmp_path: Path, command: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/zero, a FIFO, a directory, a 1 MB + 1 byte file or binary data: one line naming the path, exit 2.

    Reading /dev/zero used to grow memory without bound; a FIFO would block.
    """
    for path, fragment in _special_files(tmp_path):
        args = [a.replace("OUT", str(tmp_path / "sweep")) for a in command]
        assert main([args[0], path, *args[1:]]) == 2, path
        line = _one_error_line(capsys.readouterr().err)
        assert f'scenario = "{path}"' in line and fragment in line
    assert not (tmp_path / "sweep").exists()


def test_a_scenario_of_exactly_1_mb_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The limit is inclusive: a valid scenario padded with a comment to exactly 1,000,000 bytes loads."""
    text = pumpsim_text()
    f = tmp_path / "padded.toml"
    f.write_text(text + "#" * (1_000_000 - len(text.encode()) - 1) + "\n")
    assert f.stat().st_size == 1_000_000
    assert main(["validate", str(f)]) == 0


def test_validate_states_the_output_size_and_run_refuses_above_the_limit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """30 years at a 1-minute trace is valid but about 1.1 GB: validate says so, run refuses and writes nothing."""
    f = tmp_path / "long.toml"
    f.write_text(LONG)
    assert main(["validate", str(f)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "GB" in out and "needs --force" in out
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "above the 200 MB limit" in line and "--force" in line and "trace_interval (now 1 min)" in line
    assert not (tmp_path / "o").exists()
    assert main(["validate", "analytic"]) == 0
    assert "a run writes about" in capsys.readouterr().out


def test_force_lets_a_run_above_the_limit_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """With the limit lowered to 1 kB, a one-day run is refused, and runs with --force."""
    import pumpsim.cli.run

    monkeypatch.setattr(pumpsim.cli.run, "OUTPUT_LIMIT_BYTES", 1000)
    assert main(["run", "analytic", "--days", "1", "--out", str(tmp_path / "a"), "--quiet"]) == 2
    assert "1 kB limit" in _one_error_line(capsys.readouterr().err) and not (tmp_path / "a").exists()
    assert main(["run", "analytic", "--days", "1", "--out", str(tmp_path / "b"), "--quiet", "--force"]) == 0
    assert (tmp_path / "b" / "trace.csv").exists()


def test_scenario_errors_name_the_file_and_the_misspelt_key(tmp_path: Path) -> None:
    """A misspelt key (durration) is named, with the nearest known key, not reported as a missing duration."""
    f = tmp_path / "typo.toml"
    f.write_text(LONG.replace("duration =", "durration ="))
    p = _run("validate", str(f))
    assert p.returncode == 2
    line = _one_error_line(p.stderr)
    assert line.startswith(f'pumpsim: error: {f}: durration = "10950 d": expected no such key here '
                           "(did you mean duration?)"), line
