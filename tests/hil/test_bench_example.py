"""An example bench test file, as a bench team writes one: the same file runs on emulators and on hardware.

``./dev test`` runs it on emulators (started and stopped by the fixtures of
pumpsim's pytest plugin, hil/pytest_plugin.py). At the bench::

    pytest tests/hil/test_bench_example.py --hil-port /dev/ttyUSB0            # a bench (role 1)
    pytest tests/hil/test_bench_example.py --hil-port /dev/ttyACM0 --hil-role dut   # a board (role 2)
    pytest ... --hil-log-dir logs/            # every frame both ways, and the session files, per test

Tests for the other role are skipped; tests that inspect an emulator are
skipped on hardware. Hand-worked numbers are for the ``analytic`` scenario
(the fixtures' default): 0.5 mL/day in 0.25 µL strokes is 2,000 strokes a
day; 20 mL in the reservoir is 80,000 strokes; the 2 mL low-reservoir
threshold is reached after (20 - 2) / 0.5 = 36 days.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hil import BenchClient, BenchEmulator, RunOutcome, ServeOutcome
from pumpsim.units import MS_PER_DAY, MS_PER_S

pytestmark = [pytest.mark.hil, pytest.mark.timeout(120)]


def test_the_bench_fires_the_strokes_it_is_told_and_no_more(hil_bench: BenchClient) -> None:
    """RUN 5 strokes a second apart; at 3.5 s three have fired, at 10 s five (and no sixth)."""
    t0 = hil_bench.time_ms()
    hil_bench.run(5, 1000)
    assert hil_bench.advance(t0 + 3500) == 3
    assert hil_bench.advance(t0 + 10_000) == 5
    assert not hil_bench.stalled()


def test_a_stall_stops_the_motor_until_it_is_cleared(hil_bench: BenchClient) -> None:
    hil_bench.fault(stall=True)
    assert hil_bench.stalled()
    t0 = hil_bench.time_ms()
    hil_bench.run(3, 100)
    assert hil_bench.advance(t0 + 1000) == 0  # stalled: nothing fires
    hil_bench.fault(clear=True)
    assert not hil_bench.stalled()


def test_ten_days_of_the_firmware_model_on_the_bench_deliver_20000_strokes(
        hil_firmware: Callable[..., RunOutcome]) -> None:
    """10 days x 2,000 strokes a day = 20,000 strokes; 20,000 x 0.25 µL = 5 mL pumped."""
    outcome = hil_firmware(duration_ms=10 * MS_PER_DAY)
    assert outcome.complete, outcome.failure
    assert outcome.summary["strokes"] == 20_000
    assert outcome.summary["pumped_ml"] == pytest.approx(5.0)
    assert outcome.hil["link"]["failures"] == 0


def test_a_device_under_test_drives_the_plant_until_it_runs_dry(hil_plant: Callable[..., ServeOutcome]) -> None:
    """The device's whole analytic run: 80,000 strokes empty the 20 mL reservoir at day 40; low alarm at day 36."""
    outcome = hil_plant(timeout_s=100)
    assert outcome.complete, outcome.failure
    assert outcome.summary is not None
    assert outcome.summary["strokes"] == 80_000
    assert outcome.summary["dry_t_s"] == 40 * MS_PER_DAY / MS_PER_S
    assert [a["alarm"] for a in outcome.summary["alarms"]] == ["low_reservoir", "empty_reservoir"]


def test_the_bench_phases_pass_with_their_limits(hil_bench_run: Callable[..., object]) -> None:
    from hil.bench import BenchOutcome

    outcome = hil_bench_run(["connect", "self_test", "prime"])
    assert isinstance(outcome, BenchOutcome)
    assert outcome.outcome == "PASS", outcome.record["outcome_details"]
    assert outcome.measured("prime", "prime_strokes") == 936  # ceil(234 µL catheter / 0.25 µL stroke)
    assert outcome.measured("teardown", "motor_stopped") is True


def test_the_emulated_bench_was_left_safe(hil_bench: BenchClient, hil_bench_emulator: BenchEmulator) -> None:
    """Inspects the emulator: skipped on hardware."""
    hil_bench.run(100, 1000)
    hil_bench.stop()
    assert hil_bench_emulator.server.counts.acted[-1] == "STOP"
