"""Run the pumpsim benchmarks: ``./dev bench`` (or ``python -m benchmarks``).

Prints figures and ratios against baselines measured in the same process on
the same stroke stream, and writes them to benchmarks/results/latest.json.
Nothing here asserts a time: machines differ; the ratios are the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import pumpsim
from benchmarks.peers import naive_simpy_year, numpy_floor_year, stroke_times
from pumpsim.scenario import Scenario, parse_toml
from pumpsim.testing import workloads as scenarios

HERE = Path(__file__).resolve().parent


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches and imports
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _fit(x: list[float], y: list[float]) -> tuple[float, float]:
    """Least-squares y = a + b x."""
    b, a = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return float(a), float(b)


def bench_device_year(repeat: int, simpy_repeat: int) -> dict[str, Any]:
    sc = pumpsim.load_scenario("default")
    seed = sc.seed
    ours = _median_time(lambda: pumpsim.simulate(sc, trace=False), repeat)
    ours_trace = _median_time(lambda: pumpsim.simulate(sc, trace=True), repeat)
    res = pumpsim.simulate(sc, trace=False)
    times = stroke_times(sc, sc.duration_ms)
    floor = _median_time(lambda: numpy_floor_year(sc, seed, times), repeat)
    naive = _median_time(lambda: naive_simpy_year(sc, seed, times), simpy_repeat)
    peer = naive_simpy_year(sc, seed, times)
    return {
        "scenario": "default",
        "strokes": res.summary["strokes"],
        "peer_strokes": peer.strokes,
        "events": res.summary["events"],
        "pumpsim_bulk_s": ours,
        "pumpsim_bulk_with_trace_s": ours_trace,
        "numpy_floor_s": floor,
        "naive_simpy_s": naive,
        "speedup_vs_naive_simpy": naive / ours,
        "ratio_to_numpy_floor": ours / floor,
    }


def _timed_run(sc: Scenario, repeat: int) -> tuple[float, dict[str, Any]]:
    """Median wall time of *sc* without a trace, and its summary."""
    t = _median_time(lambda: pumpsim.simulate(sc, trace=False), repeat)
    return t, pumpsim.simulate(sc, trace=False).summary


def bench_per_stroke(repeat: int) -> dict[str, Any]:
    """Run time against stroke count at a fixed number of events (stroke volume varied)."""
    rows = []
    for stroke_ul in scenarios.STROKE_UL:
        sc = scenarios.per_stroke(stroke_ul)
        t, s = _timed_run(sc, repeat)
        rows.append({"stroke_ul": stroke_ul, "strokes": s["strokes"], "events": s["events"], "s": t})
    a, b = _fit([r["strokes"] for r in rows], [r["s"] for r in rows])
    return {"rows": rows, "fit_intercept_s": a, "per_stroke_ns": b * 1e9}


def bench_per_event(repeat: int) -> dict[str, Any]:
    """Run time against event count at a fixed number of strokes (bolus interval varied)."""
    rows = []
    for interval_h in scenarios.BOLUS_INTERVAL_H:
        sc = scenarios.per_event(interval_h)
        t, s = _timed_run(sc, repeat)
        rows.append({"bolus_interval_h": interval_h, "strokes": s["strokes"], "events": s["events"], "s": t})
    a, c = _fit([r["events"] for r in rows], [r["s"] for r in rows])
    return {"rows": rows, "fit_intercept_s": a, "per_event_us": c * 1e6}


def bench_tones(repeat: int) -> dict[str, Any]:
    """Cost of one tone event: a pump left empty for a year against the same pump stopped at day 40."""
    rows = []
    for days in (40, 365):
        sc = scenarios.left_empty(days)
        t, s = _timed_run(sc, repeat)
        rows.append({"days": days, "strokes": s["strokes"], "events": s["events"], "tones": s["tones"], "s": t})
    a, b = rows
    return {"rows": rows, "per_tone_event_us": (b["s"] - a["s"]) / (b["events"] - a["events"]) * 1e6}


# Peak RSS is read from /proc/self/status (VmHWM): unlike ru_maxrss, it starts
# afresh at exec, so the parent's size does not leak into the figure.
_RSS_CODE = """
import json, sys, time, pumpsim
from pathlib import Path
from pumpsim.scenario import scenario_from_data
def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
sc = scenario_from_data(json.loads(sys.argv[2]))
before = hwm_kb()
t = time.perf_counter()
res = pumpsim.simulate(sc, sink=pumpsim.DirectorySink(Path(sys.argv[1])))
wall = time.perf_counter() - t
print(before, hwm_kb(), res.summary["strokes"], wall)
"""


def bench_memory(years: int) -> dict[str, Any]:
    """Peak RSS of a long default run (refills all along) streaming its trace to disk, in a fresh process."""
    data = parse_toml(pumpsim.scenario.builtin_text("default"))
    data["duration"] = f"{365 * years} d"
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", _RSS_CODE, str(Path(tmp) / "run"), json.dumps(data)],
                             capture_output=True, text=True, check=True).stdout.split()
        size = sum(f.stat().st_size for f in (Path(tmp) / "run").iterdir())
    before_kb, after_kb, strokes, wall = int(out[0]), int(out[1]), int(out[2]), float(out[3])
    return {"years": years, "strokes": strokes, "peak_rss_mb": after_kb / 1024, "import_rss_mb": before_kb / 1024,
            "wall_s": wall, "output_mb": size / 2**20}


def bench_modes(names: list[str]) -> dict[str, Any]:
    """Bulk vs exact: identical outputs, and how much faster bulk is."""
    rows = []
    for name in names:
        sc = pumpsim.load_scenario(name)
        t = time.perf_counter()
        a = pumpsim.simulate(sc)
        tb = time.perf_counter() - t
        t = time.perf_counter()
        b = pumpsim.simulate(sc, exact=True)
        te = time.perf_counter() - t
        same = a.summary == b.summary and a.events == b.events
        rows.append({"scenario": name, "strokes": a.summary["strokes"], "bulk_s": tb, "exact_s": te, "identical": same})
    return {"rows": rows}


#: The sections of a run, in order (``--only`` picks some).
SECTIONS = ("device_year", "per_stroke", "per_event", "tones", "memory", "modes", "hil")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, 2-year memory run, fewer mode checks, "
                                                         "a 1-minute real-time HIL run")
    ap.add_argument("--only", metavar="S,S,...", help=f"run only these sections ({', '.join(SECTIONS)})")
    ap.add_argument("--realtime-minutes", type=float, metavar="N",
                    help="length of the real-time HIL run at speed 1 (default 10, 1 with --quick; 0 skips it)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = ap.parse_args(argv)
    only = set(SECTIONS) if args.only is None else {s.strip() for s in args.only.split(",")}
    unknown = only - set(SECTIONS)
    if unknown:
        ap.error(f"--only {','.join(sorted(unknown))}: expected sections among {', '.join(SECTIONS)}")
    minutes = args.realtime_minutes if args.realtime_minutes is not None else 1.0 if args.quick else 10.0
    if minutes < 0:
        ap.error(f"--realtime-minutes {minutes:g}: expected >= 0")
    repeat = 3 if args.quick else 9
    # A partial run (--only) updates the sections it ran in the file and keeps the others.
    out: dict[str, Any] = json.loads(args.out.read_text()) if args.only and args.out.exists() else {}
    out.update({
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
        "numpy": np.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
    })
    ok = True
    if "device_year" in only:
        _device_year(out, repeat, args.quick)
    if "per_stroke" in only:
        _per_stroke(out, repeat)
    if "per_event" in only:
        _per_event(out, repeat)
    if "tones" in only:
        _tones(out, repeat)
    if "memory" in only:
        _memory(out, args.quick)
    if "modes" in only:
        ok = _modes(out, args.quick) and ok
    if "hil" in only:
        from benchmarks import hil  # pyserial and the emulator processes only when asked for

        out["hil"] = hil.run(args.quick, minutes)
        ok = ok and out["hil"]["virtual"]["identical_summary"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwritten: {args.out}")
    return 0 if ok else 1


def _device_year(out: dict[str, Any], repeat: int, quick: bool) -> None:
    print("== one device-year, default scenario (flex dosing, refills, alarms)")
    y = out["device_year"] = bench_device_year(repeat, 1 if quick else 3)
    print(f"  strokes {y['strokes']:,} (peers {y['peer_strokes']:,}), events {y['events']}")
    print(f"  pumpsim bulk, no trace   {y['pumpsim_bulk_s'] * 1e3:8.1f} ms   (target <= 50 ms)")
    print(f"  pumpsim bulk, with trace {y['pumpsim_bulk_with_trace_s'] * 1e3:8.1f} ms")
    print(f"  numpy floor              {y['numpy_floor_s'] * 1e3:8.1f} ms")
    print(f"  naive SimPy per stroke   {y['naive_simpy_s'] * 1e3:8.1f} ms")
    print(f"  ratio: speed-up vs naive SimPy {y['speedup_vs_naive_simpy']:.1f}x (target >= 50x); "
          f"time / numpy floor {y['ratio_to_numpy_floor']:.2f}x (target <= 2x)")


def _per_stroke(out: dict[str, Any], repeat: int) -> None:
    print("== run time against stroke count (events fixed)")
    ps = out["per_stroke"] = bench_per_stroke(repeat)
    for r in ps["rows"]:
        print(f"  stroke {r['stroke_ul']:>5} uL  strokes {r['strokes']:>10,}  events {r['events']:>5}  "
              f"{r['s'] * 1e3:8.2f} ms")
    print(f"  fit: {ps['fit_intercept_s'] * 1e3:.2f} ms + {ps['per_stroke_ns']:.1f} ns/stroke (target <= 40 ns)")


def _per_event(out: dict[str, Any], repeat: int) -> None:
    print("== run time against event count (strokes fixed)")
    pe = out["per_event"] = bench_per_event(repeat)
    for r in pe["rows"]:
        print(f"  bolus every {r['bolus_interval_h']:>4} h  strokes {r['strokes']:>8,}  events {r['events']:>6}  "
              f"{r['s'] * 1e3:8.2f} ms")
    print(f"  fit: {pe['fit_intercept_s'] * 1e3:.2f} ms + {pe['per_event_us']:.2f} us/event (target <= 15 us)")


def _tones(out: dict[str, Any], repeat: int) -> None:
    print("== tone events (a pump left empty: strokes fixed, a critical tone every 10 min)")
    tn = out["tones"] = bench_tones(repeat)
    for r in tn["rows"]:
        print(f"  {r['days']:>3} days  strokes {r['strokes']:>8,}  events {r['events']:>6}  tones {r['tones']:>6}  "
              f"{r['s'] * 1e3:8.2f} ms")
    print(f"  {tn['per_tone_event_us']:.2f} us per tone event (target <= 15 us per event)")


def _memory(out: dict[str, Any], quick: bool) -> None:
    years = 2 if quick else 10
    print(f"== memory: {years}-year default run, trace streamed to disk, fresh process")
    m = out["memory"] = bench_memory(years)
    print(f"  peak RSS {m['peak_rss_mb']:.0f} MB (after imports {m['import_rss_mb']:.0f} MB; target < 200 MB), "
          f"{m['strokes']:,} strokes, run {m['wall_s']:.2f} s with outputs, {m['output_mb']:.1f} MB written")


def _modes(out: dict[str, Any], quick: bool) -> bool:
    names = ["analytic", "priming"] if quick else pumpsim.scenario.builtin_names()
    print("== bulk vs exact (identical outputs; exact is one SimPy event per stroke)")
    md = out["modes"] = bench_modes(names)
    for r in md["rows"]:
        print(f"  {r['scenario']:<22} strokes {r['strokes']:>10,}  bulk {r['bulk_s'] * 1e3:8.1f} ms  "
              f"exact {r['exact_s'] * 1e3:9.1f} ms  identical {r['identical']}")
    return all(r["identical"] for r in md["rows"])


if __name__ == "__main__":
    sys.exit(main())
