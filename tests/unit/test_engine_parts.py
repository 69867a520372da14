"""Engine rooms on their own: the log decoder, the summary's tally, the progress callback."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pumpsim
from firmware_model import AlarmId, BolusKind, EventCode, LogRecord, PrescriptionMode
from pumpsim.engine import decode
from pumpsim.engine.tally import Tally
from pumpsim.plant import PlantState, RefillOutcome
from pumpsim.results.records import Event


def _rec(code: int, a: int = 0, b: int = 0, t_ms: int = 90_000) -> LogRecord:
    return LogRecord(0, t_ms, code, a, b)  # type: ignore[arg-type]  # raw integers, as a bench host reads them


def test_decoder_translates_each_code_into_clinician_units() -> None:
    """a and b become names and mL, mg, s: 2,000,000 nL = 2 mL; 25,000,000 ng/mL = 25 mg/mL; 90,000 ms = 90 s."""
    head = {"t_s": 90.0, "t_ms": 90_000}
    assert decode(_rec(EventCode.ALARM_RAISED, AlarmId.LOW_RESERVOIR, 2_000_000)) == {
        **head, "kind": "alarm", "alarm": "low_reservoir", "state": "raised", "reservoir_estimated_ml": 2.0}
    assert decode(_rec(EventCode.TONE, AlarmId.EMPTY_RESERVOIR, 2)) == {
        **head, "kind": "tone", "pattern": "critical", "alarm": "empty_reservoir", "duration_ms": 3000}
    assert decode(_rec(EventCode.BOLUS_END, BolusKind.BRIDGE, 234_000)) == {
        **head, "kind": "bolus", "bolus": "bridge", "state": "end", "volume_ml": 0.234}
    assert decode(_rec(EventCode.BOLUS_START, BolusKind.PERIODIC, 0)) == {
        **head, "kind": "bolus", "bolus": "periodic", "state": "start"}
    assert decode(_rec(EventCode.REPROGRAM, PrescriptionMode.FLEX, 250_000)) == {
        **head, "kind": "reprogram", "mode": "flex", "daily_dose_mg": 0.25}
    assert decode(_rec(EventCode.LOW_ALARM_PREDICTION, -1)) == {
        **head, "kind": "prediction", "predicted_low_reservoir_t_s": None}
    assert decode(_rec(EventCode.REFILL, 2_000_000, 25_000_000)) == {
        **head, "kind": "refill", "entered_ml": 2.0, "concentration_mg_per_ml": 25.0}


def test_decoder_adds_the_plant_side_of_a_refill_when_given() -> None:
    """With the plant's outcome the refill event carries the real volume and mixed concentration."""
    out = RefillOutcome(residual_nl=0.0, aspirated_nl=0.0, aspirated_ng=0.0, added_nl=1e6, overflow_nl=0.0,
                        overflow_ng=0.0, volume_nl=1.5e6, conc_ng_per_nl=12.5)
    ev = decode(_rec(EventCode.REFILL, 2_000_000, 25_000_000), out)
    assert ev["kind"] == "refill"
    assert ev.get("reservoir_actual_ml") == 1.5 and ev.get("mixed_concentration_mg_per_ml") == 12.5


def test_decoder_never_raises_on_what_it_does_not_know() -> None:
    """An unknown code is passed on raw; an unknown argument is named unknown(N); a tone of an unknown alarm is raw."""
    assert decode(_rec(99, 1, 2)) == {"t_s": 90.0, "t_ms": 90_000, "kind": "log", "code": 99, "a": 1, "b": 2}
    ev = decode(_rec(EventCode.DELIVERY_STOPPED, 9))
    assert ev == {"t_s": 90.0, "t_ms": 90_000, "kind": "delivery_stopped", "alarm": "unknown(9)"}
    assert decode(_rec(EventCode.TONE, 9, 1))["kind"] == "log"
    assert decode(_rec(EventCode.COMMAND_REJECTED, 77, 88)) == {
        "t_s": 90.0, "t_ms": 90_000, "kind": "rejected", "reason": "unknown(77)", "command": "unknown(88)"}


def _ev(kind: str, t_s: float, **fields: Any) -> Event:
    return {"t_s": t_s, "t_ms": round(t_s * 1000), "kind": kind, **fields}  # type: ignore[return-value]


def _refill(volume_nl: float) -> RefillOutcome:
    return RefillOutcome(0.0, 0.0, 0.0, volume_nl, 0.0, 0.0, volume_nl, 0.5)


def test_tally_keeps_alarm_episodes_tones_and_dry_spells() -> None:
    """Hand-worked: dry at 100 s, refilled at 150 s, dry again at 200 s, summary at 300 s:
    2 spells, first at 100 s, dry for (150 - 100) + (300 - 200) = 150 s. A refill that leaves the
    reservoir empty (volume 0) does not end a spell."""
    t = Tally(filled_nl=1e6, filled_ng=5e5)
    for ev in (
        _ev("alarm", 10.0, alarm="low_reservoir", state="raised", reservoir_estimated_ml=2.0),
        _ev("tone", 10.0, pattern="non_critical", alarm="low_reservoir", duration_ms=1000),
        _ev("alarm", 20.0, alarm="low_reservoir", state="cleared", reservoir_estimated_ml=5.0),
        _ev("alarm", 30.0, alarm="low_reservoir", state="raised", reservoir_estimated_ml=2.0),
        _ev("prediction", 30.0, predicted_low_reservoir_t_s=None),
        _ev("dry", 100.0, strokes=80),
        _ev("visit", 150.0, origin="visit 1"),
    ):
        t.count(ev)
    t.refilled(125_000, _refill(0.0), 500_000)  # nothing put in: still dry
    t.refilled(150_000, _refill(1e6), 500_000)
    t.count(_ev("dry", 200.0, strokes=160))
    state = PlantState(strokes=160, pumped_nl=2e6, reservoir_nl=0.0, reservoir_conc_ng_per_nl=0.5,
                       delivered_ng=1e6, catheter_content_ng=0.0)
    s = t.summary(scenario="x", seed=1, complete=True, duration_ms=300_000, now_ms=300_000, plant=state,
                  catheter_nl=0.0, estimate_nl=0)
    assert s["alarms"] == [{"alarm": "low_reservoir", "t_s": 10.0, "cleared_t_s": 20.0},
                           {"alarm": "low_reservoir", "t_s": 30.0, "cleared_t_s": None}]
    assert (s["tones"], s["visits"], s["events"]) == (1, 1, 8)
    assert (s["dry_count"], s["dry_t_s"], s["dry_total_s"]) == (2, 100.0, 150.0)
    assert s["predicted_low_reservoir_t_s"] is None
    assert s["balance"]["in_ml"] == 2.0 and s["balance"]["out_ml"] == 2.0


def test_progress_is_reported_at_most_daily_and_at_the_end() -> None:
    """The analytic scenario (45 days): calls a simulated day or more apart, then one at the end."""
    seen: list[int] = []
    pumpsim.simulate(pumpsim.load_scenario("analytic"), trace=False, on_progress=seen.append)
    day = 86_400_000
    assert seen[0] == 0 and seen[-1] == 45 * day
    assert all(b - a >= day for a, b in pairwise(seen[:-1]))  # the end may come sooner after the last
    assert 40 <= len(seen) <= 47
