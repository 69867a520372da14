"""Delivery accuracy (pumpsim trumpet): hand-worked cases, an independent loop implementation, the stroke-cycle
rule, a simulated pump, and every kind of bad input."""

from __future__ import annotations

import csv
import doctest
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

import pumpsim
from pumpsim.analysis import accuracy
from pumpsim.analysis.accuracy import TrumpetParams, trumpet, volume_ml
from pumpsim.analysis.series import Series, read_series
from pumpsim.cli import main
from pumpsim.results.records import AccuracyReport
from pumpsim.testing.records import check_record

DAY_S = 86400.0


def test_docstring_example_holds() -> None:
    """The hand-worked example in trumpet()'s docstring runs (r = 1 uL/min, P = 2 and 3 min)."""
    assert doctest.testmod(accuracy).failed == 0


def test_hand_worked_trumpet() -> None:
    """r = 1 uL/min = 1.44 mL/day, S = 1 min, V = 0, 1, 2.2, 3.2, 4.0, 5.0, 6.0 uL.

    Q_i = 1.0, 1.2, 1.0, 0.8, 1.0, 1.0 uL/min. A = (6/6 - 1)/1 = 0 %.
    P = 1 min: +20 % / -20 %, m = 6. P = 2: means 1.1, 1.1, 0.9, 0.9, 1.0 -> +10 / -10, m = 5.
    P = 3: 3.2/3, 3.0/3, 2.8/3, 2.8/3 -> +6.667 / -6.667, m = 4. P = 6: 1.0 -> 0 / 0, m = 1.
    """
    s = Series("hand", "volume_ml", np.arange(7) * 60.0, np.array([0, 1, 2.2, 3.2, 4.0, 5.0, 6.0]) / 1000)
    r = trumpet(s, TrumpetParams(rate_ml_per_day=1.44, interval_s=60, start_s=0, length_s=360,
                                 windows_s=(60, 120, 180, 360)))
    assert r.mean_error_pct == pytest.approx(0, abs=1e-9) and r.mean_flow_ml_per_day == pytest.approx(1.44)
    got = [(p.window_s, p.windows, p.ep_max_pct, p.ep_min_pct) for p in r.points]
    want = [(60, 6, 20, -20), (120, 5, 10, -10), (180, 4, 20 / 3, -20 / 3), (360, 1, 0, 0)]
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w, abs=1e-9)
    curve = r.curve()
    assert curve["window_min"] == pytest.approx([1, 2, 3, 6])
    assert curve["ep_max_pct"] == pytest.approx([20, 10, 20 / 3, 0]) and curve["ep_min_pct"][0] == pytest.approx(-20)
    assert r.flow()["flow_ml_per_day"] * 1000 / 1440 == pytest.approx([1, 1.2, 1, 0.8, 1, 1])


def test_mass_with_density_and_evaporation() -> None:
    """The same delivery weighed: W = 0.998 V - E t with E = 0.6 mg/h gives back V exactly (+1 g tare)."""
    t = np.arange(7) * 60.0
    v_ml = np.array([0, 1, 2.2, 3.2, 4.0, 5.0, 6.0]) / 1000
    mass_g = 1.0 + 0.998 * v_ml - 0.6e-3 / 3600 * t
    s = Series("weighed", "mass_g", t, mass_g)
    assert volume_ml(s, 0.998, 0.6) == pytest.approx(v_ml, abs=1e-12)
    r = trumpet(s, TrumpetParams(rate_ml_per_day=1.44, interval_s=60, start_s=0, length_s=360,
                                 windows_s=(120,), density_g_per_ml=0.998, evaporation_mg_per_h=0.6))
    assert (r.points[0].ep_max_pct, r.points[0].ep_min_pct) == pytest.approx((10, -10))
    # Without the corrections the pump looks 0.2 % slower and evaporation shaves off more.
    plain = trumpet(s, TrumpetParams(rate_ml_per_day=1.44, interval_s=60, start_s=0, length_s=360, windows_s=(120,)))
    assert plain.mean_error_pct is not None and plain.mean_error_pct < -0.2


# ------------------------------------------------------------------ an independent implementation


