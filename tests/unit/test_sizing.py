"""The output-size estimate: hand-worked counts, and real runs within the documented 40 %."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumpsim.cli import main
from pumpsim.scenario import builtin_names, load_scenario
from pumpsim.scenario.sizing import (
    OUTPUT_LIMIT_BYTES,
    estimate_output,
    estimate_output_bytes,
    format_bytes,
)

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 0.4  # as documented in pumpsim/scenario/sizing.py and docs/scenario-format.md#output-size


def test_analytic_counts_by_hand() -> None:
    """analytic: 20 mL at 0.5 mL/day, alarm at 2 mL, 45 days, hourly trace.

    Low alarm at (20 - 2) / 0.5 = day 36, empty at 20 / 0.5 = day 40. Tones: hourly from
    day 36 to 40 = 96, every 10 min from day 40 to 45 = 720; 816 tones. Events: 3 at boot +
    816 tones + 3 alarm events (low, empty, delivery stopped) = 822 (the real run has 824).
    Trace rows: 45 x 24 = 1080 grid rows + the row at 0 + 820 event instants = 1901.
    """
    est = estimate_output(load_scenario("analytic"))
    assert est.events == 822
    assert est.trace_rows == 1901


def test_thirty_years_at_one_minute_is_over_a_gigabyte() -> None:
    """10950 d at a 1-minute trace: 10950 x 1440 = 15,768,000 grid rows, over 1 GB and over the limit."""
    sc = load_scenario('duration = "10950 d"\ntrace_interval = "1 min"\n[drug]\nconcentration = "500 mcg/mL"\n'
                       '[prescription]\ndose = "250 mcg/day"\n[refill_plan]\nevery = "30 d"\nrefill = "18 mL"\n')
    est = estimate_output(sc)
    assert est.trace_rows >= 15_768_001
    assert estimate_output_bytes(sc) > 10**9 > OUTPUT_LIMIT_BYTES
    assert "GB" in est.describe()


@pytest.mark.parametrize("name", [*builtin_names(), "tests/scenario/edge_minute_trace.toml"])
def test_estimate_is_within_40_percent_of_a_real_run(name: str, tmp_path: Path) -> None:
    """Run the scenario for real and compare the bytes of its files (four, six with a [patient]) with the estimate."""
    source = str(ROOT / name) if name.endswith(".toml") else name
    out = tmp_path / "run"
    assert main(["run", source, "--out", str(out), "--quiet"]) == 0
    files = ("summary.json", "events.jsonl", "trace.csv", "scenario.toml", "pk.csv", "trial.csv")
    real = sum((out / f).stat().st_size for f in files if (out / f).exists())
    est = estimate_output_bytes(load_scenario(source))
    assert (1 - TOLERANCE) * real <= est <= (1 + TOLERANCE) * real, (est, real)


def test_format_bytes() -> None:
    """Powers of 1000, three significant digits."""
    assert format_bytes(999) == "999 bytes"
    assert format_bytes(234_144) == "234 kB"
    assert format_bytes(200_000_000) == "200 MB"
    assert format_bytes(1_104_000_000) == "1.1 GB"
