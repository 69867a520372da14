"""`pumpsim sweep`: --vary parsing, run inputs, metrics, the command line (see test_sweep_store.py for the files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sweep_cases import DAY_S, PLANNED, read_aggregate, read_records, sweep_cli

import pumpsim
from pumpsim import sweep
from pumpsim.cli import main
from pumpsim.scenario import Scenario

# ------------------------------------------------------------------ --vary parsing


def test_each_distribution_parses_into_the_first_arguments_unit() -> None:
    """normal/uniform/triangular/lognormal/choice parse; later arguments convert to the first's unit."""
    s = sweep.parse_vary("pump.fill=uniform(18 mL, 20000 uL)")
    assert (s.dist, s.unit, s.values, s.path) == ("uniform", "mL", (18.0, 20.0), ("pump", "fill"))
    s = sweep.parse_vary("pump.calibration_error = normal( 0 % ,3 %)")
    assert (s.key, s.values, s.family) == ("pump.calibration_error", (0.0, 3.0), "percent")
    assert s.text == "pump.calibration_error=normal(0 %, 3 %)"
    s = sweep.parse_vary("prescription.dose=triangular(200 mcg/day, 0.25 mg/day, 300 mcg/day)")
    assert s.values == (200.0, 250.0, 300.0) and s.unit == "mcg/day"
    s = sweep.parse_vary("drug.concentration=lognormal(500 mcg/mL, 1.1)")
    assert s.values == (500.0, 1.1) and s.family == "concentration"
    s = sweep.parse_vary("refill_plan.every=choice(17 d, 21 d, 2 w)")
    assert s.values == (17.0, 21.0, 14.0) and s.args == ("17 d", "21 d", "2 w")
    assert sweep.parse_vary("visit.2.refill=uniform(18 mL, 20 mL)").path == ("visit", 1, "refill")
    assert sweep.parse_vary("prescription.step.3.dose=normal(400 mcg/day, 10 mcg/day)").path == (
        "prescription", "step", 2, "dose")
    assert sweep.parse_vary("visit.at=normal(0 d, 12 h)").values == (0.0, 0.5)


@pytest.mark.parametrize(("arg", "fragment"), [
    ("foo", "expected KEY=DISTRIBUTION"),
    ("pump.fill=gauss(1 mL, 2 mL)", "expected a distribution normal(MEAN, SD)"),
    ("pump.fill=normal(1 mL)", "normal takes 2 arguments (MEAN, SD), got 1"),
    ("pump.fill=triangular(1 mL, 2 mL)", "triangular takes 3 arguments"),
    ("pump.nokey=normal(0 %, 1 %)", "pump.nokey is not a numeric scenario key"),
    ("pmp.fill=normal(1 mL, 1 mL)", "no table [pmp]"),
    ("pump.fill=normal(0 %, 1 %)", "MEAN '0 %' is not a volume"),
    ("pump.calibration_error=uniform(0 %, 1 mL)", "HI '1 mL' is not a percentage"),
    ("pump.fill=normal(19 mL, -1 mL)", "SD must be >= 0"),
    ("pump.fill=uniform(20 mL, 18 mL)", "LO <= HI"),
    ("pump.fill=lognormal(19 mL, 1 mL)", "GSD '1 mL' must be a plain number >= 1"),
    ("pump.fill=lognormal(0 mL, 1.1)", "MEDIAN must be above 0"),
    ("visit.refill=normal(19 mL, 1 mL)", "e.g. visit.1.refill"),
    ("pump.name=choice(a)", "not a numeric scenario key"),
])
def test_bad_vary_specs_name_the_argument(arg: str, fragment: str) -> None:
    """Each malformed --vary raises one SweepError that quotes the argument and says what was expected."""
    with pytest.raises(sweep.SweepError) as e:
        sweep.parse_vary(arg)
    assert str(e.value).startswith(f"--vary {arg}:") and fragment in str(e.value)


