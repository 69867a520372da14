"""Workloads: the scenarios the benchmarks time, built from the built-ins.

Part of the testing kit so that the benchmarks (``python -m benchmarks``) and
the test suite share them without the tests importing the benchmarks: the
tests check that every one gives identical outputs in bulk and exact mode
(tests/scenario/test_exact_vs_bulk.py). Also useful to time or stress a
change of your own against the same loads.
"""

from __future__ import annotations

from typing import Any

import pumpsim
from pumpsim.scenario import Scenario, parse_toml, scenario_from_data

#: Stroke volumes (uL) of the per-stroke series: 0.18 to 3.65 M strokes a year.
STROKE_UL = (1.0, 0.5, 0.25, 0.1, 0.05)
#: Bolus intervals (h) of the per-event series: 770 to 35,080 events a year.
BOLUS_INTERVAL_H = (24, 12, 6, 3, 1, 0.5)


def variant(base: str, **sections: dict[str, Any]) -> Scenario:
    """Built-in *base* with keys replaced per section (``top`` for top-level keys; None removes a key)."""
    data = parse_toml(pumpsim.scenario.builtin_text(base))
    for sec, values in sections.items():
        if sec == "top":
            data.update(values)
        else:
            table = data.setdefault(sec, {})
            for k, v in values.items():
                if v is None:
                    table.pop(k, None)
                else:
                    table[k] = v
    return scenario_from_data(data)


def per_stroke(stroke_ul: float) -> Scenario:
    """The analytic pump for a year, monthly refills, at *stroke_ul*: strokes vary, events stay at 39."""
    return variant(
        "analytic",
        top={"duration": "365 d"},
        pump={"stroke_volume": f"{stroke_ul} uL", "stroke_cv": "2 %"},
        refill_plan={"every": "30 d", "refill": "18 mL"},
    )


def per_event(interval_h: float) -> Scenario:
    """A periodic-bolus pump for a year, a bolus every *interval_h*: events vary, strokes stay at 730 k.

    The daily dose is the same whatever the interval (a 210 mcg/day basal
    plus 40 mcg a day in boluses), so the stroke count does not change.
    """
    per_day = 24 / interval_h
    return variant(
        "analytic",
        top={"duration": "365 d"},
        pump={"stroke_cv": "2 %"},
        prescription={"mode": "periodic_bolus", "rate": None, "dose": "210 mcg/day",
                      "bolus": f"{40 / per_day:.6g} mcg", "bolus_duration": "20 min",
                      "bolus_interval": f"{interval_h} h"},
        refill_plan={"every": "30 d", "refill": "18 mL"},
    )


def left_empty(days: int) -> Scenario:
    """The analytic pump, never refilled, for *days*: dry at day 40, then its empty alarm
    sounds every 10 minutes. Past day 40 the strokes stay at 80,000 and only tone events grow."""
    return variant("analytic", top={"duration": f"{days} d"})


def all_scenarios() -> dict[str, Scenario]:
    """Every benchmark scenario by a short name (the device-year run is the built-in ``default``)."""
    out = {"default": pumpsim.load_scenario("default")}
    out.update({f"per_stroke_{ul}uL": per_stroke(ul) for ul in STROKE_UL})
    out.update({f"per_event_{h}h": per_event(h) for h in BOLUS_INTERVAL_H})
    out["left_empty_365d"] = left_empty(365)
    return out
