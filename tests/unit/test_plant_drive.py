"""The plant's stroke timer and the stroke arithmetic the engine asks it about (bulk and exact mode)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_model import MotorProgram
from pumpsim.plant import Battery, Catheter, PumpPlant, Reservoir, StrokeStream, StrokeTimer
from pumpsim.units import MS_PER_DAY, PL_PER_NL

STROKE_PL = 250_000  # 0.25 uL
COST = STROKE_PL * MS_PER_DAY  # stroke-timer credit per stroke (pL x ms/day)


def _program(start_ms: int, strokes: int, rate_pl_per_day: int) -> MotorProgram:
    return MotorProgram(start_ms, strokes, rate_pl_per_day, COST, 0)


def test_timer_counts_strokes_like_the_hardware_counter() -> None:
    """1 mL/day of 0.25 uL strokes: one stroke every 21.6 s. Worked: by t = 100 s, floor(100 / 21.6) = 4.

    Loading a new program at t = 100 s keeps the 4 strokes (base) and counts on from there.
    """
    timer: StrokeTimer[MotorProgram] = StrokeTimer()
    timer.load(_program(0, 1000, 10**9))
    assert timer.count_at(21_599) == 0 and timer.count_at(21_600) == 1
    timer.advance(100_000)
    assert timer.count == 4 and timer.next_stroke_ms() == 5 * 21_600
    timer.load(_program(100_000, 2, 10**9))  # two more strokes, at 121.6 s and 143.2 s
    assert timer.base == 4 and timer.count_at(143_200) == 6 and timer.count_at(10**9) == 6
    assert timer.counts_at(range(100_000, 150_001, 25_000)) == [4, 5, 6]
    assert timer.time_of_count(6) == 143_200
    timer.advance(143_200)
    assert timer.next_stroke_ms() is None
    timer.stop()
    assert timer.count_at(10**9) == 6 and timer.rate_at(10**9) == 0 and timer.rates_at(range(3)) == [0, 0, 0]
    with pytest.raises(ValueError, match="not reached"):
        timer.time_of_count(7)


def _plant(fill_strokes: int, cv: float = 0.0, seed: int = 1) -> PumpPlant[MotorProgram]:
    stream = StrokeStream(STROKE_PL / PL_PER_NL, 0.0, cv, np.random.default_rng(seed))
    reservoir = Reservoir(stream, 20e6, fill_strokes * STROKE_PL / PL_PER_NL, 0.5)
    return PumpPlant(stream, reservoir, Catheter(0.0, 0.5), Battery())


def test_bulk_search_finds_the_emptying_stroke() -> None:
    """A reservoir of exactly 10 strokes empties at stroke 10: 10 x 21.6 s = 216 s (no noise)."""
    plant = _plant(10)
    plant.timer.load(_program(0, 1000, 10**9))
    assert plant.dry_stroke_ms(215_999) is None
    assert plant.dry_stroke_ms(10**6) == 216_000
    plant.advance(216_000)
    assert plant.check_dry() and plant.dry and plant.strokes == 10
    assert not plant.check_dry()  # found once, not again
    assert plant.dry_stroke_ms(10**6) is None
    out = plant.refill(1000.0, 0.5, aspirate=False, unaspirated_nl=0.0)
    assert out.volume_nl == 1000.0 and not plant.dry


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bulk_search_and_per_stroke_check_agree_with_noise(seed: int) -> None:
    """Exact mode's stroke-by-stroke check finds the same stroke (and time) as bulk mode's search."""
    bulk, exact = _plant(5000, cv=0.3, seed=seed), _plant(5000, cv=0.3, seed=seed)
    for p in (bulk, exact):
        p.timer.load(_program(0, 10_000, 10**9))
    t_bulk = bulk.dry_stroke_ms(10**9)
    assert t_bulk is not None
    while not exact.check_dry():
        t = exact.timer.next_stroke_ms()
        assert t is not None
        exact.advance(t)
    assert exact.now_ms == t_bulk
    bulk.advance(t_bulk)
    assert bulk.check_dry() and bulk.strokes == exact.strokes


def test_state_and_trace_values_agree() -> None:
    """The summary's state and the trace's vectorised values are the same arithmetic."""
    plant = _plant(100, cv=0.1)
    plant.timer.load(_program(0, 1000, 10**9))
    plant.advance(50 * 21_600)
    state = plant.state()
    cols = plant.trace_values(np.array([state.strokes]), np.array([0]))
    assert state.strokes == 50
    assert cols.reservoir_nl[0] == state.reservoir_nl and cols.pumped_nl[0] == state.pumped_nl
    assert cols.delivered_ng[0] == state.delivered_ng