def test_keys_the_scenario_cannot_take_are_refused_up_front(analytic: Scenario) -> None:
    """dose where the scenario has rate, a missing [[visit]] or [refill_plan]: one error before any run."""
    for arg, fragment in [("prescription.dose=normal(250 mcg/day, 5 mcg/day)", "either dose or rate"),
                          ("visit.1.refill=uniform(18 mL, 20 mL)", "no [[visit]] entries"),
                          ("refill_plan.every=uniform(20 d, 30 d)", "[refill_plan] refill = (missing)")]:
        with pytest.raises(sweep.SweepError) as e:
            sweep.make_plan(analytic, 5, vary=[arg])
        assert str(e.value).startswith(f"--vary {arg}:") and fragment in str(e.value), str(e.value)
    with pytest.raises(sweep.SweepError, match=r"has 1 \[\[visit\]\] entries, not 2"):
        sweep.make_plan(pumpsim.load_scenario("default"), 5, vary=["visit.2.refill=uniform(18 mL, 20 mL)"])
    with pytest.raises(sweep.SweepError, match="already varied"):
        sweep.make_plan(analytic, 5, vary=["pump.fill=uniform(18 mL, 20 mL)", "pump.fill=normal(19 mL, 1 mL)"])


def test_samples_are_written_back_and_validated_like_a_file(analytic: Scenario) -> None:
    """A sample lands in the scenario in the first argument's unit; the loader rejects out-of-range samples."""
    plan = sweep.make_plan(analytic, 20, vary=["pump.fill=uniform(18000 uL, 20 mL)",
                                               "pump.calibration_error=normal(0 %, 2 %)"])
    sc, _seed, params, err = sweep.build_run(plan, 3)
    assert err is None and sc is not None
    assert params["pump.fill"].endswith(" uL") and params["pump.calibration_error"].endswith(" %")
    assert sc.pump.fill_nl == round(float(params["pump.fill"].split()[0]) * 1000)
    assert sc.pump.calibration_error == pytest.approx(float(params["pump.calibration_error"].split()[0]) / 100)
    bad = sweep.make_plan(analytic, 20, vary=["pump.fill=uniform(15 mL, 25 mL)"])
    results = [sweep.run_one(bad, i) for i in range(20)]
    failed = [r for r in results if not r["ok"]]
    assert 0 < len(failed) < 20
    for r in failed:
        assert float(r["params"]["pump.fill"].split()[0]) > 20
        assert r["error"].startswith("[pump] fill = ") and "to the reservoir's 20 mL" in r["error"]
    agg = sweep.aggregate(bad, results)
    assert agg["runs"]["failed"] == len(failed)
    # One reason at different sampled values is one group, with the numbers masked and a real example.
    assert len({r["error"] for r in failed}) > 1
    assert [(f["count"], f["first_index"]) for f in agg["failures"]] == [(len(failed), failed[0]["index"])]
    group = agg["failures"][0]
    assert group["error"].startswith('[pump] fill = "# mL"') and "reservoir's # mL" in group["error"]
    assert group["example"] == failed[0]["error"]


def test_run_inputs_depend_only_on_seed_and_index(analytic: Scenario) -> None:
    """Run i's simulation seed and samples are a function of (base seed, i) and nothing else."""
    plan = sweep.make_plan(analytic, 1000, seed=42, vary=["pump.stroke_cv=uniform(0 %, 5 %)"])
    other = sweep.make_plan(analytic, 7, seed=42, vary=["pump.stroke_cv=uniform(0 %, 5 %)"])
    assert sweep.build_run(plan, 5)[1:] == sweep.build_run(other, 5)[1:]
    assert sweep.build_run(plan, 5)[1:] != sweep.build_run(plan, 6)[1:]
    assert sweep.run_seeds(42, 5)[1] != sweep.run_seeds(43, 5)[1]


def test_visit_jitter_moves_every_visit_and_can_cause_a_dry(planned: Path) -> None:
    """visit.at jitters refill-plan visits too; with no pump error a run runs dry exactly when its refill is late."""
    sc = pumpsim.load_scenario(planned)
    plan = sweep.make_plan(sc, 30, days=60, vary=["visit.at=normal(0 d, 3 d)"])
    late = early = 0
    for i in range(30):
        r = sweep.run_one(plan, i)
        offset, _ = r["params"]["visit.at"]  # planned visits at days 37 and 74
        refill_day = 37 + float(offset.split()[0])
        if abs(refill_day - 40) < 0.01:
            continue
        assert (r["dry_count"] > 0) == (refill_day > 40), (i, offset)
        late += refill_day > 40
        early += refill_day < 40
    assert late and early
    sc2, *_ = sweep.build_run(plan, 0)
    assert sc2 is not None and len(sc2.visits) == len(sc.visits) == 2 and sc2.visits[0].at_ms != sc.visits[0].at_ms


# ------------------------------------------------------------------ metrics