def _interp(ts: list[float], vs: list[float], x: float) -> float:
    for i in range(len(ts) - 1):
        if ts[i] <= x <= ts[i + 1]:
            return vs[i] + (vs[i + 1] - vs[i]) * (x - ts[i]) / (ts[i + 1] - ts[i])
    raise AssertionError(x)


def _reference(ts: list[float], vs: list[float], rate: float, interval: float, start: float, length: float,
               windows: list[float], stroke_ul: float | None) -> tuple[float, list[tuple[int, float, float]]]:
    """IEC 60601-2-24 as written, with loops: Q_i per interval, E_P(j) = (S/P) sum 100 (Q_i - r)/r."""
    s = interval
    if stroke_ul is not None:
        cycle = stroke_ul / (rate * 1000 / 86400)
        s = max(1, round(interval / cycle)) * cycle
    n_total = int(length / s + 1e-9)
    t1 = ts[0] + start
    grid = [_interp(ts, vs, t1 + j * s) for j in range(n_total + 1)]
    q = [(grid[i] - grid[i - 1]) / s * 86400 for i in range(1, n_total + 1)]  # mL/day
    a = 100 * ((grid[-1] - grid[0]) / (n_total * s) * 86400 - rate) / rate
    out = []
    done = set()
    for p in windows:
        n = max(1, round(p / s))
        if n in done:
            continue
        done.add(n)
        errs = []
        for j in range(n_total - n + 1):
            errs.append(s / (n * s) * sum(100 * (q[i] - rate) / rate for i in range(j, j + n)))
        out.append((len(errs), max(errs), min(errs)))
    return a, out


@pytest.mark.parametrize("seed", range(12))
def test_matches_a_straightforward_implementation(seed: int) -> None:
    """Random irregular series and parameters: the vectorised analysis equals the loop-and-sum reference."""
    rnd = random.Random(seed)
    rate = rnd.uniform(0.1, 2.0)  # mL/day
    ts, vs, t, v = [], [], 0.0, 0.0
    while t < 30 * 3600:
        ts.append(t)
        vs.append(v)
        dt = rnd.uniform(5, 60)
        t += dt
        v += rate / 86400 * dt * rnd.uniform(0.5, 1.5) + rnd.gauss(0, 1e-6)  # noise: a balance can go down
    interval = rnd.uniform(60, 900)
    start, length = rnd.uniform(0, 4 * 3600), rnd.uniform(6, 20) * 3600
    windows = sorted(rnd.uniform(interval, length / 2) for _ in range(rnd.randint(1, 5)))
    stroke = rnd.choice([None, 0.25, 1.0])
    r = trumpet(Series("random", "volume_ml", np.array(ts), np.array(vs)),
                TrumpetParams(rate_ml_per_day=rate, interval_s=interval, start_s=start, length_s=length,
                              windows_s=tuple(windows), stroke_volume_ul=stroke))
    a, rows = _reference(ts, vs, rate, interval, start, length, windows, stroke)
    assert r.mean_error_pct == pytest.approx(a, rel=1e-9, abs=1e-9)
    got = [(p.windows, p.ep_max_pct, p.ep_min_pct) for p in r.points]
    assert len(got) == len(rows)
    for g, w in zip(got, rows, strict=True):
        assert g[0] == w[0] and g[1:] == pytest.approx(w[1:], rel=1e-9, abs=1e-7)


def test_whole_stroke_cycles_remove_quantisation_artefacts() -> None:
    """Bissig 2022: a perfect 0.25 uL stroke every 43.2 s (0.5 mL/day), weighed every second.

    Windows of whole cycles hold whole strokes: Ep = 0 for every window. The same windows in plain minutes
    (12 min = 16.67 strokes) see 16 or 17 strokes: errors of several percent that are not the pump's.
    (The strokes fall half a cycle off the grid, so no grid point lies within a sample of a stroke; one that
    does is interpolated across it, an error of up to a stroke at a window's end.)
    """
    t = np.arange(0, 26 * 3600, 1.0)
    v = np.floor(t / 43.2 + 0.5) * 0.25e-3
    s = Series("strokes", "volume_ml", t, v)
    whole = trumpet(s, TrumpetParams(rate_ml_per_day=0.5, stroke_volume_ul=0.25))
    assert whole.cycle_s == pytest.approx(43.2) and whole.interval_s == pytest.approx(8 * 43.2)
    for p in whole.points:
        assert abs(p.ep_max_pct) < 1e-6 and abs(p.ep_min_pct) < 1e-6, p
    plain = trumpet(s, TrumpetParams(rate_ml_per_day=0.5))
    assert plain.points[0].ep_max_pct > 2 and plain.points[0].ep_min_pct < -2


