"""``pumpsim sweep``: Monte Carlo over seeds and parameter distributions (see docs/sweep.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..scenario.builtin import DEFAULT
from .app import EXIT_INTERRUPTED, Command, UserError
from .common import load, new_out_dir

DESCRIPTION = ("Run a scenario many times, each run with its own seed and its own samples of the --vary "
               "distributions, and aggregate: how often the reservoir ran dry before the next visit, the "
               "low-reservoir alarm's margin before it did, and the delivered dose against the prescription.")
EPILOG = ("DIST is normal(MEAN, SD), uniform(LO, HI), triangular(LO, MODE, HI), lognormal(MEDIAN, GSD) or "
          "choice(A, B, ...), each argument a quantity in the key's units (GSD a plain number such as 1.1). "
          "Examples: --vary 'pump.calibration_error=normal(0 %, 3 %)' --vary 'pump.fill=uniform(18 mL, 20 mL)' "
          "--vary 'visit.at=normal(0 d, 1 d)' (jitters every visit). Outputs: sweep.json, runs.jsonl, "
          "aggregate.json, aggregate.csv (the same bytes for the same request) and run.json (times, host, "
          "versions of each session) in --out DIR.")


def add_arguments(w: argparse.ArgumentParser) -> None:
    w.add_argument("scenario", nargs="?", default=None,
                   help=f"a scenario file (.toml) or a built-in name (default: {DEFAULT})")
    w.add_argument("--runs", type=int, metavar="N", help="number of runs (required unless --resume)")
    w.add_argument("--vary", action="append", default=None, metavar="KEY=DIST",
                   help="vary a numeric scenario key, e.g. pump.stroke_cv=uniform(1 %%, 4 %%) (repeatable)")
    w.add_argument("--seed", type=int, metavar="S", help="base seed (default: the scenario's)")
    w.add_argument("--days", type=float, metavar="D", help="simulate D days per run instead of the scenario's duration")
    w.add_argument("--workers", type=int, metavar="W",
                   help="worker processes (default: one per CPU; 1 runs in-process)")
    w.add_argument("--scheduler", metavar="ADDRESS", help="run on dask: 'local' starts a LocalCluster of W workers, "
                                                          "an address (tcp://host:8786) uses a running cluster")
    w.add_argument("--chunk", type=int, metavar="C", help="runs per task (default: about 1 s of work per task)")
    w.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: runs/sweep-SCENARIO-TIME)")
    w.add_argument("--resume", action="store_true",
                   help="continue the sweep in --out DIR: skip the runs it has, run the rest, aggregate all")
    w.add_argument("--no-progress", action="store_true",
                   help="no progress bar on stderr (it is shown only when stderr is a terminal)")


def run(args: argparse.Namespace) -> int:
    from .. import sweep
    from ..scenario import parse_scenario

    try:
        for name in ("runs", "workers", "chunk"):
            v = getattr(args, name)
            if v is not None and v < 1:
                raise UserError(f"--{name} {v}: expected an integer >= 1")
        if args.resume:
            if args.out is None:
                raise UserError("--resume needs --out DIR, the directory of the sweep to continue")
            cfg = sweep.read_config(args.out)
            # What is not given again is taken from the sweep; what is given must match it.
            sc = (load(args.scenario) if args.scenario is not None
                  else parse_scenario(cfg["scenario_source"], origin=f"{args.out}/sweep.json"))
            runs = args.runs if args.runs is not None else cfg["runs"]
            seed = args.seed if args.seed is not None else cfg["seed"]
            days = args.days if args.days is not None else cfg["days"]
            vary = args.vary if args.vary is not None else cfg["vary"]
            out = args.out
        else:
            if args.runs is None:
                raise UserError("--runs N is required (the number of runs)")
            sc = load(args.scenario if args.scenario is not None else DEFAULT)
            runs, seed, days, vary = args.runs, args.seed, args.days, args.vary or []
            out = args.out
        plan = sweep.make_plan(sc, runs, seed=seed, vary=vary, days=days)
        if out is None:
            out = new_out_dir("sweep-", sc.name)
        res = sweep.run_sweep(plan, out, resume=args.resume, workers=args.workers, scheduler=args.scheduler,
                              chunk=args.chunk, progress=False if args.no_progress else None)
    except sweep.SweepError as e:
        raise UserError(str(e)) from None
    except sweep.SweepInterrupted as e:
        if not e.resumable:
            print("\npumpsim: sweep interrupted while the workers were starting; nothing was written",
                  file=sys.stderr)
        else:
            print(f"\npumpsim: sweep interrupted: {e.done} of {e.total} runs are in {e.out_dir}/runs.jsonl; "
                  f"continue with: pumpsim sweep --resume --out {e.out_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("\npumpsim: sweep interrupted before any run finished", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(sweep.format_aggregate(res.aggregate, plan))
    years = res.aggregate["device_years"]
    if res.ran:
        print(f"\n{res.ran} runs in {res.wall_s:.1f} s ({res.ran / res.wall_s:.1f} runs/s) on {res.runner}; "
              f"{years:.1f} device-years in all")
    print(f"outputs: {out}/ ({', '.join(sweep.FILES)})")
    return 0


COMMAND = Command("sweep", "Monte Carlo: many runs over seeds and parameter distributions, aggregated",
                  add_arguments, run, description=DESCRIPTION, epilog=EPILOG)
