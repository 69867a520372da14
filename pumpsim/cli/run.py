"""``pumpsim run``: simulate one scenario and write its output files."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ..analysis.drugs import mass_unit
from ..progress import progress_bar
from ..results import DirectorySink
from ..results.records import Event, PatientSummary, Summary
from ..scenario import Scenario, with_duration
from ..scenario.builtin import DEFAULT
from ..scenario.sizing import OUTPUT_LIMIT_BYTES, estimate_output, format_bytes
from ..scenario.spec import show_duration
from ..units import MS_PER_DAY, MS_PER_H, MS_PER_S, NG_PER_MCG, NG_PER_MG, S_PER_DAY
from .app import EXIT_INTERRUPTED, Command, UserError
from .common import load, new_out_dir

#: Longest run ``--days`` may ask for (the scenario format's own limit): 30 years.
MAX_DAYS = 30 * 365
#: A run shows its progress bar (on a terminal) only once it has taken this long.
PROGRESS_DELAY_S = 1.0


def add_arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument("scenario", nargs="?", default=DEFAULT,
                   help=f"a scenario file (.toml) or a built-in name (default: {DEFAULT})")
    r.add_argument("--days", type=float, metavar="N", help="simulate N days instead of the scenario's duration")
    r.add_argument("--seed", type=int, metavar="S", help="random seed (default: the scenario's)")
    r.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: a new folder under runs/)")
    r.add_argument("--exact", action="store_true", help="one SimPy event per stroke (slow; for cross-checks)")
    r.add_argument("--quiet", action="store_true", help="print only the output directory")
    r.add_argument("--force", action="store_true",
                   help=f"write the outputs even if they are estimated above {format_bytes(OUTPUT_LIMIT_BYTES)}")
    r.add_argument("--no-progress", action="store_true",
                   help="no progress bar on stderr (it is shown only on a terminal, for runs longer than a second)")


def size_check(sc: Scenario, force: bool) -> None:
    """Refuse a run whose outputs are estimated above OUTPUT_LIMIT_BYTES, unless *force*."""
    est = estimate_output(sc)
    if est.bytes > OUTPUT_LIMIT_BYTES and not force:
        raise UserError(
            f"the outputs would be {est.describe()}, above the {format_bytes(OUTPUT_LIMIT_BYTES)} limit; "
            f"raise trace_interval (now {show_duration(sc.trace_interval_ms)}) or run fewer --days, "
            "or add --force to write them anyway")


def run(args: argparse.Namespace) -> int:
    from ..engine import Simulation
    from ..results import run_info

    sc = load(args.scenario)
    if args.days is not None:
        if not 0 < args.days <= MAX_DAYS:
            raise UserError(f"--days {args.days:g}: expected a number of days above 0 and at most {MAX_DAYS} "
                            "(30 years)")
        # Longer than the scenario: its refill plan keeps going; shorter: cut off.
        sc = with_duration(sc, round(args.days * MS_PER_DAY))
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed {args.seed}: expected an integer >= 0")
    size_check(sc, args.force)
    out = args.out if args.out is not None else new_out_dir("", sc.name)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    try:
        sink = DirectorySink(out)
        (out / "scenario.toml").write_text(sc.source or "", encoding="utf-8")
    except FileExistsError:
        raise
    except OSError as e:
        raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    days = sc.duration_ms / MS_PER_DAY
    bar = progress_bar(days, desc=sc.name[:30], unit="d", enabled=False if args.no_progress else None,
                       delay_s=PROGRESS_DELAY_S, leave=False)
    sim = Simulation(sc, seed=args.seed, exact=args.exact, sink=sink,
                     on_progress=lambda t_ms: bar.update_to(t_ms / MS_PER_DAY))
    started = datetime.now(UTC)
    t0 = time.perf_counter()

    def write_run_info() -> float:
        # What varies from run to run goes to run.json; the other files depend only on scenario and seed.
        wall = time.perf_counter() - t0
        sink.write_run_info(run_info(started=started, wall_s=wall, argv=args.argv, exact=args.exact,
                                     seed_override=args.seed))
        return wall

    try:
        with bar:
            res = sim.run()
    except KeyboardInterrupt:
        write_run_info()
        print(f"\npumpsim: interrupted at day {sim.summary()['simulated_s'] / S_PER_DAY:.2f}; "
              f"partial outputs in {out}/ (summary.json has \"complete\": false)", file=sys.stderr)
        return EXIT_INTERRUPTED
    wall = write_run_info()
    if args.quiet:
        print(out)
    else:
        print(format_summary(res.summary, res.events, wall, exact=args.exact))
        extra = "".join(f", {f}" for f in (DirectorySink.PK, DirectorySink.TRIAL) if (out / f).exists())
        print(f"\noutputs: {out}/ (summary.json, events.jsonl, trace.csv{extra}, scenario.toml, run.json)")
    return 0


def _days(t_s: float | None) -> str:
    return "never" if t_s is None else f"day {t_s / S_PER_DAY:.3f}"


def _dry_spells(s: Summary) -> str:
    if not s["dry_count"]:
        return ""
    return f" ({s['dry_count']}x, {s['dry_total_s'] * MS_PER_S / MS_PER_H:.1f} h without drug in all)"


def format_summary(s: Summary, events: Sequence[Event], wall_s: float, exact: bool = False) -> str:
    """A readable multi-line summary of a run (*exact*: it ran in exact mode)."""
    lines = [
        f"scenario  {s['scenario']}   seed {s['seed']}   {s['simulated_s'] / S_PER_DAY:g} days"
        f"{'   (exact mode)' if exact else ''}   {wall_s * MS_PER_S:.0f} ms",
        "",
        f"strokes                  {s['strokes']:>14,}",
        f"pumped                   {s['pumped_ml']:>14.3f} mL",
        f"delivered at the tip     {s['delivered_ml']:>14.3f} mL   {s['delivered_mg']:.4f} mg",
        f"prescribed               {'':>14}      {s['prescribed_mg']:.4f} mg",
        f"reservoir, actual        {s['reservoir_actual_ml']:>14.3f} mL",
        f"reservoir, firmware est. {s['reservoir_estimated_ml']:>14.3f} mL",
        f"visits / tones           {s['visits']:>14} / {s['tones']}",
        f"reservoir ran dry        {_days(s['dry_t_s'])}" + _dry_spells(s),
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
    if "patient" in s:
        lines += ["", *format_patient(s["patient"])]
    b = s["balance"]
    lines.append("")
    lines.append(f"balance   in {b['in_ml']:.4f} mL / out {b['out_ml']:.4f} mL;  in {b['in_mg']:.4f} mg / "
                 f"out {b['out_mg']:.4f} mg")
    if not s["complete"]:
        lines.append("NOTE: the run did not complete")
    return "\n".join(lines)


def format_patient(p: PatientSummary) -> list[str]:
    """The patient's lines of the printed summary: CSF, band, withdrawal, trial (drug amounts in clinician units)."""
    total = p["below_band_s"] + p["in_band_s"] + p["above_band_s"]
    lines = [f"CSF ({p['drug']}, one compartment)  steady state {p['steady_state_ng_per_ml']:.4g} ng/mL; "
             f"min {p['csf_min_ng_per_ml']:.4g}, max {p['csf_max_ng_per_ml']:.4g}, "
             f"end {p['csf_end_ng_per_ml']:.4g} ng/mL (t1/2 {p['half_life_h']:.2f} h)"]
    lo, hi = p["band_low_ng_per_ml"], p["band_high_ng_per_ml"]
    if (lo is not None or hi is not None) and total > 0:
        band = f"{'' if lo is None else f'{lo:g}'}-{'' if hi is None else f'{hi:g}'} ng/mL"
        lines.append(f"  band {band}: in {100 * p['in_band_s'] / total:.1f} % of the time, below "
                     f"{100 * p['below_band_s'] / total:.1f} %, above {100 * p['above_band_s'] / total:.1f} %")
    if p["withdrawal_ng_per_ml"] is None:
        lines.append("  withdrawal: none for this drug")
    else:
        eps = p["withdrawal_episodes"]
        lines.append(f"  withdrawal episodes (below {p['withdrawal_ng_per_ml']:.4g} ng/mL): {len(eps)}; at risk "
                     f"{p['withdrawal_at_risk_s'] * MS_PER_S / MS_PER_H:.1f} h in all")
        for ep in eps[:6]:
            back = "not by the end" if ep["recovered_t_s"] is None else _days(ep["recovered_t_s"])
            lines.append(f"    below from {_days(ep['below_t_s'])}, severe withdrawal possible "
                         f"{_days(ep['onset_from_t_s'])} to {_days(ep['onset_to_t_s'])}; back {back}")
    if "trial" in p:
        t = p["trial"]
        unit = mass_unit(p["drug"])
        amount = t["amount_mg"] * (1 if unit == "mg" else NG_PER_MG // NG_PER_MCG)
        lines.append(f"trial ({t['kind']} {amount:g} {unit} over {show_duration(round(t['duration_s'] * MS_PER_S))})"
                     f"  CSF peak {t['peak_ng_per_ml']:.4g} ng/mL at {t['peak_t_s'] / 60:g} min; relief "
                     f"{t['relief_pct']:g} % {'>=' if t['passed'] else '<'} {t['threshold_pct']:g} %: "
                     f"{'passed' if t['passed'] else 'NOT passed (the implant is simulated anyway)'}")
    return lines


COMMAND = Command("run", "simulate a scenario and write summary.json, events.jsonl, trace.csv, run.json",
                  add_arguments, run)
