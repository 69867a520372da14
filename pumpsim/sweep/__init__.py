"""Monte Carlo sweeps: many runs of one scenario over seeds and parameter distributions.

``pumpsim sweep SCENARIO --runs N --vary KEY=DIST ...`` (:mod:`pumpsim.cli`,
docs/sweep.md) runs *N* simulations and aggregates them. In Python::

    plan = sweep.make_plan(scenario, 40, vary=["pump.calibration_error=normal(0 %, 5 %)"], days=60)
    outcome = sweep.run_sweep(plan, Path("out"), workers=1)
    outcome.aggregate["dry"]["p_run"]

The rooms, in the order a sweep uses them:

* :mod:`.variation`: the ``--vary`` grammar, the distributions, writing samples
  back into the scenario data, ``visit.at`` jitter;
* :mod:`.plan`: :class:`SweepPlan`, :func:`make_plan`, each run's seeds and inputs;
* :mod:`.metrics`: one run and what it measured (its runs.jsonl record);
* :mod:`.report`: the aggregate, Wilson intervals, failure groups, the table and CSV;
* :mod:`.executors`: in process, fork process pool, or dask;
* :mod:`.store`: the sweep directory (sweep.json, runs.jsonl, run.json, aggregate) and resuming;
* :mod:`.run`: :func:`run_sweep`, one session from the plan to the files;
* :mod:`.records`: the typed records of every file; :mod:`.errors`: the exceptions.

A run's inputs depend only on (seed, index), so the results are the same
bytes whatever the workers, chunks, scheduler or resumes.
"""

from __future__ import annotations

from .errors import SweepError as SweepError, SweepInterrupted as SweepInterrupted
from .executors import Runner as Runner, make_runner as make_runner
from .metrics import run_chunk as run_chunk, run_metrics as run_metrics, run_one as run_one
from .plan import (
    RunInputs as RunInputs,
    SweepPlan as SweepPlan,
    build_run as build_run,
    make_plan as make_plan,
    run_seeds as run_seeds,
)
from .records import (
    FORMAT as FORMAT,
    Aggregate as Aggregate,
    DryEpisode as DryEpisode,
    FailedRun as FailedRun,
    OkRun as OkRun,
    RunMetrics as RunMetrics,
    RunRecord as RunRecord,
    SweepConfig as SweepConfig,
    SweepRunMeta as SweepRunMeta,
    SweepSession as SweepSession,
)
from .report import (
    aggregate as aggregate,
    aggregate_csv as aggregate_csv,
    error_pattern as error_pattern,
    format_aggregate as format_aggregate,
    wilson as wilson,
)
from .run import Outcome as Outcome, default_chunk as default_chunk, run_sweep as run_sweep
from .store import FILES as FILES, read_config as read_config, read_meta as read_meta, read_runs as read_runs
from .variation import VISIT_AT as VISIT_AT, VarySpec as VarySpec, parse_vary as parse_vary
