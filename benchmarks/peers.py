"""Reference implementations the engine is measured against.

Both consume the same stroke statistics as pumpsim (stroke volume x (1 +
calibration error) x (1 + cv * z), z from a seeded PCG64 Generator, clipped at
zero) for the same prescription schedule, so a ratio compares engines, not
workloads.

* :func:`naive_simpy_year` - the straightforward SimPy model: one timeout per
  stroke, a scalar random draw per stroke, the reservoir and the low-reservoir
  threshold checked at every stroke, refills as a process.
* :func:`numpy_floor_year` - no engine at all: the stroke times and volumes of
  the whole run as arrays, cumsum, and searchsorted for the threshold and the
  dry points. This is the floor: generating and summing the stroke stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from firmware_model import MS_PER_DAY, PL_PER_ML, Prescription, PrescriptionMode
from pumpsim.scenario import Scenario


@dataclass(frozen=True)
class PeerResult:
    strokes: int
    pumped_nl: float
    low_alarms: int
    dry_events: int


def _daily_table(rx: Prescription, conc_ng_per_ml: int) -> list[tuple[int, float]]:
    """(start ms of day, rate nL/ms) rows of one day; continuous or flex only."""
    if rx.mode == PrescriptionMode.FLEX:
        return [(s.start_ms, s.dose_ng_per_day * PL_PER_ML / conc_ng_per_ml / 1000 / MS_PER_DAY) for s in rx.steps]
    if rx.mode == PrescriptionMode.CONTINUOUS:
        return [(0, rx.dose_ng_per_day * PL_PER_ML / conc_ng_per_ml / 1000 / MS_PER_DAY)]
    raise ValueError("peers model continuous and flex prescriptions only")


def stroke_times(sc: Scenario, duration_ms: int) -> np.ndarray:
    """Stroke times (ms) of the scenario's schedule, ignoring alarms and dry periods.

    Uses the prescriptions in force (initial, then visit reprogramming) and the
    nominal stroke volume, as the firmware would pace them.
    """
    stroke_nl = sc.pump.stroke_volume_pl / 1000
    changes = [(0, sc.prescription)] + [(v.at_ms, v.prescription) for v in sc.visits if v.prescription]
    times = []
    credit = 0.0
    for i, (t0, rx) in enumerate(changes):
        t1 = changes[i + 1][0] if i + 1 < len(changes) else duration_ms
        table = _daily_table(rx, sc.drug.conc_ng_per_ml)
        day = t0 - t0 % MS_PER_DAY
        while day < t1:
            for j, (start, rate) in enumerate(table):
                a = max(day + start, t0)
                b = min(day + (table[j + 1][0] if j + 1 < len(table) else MS_PER_DAY), t1)
                if b <= a:
                    continue
                n_max = (credit + rate * (b - a)) / stroke_nl
                k = np.arange(1, int(n_max) + 1)
                times.append(a + np.ceil((k * stroke_nl - credit) / rate))
                credit = credit + rate * (b - a) - int(n_max) * stroke_nl
            day += MS_PER_DAY
    return np.concatenate(times) if times else np.zeros(0)


def numpy_floor_year(sc: Scenario, seed: int, times: np.ndarray) -> PeerResult:
    """Integrate the whole stroke stream with numpy: cumsum + searchsorted per refill epoch.

    *times* (from :func:`stroke_times`) is computed outside the timed region,
    which flatters this peer.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    n = len(times)
    p = sc.pump
    vols = rng.standard_normal(n)
    vols *= p.stroke_volume_pl / 1000 * (1 + p.calibration_error) * p.stroke_cv
    vols += p.stroke_volume_pl / 1000 * (1 + p.calibration_error)
    np.maximum(vols, 0.0, out=vols)
    cum = np.cumsum(vols)
    refills = [v for v in sc.visits if v.refill_nl]
    bounds = np.searchsorted(times, [v.at_ms for v in refills], side="right")
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [n]])
    fills = [p.fill_nl] + [v.refill_nl for v in refills]
    low = dry = 0
    pumped = 0.0
    for s, e, fill in zip(starts, ends, fills, strict=True):
        base = cum[s - 1] if s else 0.0
        seg = cum[s:e] - base
        low += int(np.searchsorted(seg, fill - p.low_reservoir_alarm_nl) < len(seg))
        k_dry = int(np.searchsorted(seg, fill))
        dry += int(k_dry < len(seg))
        pumped += float(min(seg[-1] if len(seg) else 0.0, fill))
    return PeerResult(n, pumped, low, dry)


def naive_simpy_year(sc: Scenario, seed: int, times: np.ndarray) -> PeerResult:
    """The straightforward model: one SimPy timeout and one scalar draw per stroke.

    Stroke times are precomputed (outside the timed region), which flatters
    this peer too.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    duration_ms = int(times[-1]) if len(times) else 0
    p = sc.pump
    mean = p.stroke_volume_pl / 1000 * (1 + p.calibration_error)
    env = simpy.Environment()
    state = {"res": float(p.fill_nl), "pumped": 0.0, "low": 0, "dry": 0, "alarm": False, "empty": False}
    refills = [v for v in sc.visits if v.refill_nl]

    def pump(env: simpy.Environment):  # type: ignore[no-untyped-def]
        for t in times:
            yield env.timeout(t - env.now)
            v = max(mean * (1 + p.stroke_cv * rng.standard_normal()), 0.0)
            take = min(v, state["res"])
            state["res"] -= take
            state["pumped"] += take
            if not state["alarm"] and state["res"] <= p.low_reservoir_alarm_nl:
                state["alarm"] = True
                state["low"] += 1
            if not state["empty"] and state["res"] <= 0:
                state["empty"] = True
                state["dry"] += 1

    def clinic(env: simpy.Environment):  # type: ignore[no-untyped-def]
        for v in refills:
            yield env.timeout(v.at_ms - env.now)
            state["res"] = float(v.refill_nl)
            state["alarm"] = state["empty"] = False

    env.process(pump(env))
    env.process(clinic(env))
    env.run(until=duration_ms + 1)
    return PeerResult(len(times), state["pumped"], state["low"], state["dry"])
