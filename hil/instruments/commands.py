"""``pumpsim hil emulate balance [SCENARIO]`` and ``pumpsim hil gravimetric --balance URL``.

Registered by :mod:`hil.cli` (:func:`add_emulate_balance`, :func:`add_gravimetric`).

Exit status of ``gravimetric``: 0 recorded and analysed; 1 the recording
stopped early (the balance stopped answering) or could not be analysed (the
CSV is kept and valid); 2 bad input (an option, a port that cannot be
opened, nothing answering on it); 130 interrupted (the CSV is kept and, if
long enough, analysed).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from pumpsim.analysis.accuracy import AccuracyError, trumpet
from pumpsim.analysis.series import Series, SeriesError, read_series
from pumpsim.cli import EXIT_INTERRUPTED, UserError
from pumpsim.cli.common import load, new_out_dir, quantity
from pumpsim.cli.trumpet import add_analysis_arguments, format_table, params_from, report, write_outputs
from pumpsim.fileio import write_json_atomic
from pumpsim.scenario import quantities as q, with_duration
from pumpsim.units import MS_PER_DAY, MS_PER_S, NG_PER_G

from ..ports import PortError
from . import mtsics as m
from .balance import BAUDRATE, STABLE_TIMEOUT_S, TIMEOUT_S, Balance, BalanceError, BalanceRefused, Identity
from .emulator import BalanceEmulator
from .gravimetric import MAX_MISSED, GravimetricRecorder, RecordOutcome, Sample
from .pan import DeliveryCurve
from .weighing import ZERO_RANGE, BalanceParams

EXIT_FAILED = 1
#: Shortest sampling interval: t_s is written to the ms.
MIN_INTERVAL_S = 0.01
CSV_NAME = "gravimetric.csv"
JSON_NAME = "gravimetric.json"
_DEFAULT = BalanceParams()
_H_PER_DAY = MS_PER_DAY // (3600 * MS_PER_S)


def _mass_text(grams: float) -> str:
    return f"{grams * 1000:g} mg" if abs(grams) < 1 else f"{grams:g} g"


def _grams(flag: str, text: str) -> float:
    return quantity(flag, text, q.mass_ng) / NG_PER_G


def _grams_per_h(flag: str, text: str) -> float:
    return quantity(flag, text, q.dose_ng_per_day) / NG_PER_G / _H_PER_DAY


def _seconds(flag: str, text: str) -> float:
    return quantity(flag, text, q.duration_ms) / MS_PER_S


# ---------------------------------------------------------------- pumpsim hil emulate balance


def add_emulate_balance(esub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ..cli import _wire_options

    p = esub.add_parser(
        "balance", help="an MT-SICS lab balance weighing what a scenario's catheter tip delivers",
        description="Prints the pty path as the first line of stdout, then answers MT-SICS (levels 0 and 1) until "
                    "SIGINT or SIGTERM. With SCENARIO the pan collects the solution leaving the catheter tip of the "
                    "simulated run (from the moment the emulator starts, --speed times faster than the wall "
                    "clock); without, the pan is empty. Defaults: a semi-micro balance (docs/balance.md).")
    p.add_argument("scenario", nargs="?", help="a scenario file (.toml) or a built-in name (default: an empty pan)")
    p.add_argument("--days", type=float, metavar="N", help="simulate N days instead of the scenario's duration")
    p.add_argument("--seed", type=int, metavar="S", help="random seed of the run and of the balance's noise "
                                                         "(default: the scenario's, or 0)")
    p.add_argument("--speed", type=float, default=1.0, metavar="F", help="run the scenario F times faster than the "
                                                                         "wall clock (default 1)")
    p.add_argument("--density", metavar="D", help="density of the solution (default: the scenario's [drug] density, "
                                                  "1 g/mL unless it says otherwise)")
    g = p.add_argument_group("the balance (defaults: a semi-micro balance; [U] values in docs/balance.md)")
    g.add_argument("--readability", default=_mass_text(_DEFAULT.readability_g), metavar="M",
                   help="smallest step of a reading (default %(default)s)")
    g.add_argument("--capacity", default=_mass_text(_DEFAULT.capacity_g), metavar="M",
                   help="maximum load; above it S + (default %(default)s)")
    g.add_argument("--repeatability", default=_mass_text(_DEFAULT.repeatability_g), metavar="M",
                   help="standard deviation of the reading noise (default %(default)s)")
    g.add_argument("--settling", default=f"{_DEFAULT.settling_s:g} s", metavar="T",
                   help="time the load must hold still to be stable (default %(default)s)")
    g.add_argument("--stable-band", default=_mass_text(_DEFAULT.stable_band_g), metavar="M",
                   help="how far the load may move in the settling time and still be stable (default %(default)s)")
    g.add_argument("--stable-timeout", default=f"{_DEFAULT.stable_timeout_s:g} s", metavar="T",
                   help="S, Z and T answer I when not stable within this (default %(default)s)")
    g.add_argument("--drift", default="0 mg/h", metavar="R", help="zero drift, e.g. '0.01 mg/h' (default 0)")
    g.add_argument("--evaporation", default="0 mg/h", metavar="R",
                   help="mass lost from the collected solution, e.g. '0.05 mg/h' (default 0)")
    g.add_argument("--vessel", default="0 g", metavar="M",
                   help="what sits on the pan from the start, e.g. '50 g'; above the capacity: overload; "
                        "negative: no pan (underload) (default 0 g)")
    g.add_argument("--unit", default=_DEFAULT.unit, choices=tuple(m.GRAMS_PER_UNIT),
                   help="unit of the replies (default %(default)s)")
    g.add_argument("--model", default=_DEFAULT.model, help="type reported by I2 (default %(default)r)")
    g.add_argument("--serial", default=_DEFAULT.serial, help="serial number reported by I4 (default %(default)s)")
    g.add_argument("--kern", action="store_true", help="answer Z and T in two stages as KERN terminals do "
                                                      "(Z A, then Z D / Z ^ / Z E)")
    g.add_argument("--garbage-at", type=float, metavar="S", help="S seconds after the first command, answer junk")
    g.add_argument("--garbage-for", type=float, default=0.0, metavar="S", help="... for S seconds")
    _wire_options(p)
    p.set_defaults(_hil=emulate_balance)


def balance_params(args: argparse.Namespace) -> BalanceParams:
    """The emulated balance the options describe; UserError naming the option for a bad value."""
    flags = {"readability_g": ("--readability", args.readability), "capacity_g": ("--capacity", args.capacity),
             "repeatability_g": ("--repeatability", args.repeatability), "settling_s": ("--settling", args.settling),
             "stable_band_g": ("--stable-band", args.stable_band),
             "stable_timeout_s": ("--stable-timeout", args.stable_timeout),
             "evaporation_g_per_h": ("--evaporation", args.evaporation), "model": ("--model", args.model),
             "serial": ("--serial", args.serial)}
    capacity = _grams("--capacity", args.capacity)
    try:
        return BalanceParams(
            readability_g=_grams("--readability", args.readability), capacity_g=capacity,
            repeatability_g=_grams("--repeatability", args.repeatability),
            settling_s=_seconds("--settling", args.settling),
            stable_band_g=_grams("--stable-band", args.stable_band),
            stable_timeout_s=_seconds("--stable-timeout", args.stable_timeout),
            drift_g_per_h=_grams_per_h("--drift", args.drift),
            evaporation_g_per_h=_grams_per_h("--evaporation", args.evaporation),
            vessel_g=_grams("--vessel", args.vessel), unit=args.unit, model=args.model, serial=args.serial,
            two_stage=args.kern, zero_range_g=ZERO_RANGE * capacity, underload_g=ZERO_RANGE * capacity)
    except ValueError as e:
        field, _, rest = str(e).partition(" = ")
        flag, text = flags.get(field, (field, ""))
        raise UserError(f"{flag} {text!r}: {rest.partition(': ')[2]}") from None


def emulate_balance(args: argparse.Namespace) -> int:
    from ..cli import _shape, _until_signalled

    params = balance_params(args)
    if not 0 < args.speed <= 1e9:
        raise UserError(f"--speed {args.speed:g}: expected a factor above 0 and at most 1e9")
    if args.garbage_at is not None and not (args.garbage_at >= 0 and args.garbage_for >= 0):
        raise UserError(f"--garbage-at {args.garbage_at:g} --garbage-for {args.garbage_for:g}: expected >= 0 s")
    shape = _shape(args)
    curve, density, seed = None, 1.0, 0 if args.seed is None else args.seed
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed {args.seed}: expected an integer >= 0")
    if args.scenario is not None:
        sc = load(args.scenario)
        if args.days is not None:
            if not 0 < args.days <= 10950:
                raise UserError(f"--days {args.days:g}: expected a number of days above 0 and at most 10950")
            sc = with_duration(sc, round(args.days * MS_PER_DAY))
        density = sc.drug.density_ng_per_ml / NG_PER_G
        seed = sc.seed if args.seed is None else args.seed
        curve = DeliveryCurve.of(sc, seed=seed)
    elif args.days is not None:
        raise UserError(f"--days {args.days:g}: needs a SCENARIO (without one the pan is empty)")
    if args.density is not None:
        density = quantity("--density", args.density, q.concentration_ng_per_ml) / NG_PER_G
        if not 0.5 <= density <= 2:
            raise UserError(f"--density {args.density!r}: expected a density from 0.5 to 2 g/mL")
    link_path = args.link
    if shape.disconnect_at_s is not None and link_path is None:
        link_path = Path(f"/tmp/pumpsim-hil-balance-{os.getpid()}")
    with _until_signalled() as stop, BalanceEmulator(params, curve=curve, density_g_per_ml=density,
                                                     speed=args.speed, shape=shape, link_path=link_path, seed=seed,
                                                     garbage_at_s=args.garbage_at,
                                                     garbage_for_s=args.garbage_for) as emu:
        print(emu.path, flush=True)
        pan = f"{curve.scenario} x{args.speed:g} at {density:g} g/mL" if curve is not None else "an empty pan"
        print(f"pumpsim hil emulate balance: {params.model}, {pan}", file=sys.stderr, flush=True)
        while not stop.wait(0.2):
            pass
        c = emu.server.counts
        print(f"pumpsim hil emulate balance: {c.commands} commands ({c.weighings} weighings, {c.zeros} zero, "
              f"{c.tares} tare, {c.resets} reset; {c.syntax_errors} ES, {c.transmission_errors} ET, "
              f"{c.logical_errors} EL, {c.not_ready} not stable in time; {emu.garbage_replies} junk replies); "
              f"load {emu.load_g(emu.now()):.5f} g", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- pumpsim hil gravimetric


def add_gravimetric(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "gravimetric", help="record a balance's readings over time, then the delivery-accuracy analysis",
        description="Reads an MT-SICS balance every --interval for --duration into gravimetric.csv "
                    "(t_s,mass_g,status, the balance's own status per sample), then runs pumpsim trumpet's "
                    "analysis on it and prints the table (docs/balance.md, docs/accuracy.md).",
        epilog="Example: pumpsim hil gravimetric --balance /dev/ttyUSB0 --interval 30s --duration 24h "
               "--rate '0.5 mL/day' --stroke-volume '0.25 uL'. Exit status: 0 done; 1 the balance stopped "
               "answering or the record could not be analysed (the CSV is kept); 2 bad input; 130 interrupted.")
    p.add_argument("--balance", required=True, metavar="URL",
                   help="pyserial URL of the balance: /dev/ttyUSB0, a pty path, socket://HOST:PORT, ...")
    p.add_argument("--baudrate", type=int, default=BAUDRATE, metavar="B", help=f"baud rate (default {BAUDRATE})")
    p.add_argument("--interval", dest="sample_interval", default="30 s", metavar="T",
                   help="time between samples (default %(default)s)")
    p.add_argument("--duration", default="24 h", metavar="T", help="how long to record (default %(default)s)")
    p.add_argument("--stable", action="store_true", help="read with S (wait for a stable weight) instead of SI")
    p.add_argument("--tare", action="store_true", help="tare the balance (T, when stable) before recording")
    p.add_argument("--kern", action="store_true", help="the balance answers Z and T in two stages (KERN)")
    p.add_argument("--timeout-ms", type=float, default=TIMEOUT_S * 1000, metavar="MS",
                   help=f"reply timeout (default {TIMEOUT_S * 1000:g} ms; S and T wait {STABLE_TIMEOUT_S:g} s)")
    p.add_argument("--max-missed", type=int, default=MAX_MISSED, metavar="N",
                   help=f"stop when N samples in a row get no answer (default {MAX_MISSED})")
    p.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: runs/gravimetric-TIME)")
    a = p.add_argument_group("analysis (as pumpsim trumpet; its --interval is --analysis-interval here)")
    add_analysis_arguments(a, interval_flag="--analysis-interval")
    p.set_defaults(_hil=gravimetric)


def _check(args: argparse.Namespace) -> tuple[float, float, Path]:
    interval = _seconds("--interval", args.sample_interval)
    duration = _seconds("--duration", args.duration)
    if interval < MIN_INTERVAL_S:
        raise UserError(f"--interval {args.sample_interval!r}: expected a duration of at least "
                        f"{MIN_INTERVAL_S * 1000:g} ms (times are written in ms)")
    if duration < interval:
        raise UserError(f"--duration {args.duration!r}: expected at least one --interval ({args.sample_interval})")
    if not args.timeout_ms > 0:
        raise UserError(f"--timeout-ms {args.timeout_ms:g}: expected > 0 ms")
    if args.max_missed < 1:
        raise UserError(f"--max-missed {args.max_missed}: expected 1 or more")
    # The analysis options are checked now, not after a day of recording.
    empty = np.zeros(0, dtype=np.float64)
    params = params_from(args, Series("", "mass_g", empty, empty), interval_flag="--analysis-interval")
    if interval > params.interval_s:
        raise UserError(f"--interval {args.sample_interval!r}: longer than the analysis interval "
                        f"({args.interval}); record at least every --analysis-interval")
    if duration < params.start_s + params.length_s:
        raise UserError(f"--duration {args.duration!r}: shorter than the analysis needs (--start {args.start} + "
                        f"--length {args.length})")
    out: Path = args.out if args.out is not None else new_out_dir("gravimetric-", "balance")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    clash = [n for n in (CSV_NAME, JSON_NAME, "trumpet.csv", "accuracy.json") if (out / n).exists()]
    if clash:
        raise UserError(f"--out {out}: already holds {clash[0]}; choose another directory")
    return interval, duration, out


def _identity(bal: Balance, url: str) -> Identity | None:
    """The balance's identity, or None if it does not know the I-commands; UserError if nothing MT-SICS answers."""
    try:
        return bal.identity()
    except BalanceRefused:
        return None
    except BalanceError as e:
        raise UserError(f"--balance {url}: not an MT-SICS balance answering there ({e})") from None