def test_a_simulated_pump_three_percent_fast_is_flat_at_plus_three(tmp_path: Path) -> None:
    """A simulated pump at 0.36 mL/day with 0.25 uL strokes (one a minute), +3 % calibration, traced every
    minute: every window holds whole strokes of 0.2575 uL, so A = Ep(max) = Ep(min) = +3 %."""
    sc = pumpsim.load_scenario("""
name = "acc"
duration = "26 h"
trace_interval = "1 min"
[pump]
stroke_volume = "0.25 uL"
calibration_error = "3 %"
[drug]
concentration = "500 mcg/mL"
[prescription]
rate = "0.36 mL/day"
""")
    pumpsim.simulate(sc, sink=pumpsim.DirectorySink(tmp_path / "run"))
    r = trumpet(read_series(tmp_path / "run" / "trace.csv"),
                TrumpetParams(rate_ml_per_day=0.36, stroke_volume_ul=0.25))
    assert r.cycle_s == pytest.approx(60) and r.interval_s == pytest.approx(360)
    assert r.mean_error_pct == pytest.approx(3.0, abs=1e-6)
    for p in r.points:
        assert (p.ep_max_pct, p.ep_min_pct) == pytest.approx((3.0, 3.0), abs=1e-5)


# ------------------------------------------------------------------ the command


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _gravimetric(path: Path, hours: float = 25, every_s: float = 30, rate_ml_day: float = 0.5,
                 bad: dict[int, str] | None = None) -> Path:
    """A clean balance record: 0.5 mL/day of water (1 g/mL), a status column, optional bad statuses."""
    lines = ["# balance: semi-micro, 0.01 mg", "t_s,mass_g,status"]
    for i in range(int(hours * 3600 / every_s) + 1):
        t = i * every_s
        status = (bad or {}).get(i, "S")
        lines.append(f"{t:g},{10 + rate_ml_day / 86400 * t:.5f},{status}")
    return _write(path, "\n".join(lines) + "\n")


