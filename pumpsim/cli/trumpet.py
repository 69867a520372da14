"""``pumpsim trumpet FILE.csv``: mean flow error and trumpet curve of a gravimetric record or a simulated trace.

The method is :mod:`pumpsim.analysis.accuracy` (docs/accuracy.md); this
module reads the options, prints the table and writes ``trumpet.csv`` and
``accuracy.json`` into the output folder.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from ..analysis.accuracy import (
    DEFAULT_DENSITY,
    DEFAULT_INTERVAL_S,
    DEFAULT_LENGTH_S,
    DEFAULT_START_S,
    DEFAULT_WINDOWS_S,
    TIME_SCALE,
    AccuracyError,
    TrumpetParams,
    TrumpetResult,
    trumpet,
)
from ..analysis.series import Series, SeriesError, read_series
from ..fileio import write_json_atomic, write_text_atomic
from ..results.records import AccuracyReport, TrumpetRow
from ..results.trace_columns import TRUMPET_COLUMNS
from ..scenario import quantities as q
from ..units import MS_PER_DAY, MS_PER_H, MS_PER_MIN, MS_PER_S, NG_PER_MG, NL_PER_ML, NL_PER_UL, PL_PER_ML, PL_PER_NL
from .app import Command, UserError
from .common import new_out_dir, quantity

CSV_NAME = "trumpet.csv"
JSON_NAME = "accuracy.json"
_G_PER_ML = 1000 * NG_PER_MG  # ng/mL per g/mL


def _duration(s: float) -> str:
    ms = round(s * MS_PER_S)
    for unit, name in ((MS_PER_H, "h"), (MS_PER_MIN, "min")):
        if ms % unit == 0:
            return f"{ms // unit} {name}"
    return f"{s:g} s"


DESCRIPTION = ("Delivery accuracy of a pump from a time series of delivered mass or volume: the mean flow error "
               "and the trumpet curve Ep(max)/Ep(min) over observation windows (IEC 60601-2-24 method, "
               f"time-scaled x{TIME_SCALE} for implantable rates; docs/accuracy.md). FILE is a gravimetric CSV "
               "(t_s,mass_g[,status]), a volume CSV (t_s,volume_ml) or a pumpsim trace.csv.")
EPILOG = ("Example: pumpsim trumpet runs/x/trace.csv --rate '0.5 mL/day' --stroke-volume '0.25 uL' --start 0h "
          "--length 24h. Writes trumpet.csv and accuracy.json into --out DIR (default: a new folder under runs/).")


def add_analysis_arguments(p: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                           interval_flag: str = "--interval") -> None:
    """The analysis options (all but FILE and --out); ``pumpsim hil gravimetric`` adds them too, naming the
    sampling interval S *interval_flag* (its own --interval is the recording's). S goes to ``args.interval``."""
    p.add_argument("--rate", metavar="Q", help="set rate r, e.g. '0.5 mL/day' or '20 uL/h' (default: the measured "
                                               "mean flow, and no mean flow error)")
    p.add_argument(interval_flag, dest="interval", default=_duration(DEFAULT_INTERVAL_S), metavar="S",
                   help="sampling interval S of the analysis (default: %(default)s)")
    p.add_argument("--start", default=_duration(DEFAULT_START_S), metavar="T",
                   help="start of the analysis period after the first sample (default: %(default)s)")
    p.add_argument("--length", default=_duration(DEFAULT_LENGTH_S), metavar="T",
                   help="length of the analysis period (default: %(default)s)")
    p.add_argument("--windows", default=",".join(_duration(w) for w in DEFAULT_WINDOWS_S), metavar="P,P,...",
                   help="observation windows, increasing (default: %(default)s)")
    cyc = p.add_mutually_exclusive_group()
    cyc.add_argument("--stroke-volume", metavar="V", help="stroke volume, e.g. '0.25 uL': S and the windows become "
                                                         "whole stroke cycles (cycle = V / rate)")
    cyc.add_argument("--cycle", metavar="T", help="the stroke cycle itself, e.g. '43.2 s'")
    p.add_argument("--density", metavar="D", help=f"density of the solution for a mass series (default: "
                                                  f"{DEFAULT_DENSITY:g} g/mL; water at 20 C is 0.998 g/mL)")
    p.add_argument("--evaporation", metavar="E", help="evaporation rate measured without flow, added back to a mass "
                                                      "series, e.g. '0.05 mg/h' (default: 0)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="the CSV file: t_s,mass_g[,status], t_s,volume_ml or a trace.csv")
    add_analysis_arguments(p)
    p.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: runs/trumpet-NAME-TIME)")


def _seconds(flag: str, text: str) -> float:
    return quantity(flag, text, q.duration_ms) / MS_PER_S


def params_from(args: argparse.Namespace, series: Series, *, interval_flag: str = "--interval") -> TrumpetParams:
    """The analysis parameters the options ask for; UserError naming the option (S: *interval_flag*) for a bad
    value."""
    rate = None
    if args.rate is not None:
        rate = quantity("--rate", args.rate, q.rate_pl_per_day) / PL_PER_ML
        if rate <= 0:
            raise UserError(f"--rate {args.rate!r}: expected a flow rate above 0")
    windows = tuple(_seconds("--windows", w.strip()) for w in args.windows.split(",") if w.strip())
    if not windows or any(w <= 0 for w in windows) or list(windows) != sorted(set(windows)):
        raise UserError(f"--windows {args.windows!r}: expected increasing durations above 0, such as '12 min,1 h'")
    interval = _seconds(interval_flag, args.interval)
    start, length = (_seconds(f, getattr(args, f[2:])) for f in ("--start", "--length"))
    for flag, value, text in ((interval_flag, interval, args.interval), ("--length", length, args.length)):
        if value <= 0:
            raise UserError(f"{flag} {text!r}: expected a duration above 0")
    if start < 0:
        raise UserError(f"--start {args.start!r}: expected a duration >= 0 (after the first sample)")
    stroke = cycle = None
    if args.stroke_volume is not None:
        stroke = quantity("--stroke-volume", args.stroke_volume, q.volume_pl) / (NL_PER_UL * PL_PER_NL)
        if stroke <= 0:
            raise UserError(f"--stroke-volume {args.stroke_volume!r}: expected a volume above 0")
    if args.cycle is not None:
        cycle = _seconds("--cycle", args.cycle)
        if cycle <= 0:
            raise UserError(f"--cycle {args.cycle!r}: expected a duration above 0")
    density, evaporation = DEFAULT_DENSITY, 0.0
    for flag, text in (("--density", args.density), ("--evaporation", args.evaporation)):
        if text is not None and not series.is_mass:
            raise UserError(f"{flag} {text!r}: applies to a mass series (mass_g) only; {series.source} holds "
                            f"{series.amount}")
    if args.density is not None:
        density = quantity("--density", args.density, q.concentration_ng_per_ml) / _G_PER_ML
        if not 0.5 <= density <= 2:
            raise UserError(f"--density {args.density!r}: expected a density from 0.5 to 2 g/mL")
    if args.evaporation is not None:
        mg_per_day = quantity("--evaporation", args.evaporation, q.dose_ng_per_day) / NG_PER_MG
        evaporation = mg_per_day / (MS_PER_DAY / MS_PER_H)
        if evaporation < 0:
            raise UserError(f"--evaporation {args.evaporation!r}: expected a mass rate >= 0")
    return TrumpetParams(rate_ml_per_day=rate, interval_s=interval, start_s=start, length_s=length, windows_s=windows,
                         stroke_volume_ul=stroke, cycle_s=cycle, density_g_per_ml=density,
                         evaporation_mg_per_h=evaporation)


def run(args: argparse.Namespace) -> int:
    try:
        series = read_series(args.file)
    except SeriesError as e:
        raise UserError(str(e)) from None
    params = params_from(args, series)
    try:
        result = trumpet(series, params)
    except AccuracyError as e:
        raise UserError(str(e)) from None
    out = args.out if args.out is not None else new_out_dir("trumpet-", args.file.stem)
    write_outputs(out, report(series, result))
    print(format_table(series, result))
    print(f"\noutputs: {out}/ ({CSV_NAME}, {JSON_NAME})")
    return 0


def report(series: Series, r: TrumpetResult) -> AccuracyReport:
    """accuracy.json's content."""
    p = r.params
    rows: list[TrumpetRow] = [{"window_s": pt.window_s, "n": pt.n, "windows": pt.windows,
                               "ep_max_pct": pt.ep_max_pct, "ep_min_pct": pt.ep_min_pct} for pt in r.points]
    return {
        "source": series.source,
        "amount": series.amount,
        "samples": len(series.t_s),
        "not_weights": series.not_weights,
        "density_g_per_ml": p.density_g_per_ml if series.is_mass else None,
        "evaporation_mg_per_h": p.evaporation_mg_per_h if series.is_mass else None,
        "rate_ml_per_day": r.rate_ml_per_day,
        "rate_given": r.rate_given,
        "cycle_s": r.cycle_s,
        "interval_s": r.interval_s,
        "start_s": r.start_s,
        "length_s": r.length_s,
        "mean_flow_ml_per_day": r.mean_flow_ml_per_day,
        "mean_error_pct": r.mean_error_pct,
        "trumpet": rows,
    }


def trumpet_csv(rows: list[TrumpetRow]) -> str:
    """trumpet.csv: a header and one row per window, in the formats of :data:`TRUMPET_COLUMNS`."""
    buf = io.StringIO()
    w = csv.writer(buf)  # the csv module's line ends, as trace.csv
    w.writerow(c.name for c in TRUMPET_COLUMNS)
    for row in rows:
        values: dict[str, float] = {"window_min": row["window_s"] / (MS_PER_MIN // MS_PER_S),
                                    "window_s": row["window_s"], "n": row["n"], "windows": row["windows"],
                                    "ep_max_pct": row["ep_max_pct"], "ep_min_pct": row["ep_min_pct"]}
        w.writerow(format(values[c.name], c.fmt) for c in TRUMPET_COLUMNS)
    return buf.getvalue()


def write_outputs(out: Path, rec: AccuracyReport) -> None:
    """Write trumpet.csv and accuracy.json into *out* (created if needed); UserError if either exists already."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        clash = [n for n in (CSV_NAME, JSON_NAME) if (out / n).exists()]
        if clash:
            raise UserError(f"--out {out}: {out / clash[0]} already exists; choose another directory")
        write_text_atomic(out / CSV_NAME, trumpet_csv(rec["trumpet"]))
        write_json_atomic(out / JSON_NAME, rec)
    except OSError as e:
        raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None


def _rate(ml_per_day: float) -> str:
    return f"{ml_per_day:.4g} mL/day = {ml_per_day * NL_PER_ML / NL_PER_UL / 24:.4g} uL/h"


def format_table(series: Series, r: TrumpetResult) -> str:
    """The printed report: inputs, method, mean flow error, one line per window."""
    p = r.params
    kind = "gravimetric" if series.is_mass else "volume"
    dropped = f"; {series.not_weights} readings that were not weights left out" if series.not_weights else ""
    a = r.mean_error_pct
    lines = [
        f"trumpet  {series.source} ({kind}, column {series.amount}, {len(series.t_s):,} samples{dropped})",
        f"method   IEC 60601-2-24 trumpet curve, time-scaled x{TIME_SCALE} for implantable rates (docs/accuracy.md)",
        "",
        f"reference rate r      {_rate(r.rate_ml_per_day)}" + ("" if r.rate_given else "  (measured mean flow)"),
    ]
    if r.cycle_s is not None:
        lines.append(f"stroke cycle T        {r.cycle_s:.4g} s; S = {r.interval_s:.4g} s = "
                     f"{round(r.interval_s / r.cycle_s)} cycles")
    else:
        lines.append(f"sampling interval S   {r.interval_s:g} s (no stroke cycle given: windows not rounded to "
                     "whole strokes)")
    n = len(r.grid_t_s) - 1
    lines.append(f"analysis period       {r.start_s / 3600:g} h to {(r.start_s + r.length_s) / 3600:g} h on the "
                 f"file's time axis (N = {n} intervals)")
    if series.is_mass:
        lines.append(f"density, evaporation  {p.density_g_per_ml:g} g/mL, {p.evaporation_mg_per_h:g} mg/h")
    lines.append(f"mean flow Q           {_rate(r.mean_flow_ml_per_day)}"
                 + (f"   mean flow error A = {a:+.2f} %" if a is not None else ""))
    lines += ["", f"{'window P':>12}  {'n':>4}  {'windows m':>9}  {'Ep(max) %':>10}  {'Ep(min) %':>10}"]
    for pt in r.points:
        lines.append(f"{pt.window_s / 60:>8.4g} min  {pt.n:>4}  {pt.windows:>9}  {pt.ep_max_pct:>+10.2f}  "
                     f"{pt.ep_min_pct:>+10.2f}")
    return "\n".join(lines)


COMMAND = Command("trumpet", "delivery accuracy: mean flow error and trumpet curve of a mass or volume series",
                  add_arguments, run, description=DESCRIPTION, epilog=EPILOG)