def gravimetric(args: argparse.Namespace) -> int:
    from pumpsim.progress import progress_bar  # tqdm: only when recording

    from ..cli import _sigterm_as_interrupt

    interval, duration, out = _check(args)
    try:
        bal = Balance.open(args.balance, baudrate=args.baudrate, timeout_s=args.timeout_ms / 1000,
                           two_stage=args.kern)
    except PortError as e:
        raise UserError(str(e).replace("--port", "--balance", 1)) from None
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with _sigterm_as_interrupt(), bal:
        try:
            ident = _identity(bal, args.balance)
            if args.tare:
                try:
                    bal.tare()
                except BalanceError as e:
                    raise UserError(f"--tare: {e}") from None
        except KeyboardInterrupt:
            print("\npumpsim hil gravimetric: interrupted before recording; nothing written", file=sys.stderr)
            return EXIT_INTERRUPTED
        out.mkdir(parents=True, exist_ok=True)
        who = (f"{ident.balance_data}, s/n {ident.serial}, software {ident.software}" if ident is not None
               else "identity not available (I-commands refused)")
        header = (f"pumpsim hil gravimetric: {args.balance}\nbalance: {who}\n"
                  f"interval {args.sample_interval}, duration {args.duration}, "
                  f"{'S (stable)' if args.stable else 'SI (immediate)'}; started {started}")
        with progress_bar(duration, desc="gravimetric", unit="s") as bar:
            def on_sample(s: Sample) -> None:
                bar.update_to(min(s.t_s, duration))

            rec = GravimetricRecorder(bal, out / CSV_NAME, interval_s=interval, duration_s=duration,
                                      stable=args.stable, max_missed=args.max_missed, header=header,
                                      log=lambda line: bar.write(f"pumpsim hil gravimetric: {line}"),
                                      on_sample=on_sample)
            outcome = rec.run()
    _write_record(out, args, ident, started, outcome)
    return _analyse(args, out, outcome)