def test_trumpet_command_writes_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A perfect gravimetric record: A = 0 (within the 0.01 mg rounding), the default windows, both files."""
    f = _gravimetric(tmp_path / "g.csv", bad={100: "+", 101: "ES"})
    out = tmp_path / "out"
    assert main(["trumpet", str(f), "--rate", "0.5 mL/day", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 readings that were not weights left out" in printed and "mean flow error A = +0.00 %" in printed
    rec = json.loads((out / "accuracy.json").read_text())
    check_record(rec, AccuracyReport, "accuracy.json")
    assert rec["not_weights"] == 2 and rec["interval_s"] == 360 and rec["start_s"] == 43200
    assert [row["window_s"] for row in rec["trumpet"]] == [720, 1440, 3600, 7920, 13680, 22320]
    rows = list(csv.DictReader((out / "trumpet.csv").open()))
    assert [float(r["window_min"]) for r in rows] == [12, 24, 60, 132, 228, 372]
    assert all(abs(float(r["ep_max_pct"])) < 0.1 for r in rows)
    # A second analysis into the same folder is refused and leaves the first intact.
    before = (out / "accuracy.json").read_bytes()
    assert main(["trumpet", str(f), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and (out / "accuracy.json").read_bytes() == before


def test_without_a_rate_the_reference_is_the_mean_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _gravimetric(tmp_path / "g.csv", rate_ml_day=0.4)
    assert main(["trumpet", str(f), "--out", str(tmp_path / "o")]) == 0
    assert "(measured mean flow)" in capsys.readouterr().out
    rec = json.loads((tmp_path / "o" / "accuracy.json").read_text())
    assert rec["rate_given"] is False and rec["mean_error_pct"] is None
    assert rec["rate_ml_per_day"] == pytest.approx(0.4, rel=1e-4)


@pytest.mark.parametrize(("content", "args", "message"), [
    ("", [], "the file is empty"),
    ("# only a comment\n", [], "the file is empty"),
    ("t_s,mass_g\n", [], "no data rows"),
    ("t_s,mass_g\n0,1.0\n", [], "one data row"),
    ("time,mass_g\n0,1\n1,2\n", [], "no t_s column"),
    ("t_s,weight\n0,1\n1,2\n", [], "no mass_g, volume_ml or delivered_ml column"),
    ("t_s,mass_g\n0,1\n60,1.1\n60,1.2\n", [], "line 4: t_s = 60 is not after the previous row's 60"),
    ("t_s,mass_g\n0,1\n60,nan\n", [], "line 3: mass_g = 'nan': expected a finite number (g)"),
    ("t_s,volume_ml\n0,0\nabc,1\n", [], "line 3: t_s = 'abc': expected a number (s)"),
    ("t_s,mass_g,status\n0,1,S\n60,1.1\n", [], "line 3: 2 fields; expected 3"),
    ("t_s,mass_g,status\n0,1,+\n60,1.1,ET\n", [], "no data rows (2 rows had a balance status"),
    ("t_s,volume_ml\n0,0\n3600,1\n", [], "the series covers 1 h from its first sample"),
    ("t_s,volume_ml\n0,0\n90000,1\n", [], "samples 90000 s apart"),
    ("t_s,volume_ml\n0,0\n1,1\n", ["--density", "1 g/mL"], "--density '1 g/mL': applies to a mass series"),
])
def test_bad_series_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                    args: list[str], message: str) -> None:
    """Bad files: one line naming the file (and line, column, value), what was expected; exit 2; no output."""
    f = _write(tmp_path / "bad.csv", content)
    out = tmp_path / "out"
    assert main(["trumpet", str(f), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pumpsim: error: ") and message in err, err
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--windows", "12 min,13 h"], "is longer than the analysis period 12 h: too short for the windows"),
    (["--windows", "1 h,12 min"], "--windows '1 h,12 min': expected increasing durations"),
    (["--windows", "12 kg"], "--windows '12 kg': expected a duration"),
    (["--rate", "0 mL/day"], "--rate '0 mL/day': expected a flow rate above 0"),
    (["--rate", "5 mg/day"], "--rate '5 mg/day': expected a flow rate"),
    (["--interval", "0 s"], "--interval '0 s': expected a duration above 0"),
    (["--start", "20 h"], "too short (record longer, or set the start and length)"),
    (["--density", "5 g/mL"], "expected a density from 0.5 to 2 g/mL"),
    (["--evaporation", "-1 mg/h"], "expected a mass rate >= 0"),
    (["--stroke-volume", "0 uL"], "--stroke-volume '0 uL': expected a volume above 0"),
])
def test_bad_options_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                     message: str) -> None:
    f = _gravimetric(tmp_path / "g.csv")
    assert main(["trumpet", str(f), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_missing_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trumpet", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["trumpet", str(tmp_path)]) == 2
    assert "expected a regular CSV file" in capsys.readouterr().err


def test_parameters_are_checked_in_the_api() -> None:
    s = Series("x", "volume_ml", np.arange(3.0), np.arange(3.0))
    for bad in (TrumpetParams(rate_ml_per_day=-1), TrumpetParams(windows_s=()), TrumpetParams(start_s=-1),
                TrumpetParams(windows_s=(2.0, 1.0)), TrumpetParams(evaporation_mg_per_h=math.nan)):
        with pytest.raises(ValueError):
            trumpet(s, bad)


def test_docs_state_the_defaults_the_code_uses() -> None:
    """docs/accuracy.md's defaults table says what pumpsim.analysis.accuracy uses."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "accuracy.md").read_text(encoding="utf-8")
    windows_min = ", ".join(f"{w / 60:g}" for w in accuracy.DEFAULT_WINDOWS_S)
    assert f"| {windows_min} min |" in doc
    assert f"| {accuracy.DEFAULT_INTERVAL_S / 60:g} min (rounded" in doc
    assert f"from {accuracy.DEFAULT_START_S / 3600:g} h, {accuracy.DEFAULT_LENGTH_S / 3600:g} h long" in doc
    assert f"factor of **{accuracy.TIME_SCALE}**" in doc
