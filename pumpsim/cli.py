"""The ``pumpsim`` command line.

Commands: ``run`` (simulate a scenario and write its outputs), ``sweep``
(Monte Carlo over seeds and parameter distributions), ``scenarios`` (list or
show built-ins), ``validate`` (check a scenario file). User errors
print one line naming the problem and exit with status 2; an interrupted run
exits with 130 after writing what it had.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from firmware_model import MODE_NAMES

from .results.records import Event, Summary
from .scenario import Scenario, ScenarioError, builtin_names, builtin_text, load_scenario, with_duration
from .scenario.builtin import DEFAULT, builtin_summary
from .scenario.sizing import OUTPUT_LIMIT_BYTES, estimate_output, format_bytes
from .scenario.spec import show_duration
from .units import MS_PER_DAY, NG_PER_MCG

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A problem with what the user asked for; printed without a traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line on stderr and exit status 2 (the README's rule).

    argparse would print the whole usage block, then its message; the
    subcommand parsers are of this class too (``add_subparsers`` makes them so).
    """

    def error(self, message: str) -> NoReturn:
        sub = self.prog.removeprefix("pumpsim").strip()
        raise UserError(f"{sub + ': ' if sub else ''}{message} (see '{self.prog} --help')")


USAGE_HINT = ("no command given; usage: pumpsim {run,sweep,scenarios,validate} ... "
              "(for example: pumpsim run analytic; see 'pumpsim --help')")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="pumpsim",
        description="Simulate an implantable intrathecal drug pump and its firmware.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("run", help="simulate a scenario and write summary.json, events.jsonl, trace.csv")
    r.add_argument("scenario", nargs="?", default=DEFAULT,
                   help=f"a scenario file (.toml) or a built-in name (default: {DEFAULT})")
    r.add_argument("--days", type=float, metavar="N", help="simulate N days instead of the scenario's duration")
    r.add_argument("--seed", type=int, metavar="S", help="random seed (default: the scenario's)")
    r.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: a new folder under runs/)")
    r.add_argument("--exact", action="store_true", help="one SimPy event per stroke (slow; for cross-checks)")
    r.add_argument("--quiet", action="store_true", help="print only the output directory")
    r.add_argument("--force", action="store_true",
                   help=f"write the outputs even if they are estimated above {format_bytes(OUTPUT_LIMIT_BYTES)}")
    _sweep_parser(sub)
    s = sub.add_parser("scenarios", help="list built-in scenarios, or show one as TOML")
    s.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    s.add_argument("name", nargs="?", help="the scenario to show")
    v = sub.add_parser("validate", help="check a scenario file and describe it")
    v.add_argument("file", help="a scenario file (.toml) or a built-in name")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    try:
        args, extra = _parser().parse_known_args(argv)
        args.argv = ["pumpsim", *(sys.argv[1:] if argv is None else argv)]  # as typed, for run.json
        if extra:
            cmd = f" {args.command}" if args.command else ""
            raise UserError(f"{cmd.strip() + ': ' if cmd else ''}unrecognized arguments: {' '.join(extra)} "
                            f"(see 'pumpsim{cmd} --help')")
        if args.command == "run":
            return _run(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "scenarios":
            return _scenarios(args)
        if args.command == "validate":
            return _validate(args)
        raise UserError(USAGE_HINT)
    except ScenarioError as e:
        print(f"pumpsim: error: {e.origin + ': ' if e.origin else ''}{e}", file=sys.stderr)
        return EXIT_USAGE
    except UserError as e:
        print(f"pumpsim: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as e:
        print(f"pumpsim: error: no such file: {e.filename}", file=sys.stderr)
        return EXIT_USAGE
    except FileExistsError as e:
        print(f"pumpsim: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def _load(name: str) -> Scenario:
    """The scenario named on the command line (run, sweep, validate): a file or a built-in.

    Files are read by :func:`~pumpsim.scenario.loader.read_scenario_text`: only
    regular files of at most 1 MB; anything else is a ScenarioError.
    """
    return load_scenario(name)


def _size_check(sc: Scenario, force: bool) -> None:
    """Refuse a run whose outputs are estimated above OUTPUT_LIMIT_BYTES, unless *force*."""
    est = estimate_output(sc)
    if est.bytes > OUTPUT_LIMIT_BYTES and not force:
        raise UserError(
            f"the outputs would be {est.describe()}, above the {format_bytes(OUTPUT_LIMIT_BYTES)} limit; "
            f"raise trace_interval (now {show_duration(sc.trace_interval_ms)}) or run fewer --days, "
            "or add --force to write them anyway")


def _run(args: argparse.Namespace) -> int:
    from .engine import Simulation
    from .results import DirectorySink, run_info

    sc = _load(args.scenario)
    if args.days is not None:
        if not 0 < args.days <= 30 * 365:
            raise UserError(f"--days {args.days:g}: expected a number of days above 0 and at most 10950 (30 years)")
        # Longer than the scenario: its refill plan keeps going; shorter: cut off.
        sc = with_duration(sc, round(args.days * 86_400_000))
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed {args.seed}: expected an integer >= 0")
    _size_check(sc, args.force)
    out = args.out
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        # The scenario name becomes part of a path: keep it to safe characters.
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", sc.name).strip("._") or "scenario"
        out = Path("runs") / f"{slug[:60]}-{stamp}"
        n = 1
        while out.exists():
            n += 1
            out = Path("runs") / f"{slug[:60]}-{stamp}-{n}"
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    try:
        sink = DirectorySink(out)
        (out / "scenario.toml").write_text(sc.source or "", encoding="utf-8")
    except FileExistsError:
        raise
    except OSError as e:
        raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    sim = Simulation(sc, seed=args.seed, exact=args.exact, sink=sink)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        res = sim.run()
    except KeyboardInterrupt:
        sink.write_run_info(run_info(started=started, wall_s=time.perf_counter() - t0, argv=args.argv,
                                     exact=args.exact, seed_override=args.seed))
        print(f"\npumpsim: interrupted at day {sim.summary()['simulated_s'] / 86400:.2f}; "
              f"partial outputs in {out}/ (summary.json has \"complete\": false)", file=sys.stderr)
        return EXIT_INTERRUPTED
    wall = time.perf_counter() - t0
    # What varies from run to run goes to run.json; the other files depend only on scenario and seed.
    sink.write_run_info(run_info(started=started, wall_s=wall, argv=args.argv, exact=args.exact,
                                 seed_override=args.seed))
    if args.quiet:
        print(out)
    else:
        print(format_summary(res.summary, res.events, wall, exact=args.exact))
        print(f"\noutputs: {out}/ (summary.json, events.jsonl, trace.csv, scenario.toml, run.json)")
    return 0



def _days(t_s: float | None) -> str:
    return "never" if t_s is None else f"day {t_s / 86400:.3f}"


def format_summary(s: Summary, events: Sequence[Event], wall_s: float, exact: bool = False) -> str:
    """A readable multi-line summary of a run (*exact*: it ran in exact mode)."""
    lines = [
        f"scenario  {s['scenario']}   seed {s['seed']}   {s['simulated_s'] / 86400:g} days"
        f"{'   (exact mode)' if exact else ''}   {wall_s * 1000:.0f} ms",
        "",
        f"strokes                  {s['strokes']:>14,}",
        f"pumped                   {s['pumped_ml']:>14.3f} mL",
        f"delivered at the tip     {s['delivered_ml']:>14.3f} mL   {s['delivered_mg']:.4f} mg",
        f"prescribed               {'':>14}      {s['prescribed_mg']:.4f} mg",
        f"reservoir, actual        {s['reservoir_actual_ml']:>14.3f} mL",
        f"reservoir, firmware est. {s['reservoir_estimated_ml']:>14.3f} mL",
        f"visits / tones           {s['visits']:>14} / {s['tones']}",
        f"reservoir ran dry        {_days(s['dry_t_s'])}"
        + (f" ({s['dry_count']}x, {s['dry_total_s'] / 3600:.1f} h without drug in all)" if s['dry_count'] else ""),
    ]
    if s["alarms"]:
        lines.append("")
        lines.append("alarms (raised -> cleared)")
        shown = s["alarms"][:12]
        for a in shown:
            lines.append(f"  {a['alarm']:<16} {_days(a['t_s']):>12} -> {_days(a['cleared_t_s'])}")
        if len(s["alarms"]) > len(shown):
            lines.append(f"  ... {len(s['alarms']) - len(shown)} more in summary.json")
    else:
        lines.append("alarms                   none")
    b = s["balance"]
    lines.append("")
    lines.append(f"balance   in {b['in_ml']:.4f} mL / out {b['out_ml']:.4f} mL;  in {b['in_mg']:.4f} mg / "
                 f"out {b['out_mg']:.4f} mg")
    if not s["complete"]:
        lines.append("NOTE: the run did not complete")
    return "\n".join(lines)


def _sweep_parser(sub: Any) -> None:
    w = sub.add_parser(
        "sweep", help="Monte Carlo: many runs over seeds and parameter distributions, aggregated",
        description="Run a scenario many times, each run with its own seed and its own samples of the --vary "
                    "distributions, and aggregate: how often the reservoir ran dry before the next visit, the "
                    "low-reservoir alarm's margin before it did, and the delivered dose against the prescription.",
        epilog="DIST is normal(MEAN, SD), uniform(LO, HI), triangular(LO, MODE, HI), lognormal(MEDIAN, GSD) or "
               "choice(A, B, ...), each argument a quantity in the key's units (GSD a plain number such as 1.1). "
               "Examples: --vary 'pump.calibration_error=normal(0 %, 3 %)' --vary 'pump.fill=uniform(18 mL, 20 mL)' "
               "--vary 'visit.at=normal(0 d, 1 d)' (jitters every visit). Outputs: sweep.json, runs.jsonl, "
               "aggregate.json, aggregate.csv (the same bytes for the same request) and run.json (times, host, "
               "versions of each session) in --out DIR.",
    )
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


def _sweep(args: argparse.Namespace) -> int:
    from . import sweep
    from .scenario import parse_scenario

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
            sc = (_load(args.scenario) if args.scenario is not None
                  else parse_scenario(cfg["scenario_source"], origin=f"{args.out}/sweep.json"))
            runs = args.runs if args.runs is not None else cfg["runs"]
            seed = args.seed if args.seed is not None else cfg["seed"]
            days = args.days if args.days is not None else cfg["days"]
            vary = args.vary if args.vary is not None else cfg["vary"]
            out = args.out
        else:
            if args.runs is None:
                raise UserError("--runs N is required (the number of runs)")
            sc = _load(args.scenario if args.scenario is not None else DEFAULT)
            runs, seed, days, vary = args.runs, args.seed, args.days, args.vary or []
            out = args.out
        plan = sweep.make_plan(sc, runs, seed=seed, vary=vary, days=days)
        if out is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            out = Path("runs") / f"sweep-{sc.name}-{stamp}"
            n = 1
            while out.exists():
                n += 1
                out = Path("runs") / f"sweep-{sc.name}-{stamp}-{n}"
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


def _scenarios(args: argparse.Namespace) -> int:
    if args.action == "list":
        if args.name:
            raise UserError(f"unexpected argument {args.name!r}; did you mean 'pumpsim scenarios show {args.name}'?")
        for n in builtin_names():
            print(f"{n:<22} {builtin_summary(n)}")
        return 0
    if not args.name:
        raise UserError("scenarios show: name a scenario (one of: " + ", ".join(builtin_names()) + ")")
    if args.name not in builtin_names():
        raise UserError(f"no built-in scenario {args.name!r}; built-ins: " + ", ".join(builtin_names()))
    sys.stdout.write(builtin_text(args.name))
    return 0


def _validate(args: argparse.Namespace) -> int:
    sc = _load(args.file)
    print(f"{args.file}: OK  scenario {sc.name!r}, {sc.duration_ms / MS_PER_DAY:g} days, "
          f"{sc.drug.name} {sc.drug.conc_ng_per_ml / NG_PER_MCG:g} mcg/mL, {MODE_NAMES[sc.prescription.mode]}, "
          f"{len(sc.visits)} visits")
    est = estimate_output(sc)
    print(f"a run writes {est.describe()}"
          + ("" if est.bytes <= OUTPUT_LIMIT_BYTES else
             f"; above the {format_bytes(OUTPUT_LIMIT_BYTES)} limit, so 'pumpsim run' needs --force"))
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
