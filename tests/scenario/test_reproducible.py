"""Same scenario + seed = byte-identical result files, in bulk and exact mode alike.

Only run.json (wall time, host, versions, command line) may differ between two runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pumpsim.cli import main
from pumpsim.results import DirectorySink, RunInfo

#: The files that depend only on the scenario and the seed.
RESULT_FILES = (DirectorySink.SUMMARY, DirectorySink.EVENTS, DirectorySink.TRACE)


def differing_files(a: Path, b: Path) -> list[str]:
    """Result files whose bytes differ between run directories *a* and *b* (a missing file differs)."""
    def read(p: Path) -> bytes | None:
        return p.read_bytes() if p.exists() else None

    return [f for f in RESULT_FILES if read(a / f) is None or read(a / f) != read(b / f)]


def _run(out: Path, *args: str) -> Path:
    assert main(["run", *args, "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("scenario", "days"), [("overdelivery", "45"), ("default", "60")])
def test_two_runs_write_the_same_bytes_in_bulk_and_exact_mode(tmp_path: Path, scenario: str, days: str) -> None:
    """Two bulk and two exact runs of one scenario and seed: summary.json, events.jsonl, trace.csv identical.

    overdelivery has stroke noise and runs dry; default has refills, flex dosing and alarms.
    """
    args = (scenario, "--days", days, "--seed", "7")
    runs = [_run(tmp_path / "bulk1", *args), _run(tmp_path / "bulk2", *args),
            _run(tmp_path / "exact1", *args, "--exact"), _run(tmp_path / "exact2", *args, "--exact")]
    for other in runs[1:]:
        assert differing_files(runs[0], other) == [], other.name
    assert json.loads((runs[0] / "summary.json").read_text())["events"] > 5  # not a vacuous comparison


def test_run_json_holds_what_varies(tmp_path: Path) -> None:
    """run.json says how the run was made: mode, seed override, command line, versions, start time, wall time."""
    out = _run(tmp_path / "r", "analytic", "--days", "2", "--seed", "3", "--exact")
    info: RunInfo = json.loads((out / "run.json").read_text())
    assert list(info) == list(RunInfo.__annotations__)
    assert info["mode"] == "exact" and info["seed_override"] == 3
    assert info["argv"] == ["pumpsim", "run", "analytic", "--days", "2", "--seed", "3", "--exact", "--out", str(out),
                            "--quiet"]
    assert info["started_utc"].endswith("Z") and isinstance(info["wall_s"], float)
    summary = json.loads((out / "summary.json").read_text())
    assert "wall_s" not in summary and "exact" not in summary
    plain = json.loads((_run(tmp_path / "p", "analytic", "--days", "2") / "run.json").read_text())
    assert plain["mode"] == "bulk" and plain["seed_override"] is None


def test_differing_files_finds_a_changed_byte_and_a_missing_file(tmp_path: Path) -> None:
    """The comparison helper can fail: one changed byte in trace.csv, one missing summary.json."""
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        for f in RESULT_FILES:
            (d / f).write_text("same\n")
    assert differing_files(a, b) == []
    (b / "trace.csv").write_text("samf\n")
    (a / "summary.json").unlink()
    assert differing_files(a, b) == ["summary.json", "trace.csv"]