def test_positive_calibration_error_dries_before_the_alarm(planned: Path, tmp_path: Path) -> None:
    """+15..25 % over-delivery: every run dries before its low-reservoir alarm; with no error nothing dries."""
    out = tmp_path / "over"
    assert sweep_cli(str(planned), "--runs", "12", "--days", "60", "--workers", "1", "--out", str(out),
                  "--vary", "pump.calibration_error=uniform(15 %, 25 %)") == 0
    agg = read_aggregate(out)
    assert agg["dry"]["runs_with_dry"] == 12 and agg["dry"]["cycles"] == 24 and agg["dry"]["cycles_with_dry"] == 12
    m = agg["margin_h"]
    assert m["episodes"] == 12 and m["zero_or_negative"] == 12 and m["no_alarm_before"] == 12
    assert m["max"] is not None and m["max"] <= 0
    for r in read_records(out):
        (ep,) = r["dry_episodes"]
        err = float(r["params"]["pump.calibration_error"].split()[0]) / 100
        assert ep["t_s"] == pytest.approx(20 / (0.5 * (1 + err)) * DAY_S, rel=1e-3)  # 20 mL at the true rate
        assert ep["alarm_t_s"] == pytest.approx(36 * DAY_S, abs=60)  # the firmware's own estimate
        assert ep["before_next_visit"] and ep["next_visit_s"] == 37 * DAY_S
    zero = tmp_path / "zero"
    assert sweep_cli(str(planned), "--runs", "12", "--days", "60", "--workers", "1", "--out", str(zero),
                  "--vary", "pump.stroke_cv=uniform(0 %, 3 %)") == 0
    agg0 = read_aggregate(zero)
    assert agg0["dry"]["runs_with_dry"] == 0 and agg0["margin_h"]["episodes"] == 0
    assert agg0["dry"]["p_run_ci95"][0] == 0 and 0 < agg0["dry"]["p_run_ci95"][1] < 0.3


def test_margin_is_measured_from_the_alarm_active_at_the_dry() -> None:
    """An alarm raised before the dry gives a positive margin; one raised only after it, a negative one."""
    summary = {"simulated_s": 100.0, "delivered_mg": 1.0, "prescribed_mg": 2.0, "dry_count": 2,
               "dry_total_s": 30.0, "dry_t_s": 20.0,
               "alarms": [{"alarm": "low_reservoir", "t_s": 10.0, "cleared_t_s": 40.0},
                          {"alarm": "low_reservoir", "t_s": 75.0, "cleared_t_s": None}]}
    events = [{"kind": "dry", "t_s": 20.0}, {"kind": "visit", "t_s": 40.0, "refill_ml": 20.0},
              {"kind": "visit", "t_s": 50.0}, {"kind": "dry", "t_s": 70.0}]
    m = sweep.run_metrics(summary, events)
    assert [e["margin_s"] for e in m["dry_episodes"]] == [10.0, -5.0]
    assert [e["before_next_visit"] for e in m["dry_episodes"]] == [True, False]
    assert [e["without_drug_s"] for e in m["dry_episodes"]] == [20.0, 30.0]
    assert m["refill_cycles"] == 2 and m["dry_cycles"] == 2 and m["delivered_ratio"] == 0.5


