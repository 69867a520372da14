"""Running a sweep: one session, new or resumed, from the plan to the aggregate on disk.

:func:`run_sweep` checks the directory, starts a runner, submits the runs not
yet done in chunks of consecutive indices (at most :data:`IN_FLIGHT_PER_WORKER`
chunks per worker in flight), appends each finished chunk to runs.jsonl, and
at the end writes the aggregate. On Ctrl-C it lets the running chunks finish
(a second Ctrl-C stops them), writes their runs, and raises
:class:`~pumpsim.sweep.SweepInterrupted`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..progress import ProgressBar, progress_bar
from . import executors
from .errors import SweepError, SweepInterrupted
from .metrics import run_chunk
from .plan import SweepPlan, prepare, run_days
from .records import Aggregate, RunRecord, SessionOutcome
from .report import DAYS_PER_YEAR, aggregate
from .store import SweepStore, new_session

#: Rough cost of one simulated device-year with trace=False, seconds (for the default chunk size).
EST_S_PER_DEVICE_YEAR = 0.05
#: Aim for tasks of about this many seconds: long enough that per-task overhead is noise.
TARGET_TASK_S = 1.0
#: Chunks in flight per worker.
IN_FLIGHT_PER_WORKER = 2
#: Largest default chunk, in runs.
MAX_CHUNK = 1000


@dataclass
class Outcome:
    """What :func:`run_sweep` did."""

    out_dir: Path
    aggregate: Aggregate
    #: Every run record of the sweep, by index.
    records: dict[int, RunRecord]
    #: Runs executed in this session.
    ran: int
    wall_s: float
    #: The runner, for people ("process pool (2 workers)", "nothing to run").
    runner: str


def default_chunk(runs: int, workers: int, days: float) -> int:
    """Runs per task: about TARGET_TASK_S of work, at least ~4 tasks per worker, at most MAX_CHUNK.

    Worked case: 10,000 one-year runs on 2 workers: 1 s / 0.05 s = 20 by time,
    10,000 / 8 = 1250 by balance, so 20.
    """
    est = max(0.002, EST_S_PER_DEVICE_YEAR * days / DAYS_PER_YEAR)
    by_time = max(1, round(TARGET_TASK_S / est))
    by_balance = max(1, math.ceil(runs / (4 * workers)))
    return max(1, min(by_time, by_balance, MAX_CHUNK))


def run_sweep(
    plan: SweepPlan,
    out_dir: Path,
    *,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk: int | None = None,
    progress: bool | None = None,
    stream: TextIO | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
    argv: Sequence[str] | None = None,
) -> Outcome:
    """Run (or resume) *plan* into *out_dir* and write the aggregate.

    *workers* / *scheduler* choose the runner (:func:`~pumpsim.sweep.make_runner`);
    *chunk* is the runs per task (default :func:`default_chunk`). *progress*:
    None shows a progress bar on *stream* (default stderr) only if it is a
    terminal, True always, False never. *on_record* is called in this process
    with each run record once it is in runs.jsonl (in the order chunks
    finish); a KeyboardInterrupt it raises counts as Ctrl-C, any other
    exception ends the sweep (the runs written so far are kept). *argv* is
    recorded in run.json (default ``sys.argv``).

    Raises :class:`SweepError` for a bad request or directory (for a new
    sweep, before anything is written; also when the workers cannot be
    started), or when a worker dies (the runs finished so far are kept), and
    :class:`SweepInterrupted` on Ctrl-C after writing every finished run.
    """
    if chunk is not None and chunk < 1:
        raise SweepError(f"--chunk {chunk}: expected an integer >= 1")
    err = stream if stream is not None else sys.stderr
    store = SweepStore(out_dir)
    records = store.check(plan, resume=resume)
    before = len(records)
    pending = [i for i in range(plan.runs) if i not in records]
    t0 = time.perf_counter()
    runner: executors.Runner | None = None
    if pending:
        prepare(plan)  # parse once here: forked workers inherit it
        try:
            runner = executors.make_runner(workers, scheduler)
        except KeyboardInterrupt:
            raise SweepInterrupted(out_dir, before, plan.runs, resumable=resume) from None
    size = None if runner is None else chunk or default_chunk(len(pending), runner.workers, run_days(plan))
    try:
        if not resume:
            store.create(plan)
        store.begin_session(plan, new_session(runner=runner.kind if runner else "nothing to run",
                                              workers=runner.workers if runner else None, scheduler=scheduler,
                                              chunk=size, argv=argv))
    except BaseException:
        if runner is not None:
            runner.close()
        raise
    outcome: SessionOutcome = "failed"
    try:
        if runner is not None and size is not None:
            chunks = [pending[k:k + size] for k in range(0, len(pending), size)]
            with progress_bar(plan.runs, desc="sweep", unit="runs", enabled=progress, initial=before,
                              stream=err) as bar:
                _execute(plan, runner, chunks, records, store, bar, on_record)
        agg = aggregate(plan, records.values())
        store.write_results(records, agg)
        outcome = "complete"
    except SweepInterrupted:
        outcome = "interrupted"
        raise
    except KeyboardInterrupt:  # outside the runs (starting the bar, writing the aggregate): the runs are kept
        outcome = "interrupted"
        raise SweepInterrupted(out_dir, len(records), plan.runs) from None
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):  # closing must not hide the real outcome
                runner.close()
        wall_s = time.perf_counter() - t0
        try:
            store.end_session(outcome=outcome, wall_s=round(wall_s, 3), ran=len(records) - before)
        except OSError:
            if outcome == "complete":
                raise
            # else: the session's metadata must not hide how it really ended
    return Outcome(out_dir, agg, records, len(records) - before, wall_s, runner.kind if runner else "nothing to run")


def _execute(plan: SweepPlan, runner: executors.Runner, chunks: list[list[int]], records: dict[int, RunRecord],
             store: SweepStore, bar: ProgressBar, on_record: Callable[[RunRecord], None] | None) -> None:
    """Submit *chunks* to *runner*, store results as chunks finish (into *records* too)."""
    ex = runner.executor
    limit = max(1, IN_FLIGHT_PER_WORKER * runner.workers)
    in_flight: dict[cf.Future[list[RunRecord]], list[int]] = {}
    todo = iter(chunks)
    interrupted = False

    def write(recs: list[RunRecord]) -> None:
        store.append(recs)
        for r in recs:
            records.setdefault(r["index"], r)
        bar.update_to(len(records))
        if on_record is not None:
            for r in recs:
                on_record(r)

    def fill() -> None:
        while len(in_flight) < limit:
            nxt = next(todo, None)
            if nxt is None:
                return
            in_flight[ex.submit(run_chunk, plan, nxt)] = nxt

    try:
        fill()
        while in_flight:
            finished, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda x: in_flight[x][0]):
                in_flight.pop(fut)
                write(_result(fut))
            fill()
    except KeyboardInterrupt:
        interrupted = True
        # Keep what is running (it is nearly done), drop what has not started.
        for fut in in_flight:
            fut.cancel()
        running = [fu for fu in in_flight if not fu.cancelled()]
        if running:
            bar.write(f"pumpsim: interrupted; finishing {len(running)} running chunk(s) "
                      "(Ctrl-C again to drop them)")
            try:
                for fut in cf.as_completed(running):
                    if not fut.cancelled() and fut.exception() is None:
                        write(fut.result())
            except KeyboardInterrupt:
                runner.terminate()
    if interrupted:
        raise SweepInterrupted(store.out_dir, len(records), plan.runs)


def _result(fut: cf.Future[list[RunRecord]]) -> list[RunRecord]:
    try:
        return fut.result()
    except cf.BrokenExecutor as e:
        raise SweepError(f"a worker process died ({e}); the runs finished so far are kept: "
                         "continue with --resume") from None
    except Exception as e:  # a task that failed outside run_one's own handling (e.g. on a remote worker)
        raise SweepError(f"a task failed on a worker: {type(e).__name__}: {e}; the runs finished so far are "
                         "kept: continue with --resume") from None
