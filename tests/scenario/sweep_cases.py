"""What the sweep tests share: a scenario with refills, the command line, and reading a sweep directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pumpsim
from pumpsim.cli import main

DAY_S = 86_400
#: The analytic pump (0.5 mL/day from 20 mL, alarm at 2 mL: alarm day 36, dry day 40) refilled every 37 days.
PLANNED = pumpsim.load_scenario("analytic").source.replace('duration = "45 d"', 'duration = "80 d"') + (
    '\n[refill_plan]\nevery = "37 d"\nrefill = "20 mL"\n'
)
#: Three varied keys, one of them visit.at: a sweep where some runs dry and some do not.
VARY = ["pump.calibration_error=normal(8 %, 6 %)", "pump.fill=uniform(18 mL, 20 mL)", "visit.at=normal(0 d, 1 d)"]
#: The files whose bytes depend on the plan only (run.json varies).
REPRODUCIBLE = ("sweep.json", "runs.jsonl", "aggregate.json", "aggregate.csv")


def write_planned(tmp_path: Path) -> Path:
    p = tmp_path / "planned.toml"
    p.write_text(PLANNED, encoding="utf-8")
    return p


def sweep_cli(*args: str) -> int:
    """``pumpsim sweep ARGS --no-progress``; returns the exit status."""
    return main(["sweep", *args, "--no-progress"])


def base_args(planned: Path, out: Path, *extra: str) -> list[str]:
    """24 runs of 50 days, seed 9, :data:`VARY`, into *out*."""
    vary = [a for v in VARY for a in ("--vary", v)]
    return [str(planned), "--runs", "24", "--days", "50", "--seed", "9", *vary, "--out", str(out), *extra]


def read_aggregate(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "aggregate.json").read_text()))


def read_records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]


def read_sessions(out: Path) -> list[dict[str, Any]]:
    return list(json.loads((out / "run.json").read_text())["sessions"])
