"""The sweep directory: byte-identical files whatever the runner, resume, Ctrl-C, run.json, format 1, damage."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_cases import (
    REPRODUCIBLE,
    VARY,
    base_args,
    read_aggregate,
    read_records,
    read_sessions,
    sweep_cli,
)

import pumpsim
from pumpsim import sweep
from pumpsim.sweep.records import SweepSession


def _same_bytes(a: Path, b: Path) -> list[str]:
    """The reproducible files in which sweep directories *a* and *b* differ."""
    return [f for f in REPRODUCIBLE if (a / f).read_bytes() != (b / f).read_bytes()]


def _plan(planned: Path) -> sweep.SweepPlan:
    """The plan of :func:`base_args`, built through the Python API."""
    return sweep.make_plan(pumpsim.load_scenario(planned), 24, seed=9, vary=VARY, days=50)


# ------------------------------------------------------------------ reproducible files


def test_same_plan_same_bytes_whatever_workers_and_chunks(planned: Path, tmp_path: Path) -> None:
    """workers=1, workers=2 with chunks of 5, and chunks of 1: byte-identical sweep.json, runs.jsonl, aggregate.*.

    Only run.json, the sessions' metadata, differs (here: the runner and chunk size).
    """
    outs = [tmp_path / n for n in ("w1", "w2", "c1")]
    assert sweep_cli(*base_args(planned, outs[0], "--workers", "1")) == 0
    assert sweep_cli(*base_args(planned, outs[1], "--workers", "2", "--chunk", "5")) == 0
    assert sweep_cli(*base_args(planned, outs[2], "--workers", "2", "--chunk", "1")) == 0
    assert _same_bytes(outs[0], outs[1]) == [] and _same_bytes(outs[0], outs[2]) == []
    assert [read_sessions(o)[0]["chunk"] for o in outs] == [sweep.default_chunk(24, 1, 50), 5, 1]
    agg = read_aggregate(outs[0])
    assert agg["runs"]["ok"] == 24 and 0 < agg["dry"]["runs_with_dry"] < 24  # the sweep is not degenerate
    assert [r["index"] for r in read_records(outs[1])] == list(range(24))  # a complete sweep is in index order
    other = tmp_path / "seed10"
    assert sweep_cli(*[a if a != "9" else "10" for a in base_args(planned, other, "--workers", "1")]) == 0
    assert read_aggregate(other) != agg
    assert _same_bytes(outs[0], other) == list(REPRODUCIBLE)


def test_resume_after_a_cut_off_runs_file_gives_the_same_bytes(planned: Path, tmp_path: Path) -> None:
    """Keep 10 of 24 run lines plus half of the 11th, resume: the same files, each run exactly once."""
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert sweep_cli(*base_args(planned, full, "--workers", "2")) == 0
    assert sweep_cli(*base_args(planned, cut, "--workers", "2")) == 0
    lines = (cut / "runs.jsonl").read_text().splitlines(keepends=True)
    (cut / "runs.jsonl").write_text("".join(lines[3:13]) + lines[13][: len(lines[13]) // 2])
    for f in ("aggregate.json", "aggregate.csv"):
        (cut / f).unlink()
    assert sweep_cli("--resume", "--out", str(cut), "--workers", "2", "--chunk", "3") == 0
    assert _same_bytes(cut, full) == []
    # Resuming a finished sweep runs nothing and rewrites the same files.
    assert sweep_cli(*base_args(planned, cut, "--resume")) == 0
    assert _same_bytes(cut, full) == []
    assert [(s["ran"], s["runner"]) for s in read_sessions(cut)][1:] == [(14, "process pool (2 workers)"),
                                                                         (0, "nothing to run")]


def test_interrupted_sweep_resumes_to_the_same_bytes(planned: Path, tmp_path: Path) -> None:
    """Ctrl-C after 6 runs (raised by an on_record callback): SweepInterrupted, the runs kept; --resume completes."""
    full, part = tmp_path / "full", tmp_path / "part"
    assert sweep_cli(*base_args(planned, full, "--workers", "1")) == 0
    seen: list[int] = []

    def ctrl_c_after_6(rec: sweep.RunRecord) -> None:
        seen.append(rec["index"])
        if len(seen) == 6:
            raise KeyboardInterrupt

    messages = io.StringIO()
    with pytest.raises(sweep.SweepInterrupted) as e:
        sweep.run_sweep(_plan(planned), part, workers=2, chunk=3, progress=False, stream=messages,
                        on_record=ctrl_c_after_6)
    assert e.value.resumable and e.value.out_dir == part and e.value.total == 24
    done = read_records(part)
    assert 6 <= e.value.done == len(done) < 24 and not (part / "aggregate.json").exists()
    assert "pumpsim: interrupted; finishing" in messages.getvalue() or e.value.done == 6
    assert [(s["outcome"], s["ran"]) for s in read_sessions(part)] == [("interrupted", len(done))]
    assert sweep_cli("--resume", "--out", str(part), "--workers", "2") == 0
    assert _same_bytes(part, full) == []
    assert [s["outcome"] for s in read_sessions(part)] == ["interrupted", "complete"]


def test_an_error_in_on_record_ends_the_sweep_and_keeps_the_runs(planned: Path, tmp_path: Path) -> None:
    """Any other exception from on_record propagates; the runs written stay, run.json says "failed"."""
    out = tmp_path / "e"

    def fail(_rec: sweep.RunRecord) -> None:
        raise ValueError("dashboard gone")

    with pytest.raises(ValueError, match="dashboard gone"):
        sweep.run_sweep(_plan(planned), out, workers=1, chunk=2, progress=False, on_record=fail)
    assert len(read_records(out)) == 2 and not (out / "aggregate.json").exists()
    assert [s["outcome"] for s in read_sessions(out)] == ["failed"]


@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT")
@pytest.mark.timeout(120)
def test_sigint_to_the_process_group_keeps_finished_runs(planned: Path, tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT to the whole group) mid-sweep: exit 130, the --resume hint, runs.jsonl lines all parse."""
    out = tmp_path / "sig"
    proc = subprocess.Popen([sys.executable, "-m", "pumpsim", "sweep", str(planned), "--runs", "2000", "--days", "50",
                             "--workers", "2", "--chunk", "4", "--out", str(out), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        runs = out / "runs.jsonl"
        if runs.exists() and runs.stat().st_size > 2000:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"continue with: pumpsim sweep --resume --out {out}" in err and "Traceback" not in err
    recs = read_records(out)
    assert 0 < len(recs) < 2000 and len({r["index"] for r in recs}) == len(recs)
    assert read_sessions(out)[0]["outcome"] == "interrupted"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_dask_local_cluster_gives_the_process_pool_bytes(planned: Path, tmp_path: Path) -> None:
    """The same sweep on a real dask LocalCluster (2 workers) writes the process pool's files, byte for byte."""
    pytest.importorskip("distributed")
    pool, dask_out = tmp_path / "pool", tmp_path / "dask"
    assert sweep_cli(*base_args(planned, pool, "--workers", "2")) == 0
    assert sweep_cli(*base_args(planned, dask_out, "--workers", "2", "--scheduler", "local", "--chunk", "4")) == 0
    assert _same_bytes(dask_out, pool) == []
    (session,) = read_sessions(dask_out)
    assert session["scheduler"] == "local" and session["runner"] == "dask LocalCluster (2 workers)"
    from distributed import LocalCluster

    # An existing cluster, by address (threads in this process keep the test short).
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = tmp_path / "remote"
        assert sweep_cli(*base_args(planned, remote, "--scheduler", cluster.scheduler_address)) == 0
    assert _same_bytes(remote, pool) == []


# ------------------------------------------------------------------ run.json


def test_run_json_records_each_session(planned: Path, tmp_path: Path) -> None:
    """One entry per session with the SweepSession fields: UTC start, wall time, host, versions, argv, runner."""
    out = tmp_path / "m"
    plan = sweep.make_plan(pumpsim.load_scenario(planned), 3, days=5)
    sweep.run_sweep(plan, out, workers=1, progress=False, argv=["pumpsim", "sweep", "x"])
    meta = json.loads((out / "run.json").read_text())
    assert meta["format"] == sweep.FORMAT and "format_1" not in meta
    (s,) = meta["sessions"]
    assert list(s) == list(SweepSession.__annotations__)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s["started_utc"])
    assert s["wall_s"] >= 0 and s["pumpsim_version"] == pumpsim.__version__ and s["python_version"].count(".") == 2
    assert (s["argv"], s["runner"], s["workers"], s["chunk"], s["ran"], s["outcome"]) == (
        ["pumpsim", "sweep", "x"], "in-process", 1, 1, 3, "complete")
    assert "wall" not in (out / "sweep.json").read_text() and "created" not in (out / "sweep.json").read_text()


def test_resume_refuses_a_different_request(planned: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """--resume with other runs, seed, vary, scenario text or pumpsim version is a clear error; a used --out needs
    --resume."""
    out = tmp_path / "s"
    assert sweep_cli(str(planned), "--runs", "4", "--days", "10", "--out", str(out), "--workers", "1") == 0
    capsys.readouterr()
    cases = [
        (["--runs", "5"], "runs = 5 here, but 4 in the sweep"),
        (["--seed", "3"], "seed = 3 here, but 1 in the sweep"),
        (["--vary", "pump.stroke_cv=uniform(0 %, 1 %)"], "vary = "),
        (["analytic"], "the scenario's TOML differs"),
    ]
    for extra, fragment in cases:
        assert sweep_cli(*extra, "--resume", "--out", str(out)) == 2
        err = capsys.readouterr().err
        assert "does not match the sweep in" in err and fragment in err and err.count("\n") == 1, err
    meta = json.loads((out / "run.json").read_text())
    meta["sessions"][0]["pumpsim_version"] = "0.0.1"
    (out / "run.json").write_text(json.dumps(meta))
    assert sweep_cli("--resume", "--out", str(out)) == 2
    assert f'pumpsim_version = "{pumpsim.__version__}" here, but "0.0.1" in the sweep' in capsys.readouterr().err
    assert sweep_cli("--resume", "--out", str(tmp_path / "empty")) == 2
    assert "no sweep.json there" in capsys.readouterr().err
    assert sweep_cli(str(planned), "--runs", "4", "--days", "10", "--out", str(out)) == 2
    assert "already holds a sweep" in capsys.readouterr().err


def test_a_new_sweep_does_not_overwrite_another_commands_run_json(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """--out of a `pumpsim run` directory (it has run.json): exit 2, the file untouched."""
    (tmp_path / "run.json").write_text('{"wall_s": 1.0}\n')
    assert sweep_cli("analytic", "--runs", "2", "--days", "2", "--out", str(tmp_path)) == 2
    assert "already holds a run.json" in capsys.readouterr().err
    assert (tmp_path / "run.json").read_text() == '{"wall_s": 1.0}\n' and not (tmp_path / "sweep.json").exists()


def test_a_format_1_sweep_is_resumed_and_converted(planned: Path, tmp_path: Path) -> None:
    """A sweep started by a format-1 pumpsim resumes to the same results; its moved keys are kept in run.json."""
    full, old = tmp_path / "full", tmp_path / "old"
    assert sweep_cli(*base_args(planned, full, "--workers", "1")) == 0
    assert sweep_cli(*base_args(planned, old, "--workers", "1")) == 0
    # Make `old` what format 1 wrote: the plan plus three more keys in sweep.json, no run.json.
    cfg = json.loads((old / "sweep.json").read_text())
    moved = {"pumpsim_version": pumpsim.__version__, "created": "2026-11-25T13:04:58+0000",
             "execution": {"workers": None, "scheduler": None, "chunk": None}}
    v1 = {"format": 1, "pumpsim_version": moved["pumpsim_version"],
          **{k: v for k, v in cfg.items() if k != "format"}, "created": moved["created"],
          "execution": moved["execution"]}
    (old / "sweep.json").write_text(json.dumps(v1, indent=2) + "\n")
    (old / "run.json").unlink()
    lines = (old / "runs.jsonl").read_text().splitlines(keepends=True)
    (old / "runs.jsonl").write_text("".join(lines[:10]))
    assert sweep.read_config(old)["format"] == 1
    assert sweep_cli("--resume", "--out", str(old), "--workers", "2") == 0
    assert _same_bytes(old, full) == []
    meta = json.loads((old / "run.json").read_text())
    assert meta["format_1"] == moved and [s["ran"] for s in meta["sessions"]] == [14]


# ------------------------------------------------------------------ damage


def test_a_damaged_runs_file_is_refused_and_left_as_it_is(planned: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A bad line in the middle, or a record of a run the sweep does not have: exit 2 naming the line, no change."""
    out = tmp_path / "d"
    assert sweep_cli(str(planned), "--runs", "4", "--days", "5", "--out", str(out), "--workers", "1") == 0
    capsys.readouterr()
    lines = (out / "runs.jsonl").read_text().splitlines(keepends=True)
    for bad, fragment in [("garbage\n", "line 2 is not a run record"),
                          (lines[1].replace('"index":1', '"index":7'), "line 2 is the record of run 7")]:
        damaged = lines[0] + bad + "".join(lines[2:])
        (out / "runs.jsonl").write_text(damaged)
        assert sweep_cli("--resume", "--out", str(out)) == 2
        err = capsys.readouterr().err
        assert fragment in err and "damaged" in err and err.count("\n") == 1, err
        assert (out / "runs.jsonl").read_text() == damaged
    (out / "run.json").write_text("{not json")
    (out / "runs.jsonl").write_text("".join(lines))
    assert sweep_cli("--resume", "--out", str(out)) == 2
    assert "run.json: cannot read it" in capsys.readouterr().err
    assert (out / "run.json").read_text() == "{not json"


# ------------------------------------------------------------------ executors


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.mark.skipif(os.name != "posix", reason="fork process pool")
@pytest.mark.timeout(60)
def test_terminate_stops_the_process_pool_workers() -> None:
    """A second Ctrl-C calls Runner.terminate: the pool's workers stop at once and the pool reports it broken."""
    import concurrent.futures as cf

    runner = sweep.make_runner(2)
    try:
        pids: set[int] = set()
        deadline = time.time() + 20
        while len(pids) < 2 and time.time() < deadline:  # both workers have started
            pids |= {f.result() for f in [runner.executor.submit(_pid_after, 0.05) for _ in range(4)]}
        long = [runner.executor.submit(_pid_after, 120) for _ in range(2)]
        time.sleep(0.3)
        t0 = time.monotonic()
        runner.terminate()
        for f in long:
            with pytest.raises(cf.BrokenExecutor):
                f.result(timeout=30)
        assert time.monotonic() - t0 < 30
    finally:
        runner.close()