def test_wilson_interval_matches_known_values() -> None:
    """95 % Wilson: 0/10 -> [0, 0.278]; 5/10 -> [0.237, 0.763]; n = 0 -> None."""
    lo, hi = sweep.wilson(0, 10) or (None, None)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = sweep.wilson(5, 10) or (None, None)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    assert sweep.wilson(0, 0) is None


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize(("args", "fragment"), [
    (["--runs", "0"], "--runs 0: expected an integer >= 1"),
    ([], "--runs N is required"),
    (["--runs", "5", "--vary", "foo"], "--vary foo: expected KEY=DISTRIBUTION"),
    (["--runs", "5", "--vary", "pump.fill=normal(1 mL)"], "--vary pump.fill=normal(1 mL): normal takes 2 arguments"),
    (["--runs", "5", "--vary", "pump.nokey=normal(0 %, 1 %)"], "pump.nokey is not a numeric scenario key"),
    (["--runs", "5", "--vary", "pump.fill=normal(0 %, 1 %)"], "MEAN '0 %' is not a volume"),
    (["--runs", "5", "--resume"], "--resume needs --out DIR"),
    (["--runs", "5", "--workers", "0"], "--workers 0: expected an integer >= 1"),
    (["--runs", "5", "--chunk", "0"], "--chunk 0: expected an integer >= 1"),
    (["--runs", "5", "--seed", "-1"], "--seed -1: expected an integer >= 0"),
    (["--runs", "5", "--days", "0"], "--days 0: expected a number of days above 0"),
    (["nosuch", "--runs", "5"], "scenario = \"nosuch\""),
])
def test_bad_input_exits_2_with_one_line(args: list[str], fragment: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Bad sweep arguments: exit 2, one stderr line naming the argument, nothing written."""
    out = tmp_path / "never"
    assert main(["sweep", *args, "--out", str(out), "--no-progress"] if "--resume" not in args
                else ["sweep", *args, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pumpsim: error: ") and fragment in err, err
    assert not out.exists()


def test_cli_prints_the_table_and_writes_the_files(planned: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The summary table lists dry probability, margins and dose percentiles; the five files exist."""
    out = tmp_path / "t"
    assert sweep_cli(str(planned), "--runs", "6", "--days", "45", "--out", str(out), "--workers", "1",
                     "--vary", "pump.calibration_error=normal(0 %, 10 %)") == 0
    printed = capsys.readouterr().out
    for text in ("runs with a dry episode", "refill cycles that ran dry", "alarm-to-dry margin",
                 "delivered dose, % of prescribed", "p95", "95 % Wilson", "run.json"):
        assert text in printed
    assert {p.name for p in out.iterdir()} == {"sweep.json", "runs.jsonl", "aggregate.json", "aggregate.csv",
                                               "run.json"}
    cfg = json.loads((out / "sweep.json").read_text())
    assert cfg["runs"] == 6 and cfg["scenario_source"] == PLANNED and cfg["vary"] == [
        "pump.calibration_error=normal(0 %, 10 %)"]
    rows = dict(line.split(",", 1) for line in (out / "aggregate.csv").read_text().splitlines()[1:])
    assert rows["runs.ok"] == "6" and "delivered_pct_of_prescribed.p50" in rows


def test_importing_pumpsim_sweep_does_not_import_dask() -> None:
    """dask is imported only for --scheduler."""
    code = "import sys, pumpsim.sweep, pumpsim.cli; print('dask' in sys.modules, 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_default_chunk_balances_work() -> None:
    """About a second per task (20 one-year runs at ~0.05 s each), but at least ~4 tasks per worker for small sweeps."""
    assert sweep.default_chunk(10_000, 2, 365) == 20
    assert sweep.default_chunk(40, 2, 365) == 5
    assert sweep.default_chunk(3, 8, 30) == 1
    assert np.all([sweep.default_chunk(n, w, d) >= 1 for n in (1, 50) for w in (1, 4) for d in (1, 3650)])


def test_vary_rejects_absurd_exponents_cleanly(tmp_path: Path) -> None:
    """A distribution argument with a huge exponent is a one-line --vary error, exit 2, no traceback."""
    p = subprocess.run([sys.executable, "-m", "pumpsim", "sweep", "analytic", "--runs", "2", "--days", "2",
                        "--vary", "pump.fill=uniform(1e999999999 mL, 2 mL)", "--out", str(tmp_path / "s"),
                        "--no-progress"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "--vary pump.fill" in p.stderr and "Traceback" not in p.stderr


def test_ctrl_c_while_workers_start_writes_nothing_and_offers_no_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C before a new sweep's directory exists (e.g. a slow dask start): exit 130, no --resume hint."""
    def interrupted(*_args: object, **_kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep.executors, "make_runner", interrupted)
    out = tmp_path / "s"
    assert main(["sweep", "analytic", "--runs", "3", "--days", "5", "--out", str(out), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert "nothing was written" in err and "--resume" not in err, err
    assert not (out / "sweep.json").exists()


def test_failure_grouping_masks_numbers_not_hyphens() -> None:
    """Numbers (with their sign) become #; hyphens inside names and ranges stay."""
    assert sweep.error_pattern('[pump] fill = "-20.5 mL": expected 0 mL to 20 mL') == \
        '[pump] fill = "# mL": expected # mL to # mL'
    assert sweep.error_pattern("REQ-RX-008 refused 1e-3 of 0-100") == "REQ-RX-# refused # of #-#"


def test_no_progress_bar_when_stderr_is_not_a_terminal(planned: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Without --no-progress, a sweep whose stderr is captured (not a terminal) writes nothing to stderr."""
    assert main(["sweep", str(planned), "--runs", "4", "--days", "10", "--workers", "1",
                 "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().err == ""
