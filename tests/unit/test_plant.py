"""Plant parts: stroke stream, reservoir mixing, plug-flow catheter."""

from __future__ import annotations

import numpy as np
import pytest

from pumpsim.plant import Catheter, Reservoir, StrokeStream
from pumpsim.plant.mechanism import CHUNK


def _stream(cv: float = 0.0, cal: float = 0.0, seed: int = 1) -> StrokeStream:
    return StrokeStream(250.0, cal, cv, np.random.default_rng(seed))


def test_stream_totals_and_calibration() -> None:
    """Without noise every stroke moves stroke_volume x (1 + calibration error)."""
    s = _stream(cal=0.1)
    assert s.cum_nl(0) == 0.0
    assert s.cum_nl(1000) == pytest.approx(275_000.0)
    ks = np.array([0, 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
    assert np.array_equal(s.cum_many(ks), np.array([s.cum_nl(int(k)) for k in ks]))


def test_stream_noise_has_the_requested_spread() -> None:
    """Stroke volumes scatter with the requested coefficient of variation, never below zero."""
    s = _stream(cv=0.05)
    vols = np.diff([s.cum_nl(k) for k in range(0, 20_001)])
    assert vols.min() >= 0
    assert vols.mean() == pytest.approx(250.0, rel=0.005)
    assert vols.std() / vols.mean() == pytest.approx(0.05, rel=0.05)


def test_first_reaching_matches_a_linear_scan() -> None:
    """The vectorised search finds the same stroke as checking one stroke at a time."""
    s = _stream(cv=0.2, seed=3)
    base = s.cum_nl(500)
    target = 250.0 * 70_000
    found = s.first_reaching(500, 200_000, base + target)
    k = 501
    while s.cum_nl(k) < base + target:
        k += 1
    assert found == k
    assert s.first_reaching(500, k - 1, base + target) is None


def test_release_drops_old_chunks() -> None:
    """Released chunks are gone; later strokes are still available."""
    s = _stream()
    s.cum_nl(3 * CHUNK)
    s.release_before(2 * CHUNK + 5)
    with pytest.raises(IndexError):
        s.cum_nl(10)
    assert s.cum_nl(3 * CHUNK) == 250.0 * 3 * CHUNK


def test_reservoir_runs_dry_and_then_delivers_nothing() -> None:
    """REQ-PLANT-001: the stroke that empties the reservoir delivers the remainder; later strokes nothing."""
    s = _stream()
    r = Reservoir(s, 20e6, 1000.0, 0.5)
    assert r.dry_stroke(0, 100) == 4
    assert r.volume_at(3) == 250.0 and r.volume_at(4) == 0.0 and r.volume_at(50) == 0.0
    assert r.pumped_in_epoch(50) == 1000.0


def test_refill_mixes_with_the_unaspirated_residual() -> None:
    """Residual 1 mL at 0.5 ng/nL, 0.2 mL left by aspiration, 10 mL at 2 ng/nL injected."""
    s = _stream()
    r = Reservoir(s, 20e6, 3e6, 0.5)
    k = 8000  # 2 mL pumped
    out = r.refill(k, 10e6, 2.0, aspirate=True, unaspirated_nl=0.2e6)
    assert out.residual_nl == pytest.approx(1e6)
    assert out.aspirated_nl == pytest.approx(0.8e6) and out.aspirated_ng == pytest.approx(0.4e6)
    assert out.volume_nl == pytest.approx(10.2e6)
    assert out.conc_ng_per_nl == pytest.approx((0.2e6 * 0.5 + 10e6 * 2.0) / 10.2e6)
    assert r.epoch.x0 == pytest.approx(2e6)


def test_refill_overflow_is_reported() -> None:
    """Without aspiration, volume above the capacity overflows and is reported, not lost silently."""
    r = Reservoir(_stream(), 20e6, 15e6, 0.5)
    out = r.refill(0, 10e6, 0.5, aspirate=False, unaspirated_nl=0.0)
    assert out.volume_nl == 20e6 and out.overflow_nl == 5e6 and out.overflow_ng == pytest.approx(2.5e6)


def test_catheter_plug_flow_delays_a_concentration_change() -> None:
    """New drug entering at x reaches the tip only after the catheter volume has been pushed through."""
    c = Catheter(234_000.0, 1.0)
    c.enter(0.0, 1.0)
    c.enter(1e6, 2.0)  # concentration doubles after 1 mL pumped
    x = np.array([0.0, 1e6, 1e6 + 234_000, 1e6 + 334_000])
    mass = c.delivered_mass(x)
    assert mass[0] == 0.0
    assert mass[1] == pytest.approx(1e6)  # still the old 1 ng/nL leaving
    assert mass[2] == pytest.approx(1e6 + 234_000)  # the old plug has just cleared
    assert mass[3] == pytest.approx(1e6 + 234_000 + 2 * 100_000)
    assert c.tip_conc(1e6 + 100_000) == 1.0 and c.tip_conc(1e6 + 300_000) == 2.0
    assert c.content_mass(np.array([2e6]))[0] == pytest.approx(2 * 234_000)