def _write_record(out: Path, args: argparse.Namespace, ident: Identity | None, started: str,
                  o: RecordOutcome) -> None:
    c = o.counts
    write_json_atomic(out / JSON_NAME, {
        "balance": args.balance, "identity": None if ident is None else {
            "level": ident.level, "balance_data": ident.balance_data, "software": ident.software,
            "serial": ident.serial, "software_id": ident.software_id},
        "started": started, "interval": args.sample_interval, "duration": args.duration,
        "command": "S" if args.stable else "SI", "complete": o.complete, "interrupted": o.interrupted,
        "failure": o.failure, "elapsed_s": round(o.elapsed_s, 3), "counts": vars(c),
        "errors": o.errors[:20],
    })


def _analyse(args: argparse.Namespace, out: Path, o: RecordOutcome) -> int:
    c = o.counts
    missed = c.timeouts + c.garbage + c.refused + c.port_errors
    print(f"recorded  {c.samples} samples in {o.elapsed_s:.1f} s: {c.stable} stable, {c.dynamic} dynamic, "
          f"{c.overload} overload, {c.underload} underload, {c.busy} busy, {missed} without an answer "
          f"({c.timeouts} timeouts, {c.garbage} garbage, {c.refused} refused, {c.port_errors} port), "
          f"{c.skipped_slots} slots skipped")
    csv_path = out / CSV_NAME
    if o.failure is not None:
        print(f"pumpsim hil gravimetric: error: {o.failure}; the record so far is in {csv_path} "
              f"(pumpsim trumpet can analyse it)", file=sys.stderr)
        return EXIT_FAILED
    try:
        series = read_series(csv_path)
        result = trumpet(series, params_from(args, series, interval_flag="--analysis-interval"))
    except (SeriesError, AccuracyError, UserError) as e:
        status = EXIT_INTERRUPTED if o.interrupted else EXIT_FAILED
        what = "interrupted; " if o.interrupted else "error: "
        print(f"pumpsim hil gravimetric: {what}the record cannot be analysed ({e}); it is in {csv_path}",
              file=sys.stderr)
        return status
    write_outputs(out, report(series, result))
    print()
    print(format_table(series, result))
    print(f"\noutputs: {out}/ ({CSV_NAME}, {JSON_NAME}, trumpet.csv, accuracy.json)")
    if o.interrupted:
        print(f"pumpsim hil gravimetric: interrupted after {o.elapsed_s:.1f} s; analysed what was recorded",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
