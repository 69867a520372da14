"""The built-in bench phases, written as OpenHTF phases: connect, self_test, prime, deliver, alarm_check, teardown.

Each is a plain OpenHTF phase (``@htf.measures``, ``@htf.plug``): a bench
team's own phase looks the same (docs/hil-bench.md, "Adding a phase"). The
limits are written ``"{key}"`` and filled in for each run from
:meth:`hil.bench.plan.Plan.args` (OpenHTF's ``with_args``), so the record
holds the numbers each measurement was held to. Every phase takes the bench
as ``bench`` (:class:`~hil.bench.plugs.BenchPlug`) and reads the run's
:class:`~hil.bench.plan.Plan` from it.

``teardown`` is the teardown of the run's phase group: OpenHTF runs it after a
failure, an error, a phase timeout or an abort (Ctrl-C, SIGTERM), and it
leaves the bench safe: motor stopped, sounder silent, session ended.
"""

from __future__ import annotations

from typing import Any

import openhtf as htf
from openhtf.util import units

from firmware_model import NON_CRITICAL_TONE

from ..endpoint import Dispatcher
from ..firmware_side import FirmwareSession
from ..protocol import VERSION
from ..verbs import Role
from .plan import Plan, hours
from .plugs import BenchPlug

#: PINGs sent by ``connect`` to measure the round trip.
PINGS = 50


def plan_of(bench: BenchPlug) -> Plan:
    """The run's plan (the runner puts it on the bench plug's station)."""
    plan = bench.plan
    if plan is None:
        raise RuntimeError("the bench plug has no plan: run phases with hil.bench.run_bench")
    return plan


def _ms(x: float | None) -> float:
    return float("nan") if x is None else x


@htf.measures(
    htf.Measurement("protocol_version").equals(VERSION).doc("HELLO: the protocol version the bench speaks"),
    htf.Measurement("peer_role").equals(Role.BENCH).doc("HELLO: the role the bench says it plays"),
    htf.Measurement("rtt_p50_ms").with_units(units.MILLISECOND).doc(f"round trip of {PINGS} PINGs, median"),
    htf.Measurement("rtt_p99_ms").in_range(maximum="{rtt_p99_max_ms}", type=float)
    .with_units(units.MILLISECOND).doc(f"round trip of {PINGS} PINGs, 99th percentile"),
)
@htf.plug(bench=BenchPlug)
def connect(test: Any, bench: BenchPlug) -> None:
    """Open a session with the bench (HELLO, its version, role and capabilities) and time the link."""
    hello = bench.connect()
    test.measurements.protocol_version = hello.version
    test.measurements.peer_role = hello.role
    before = len(bench.link.stats.rtt)
    for _ in range(PINGS):
        bench.client.ping()
    p = bench.link.stats.rtt.percentiles_ms(since=before)
    test.measurements.rtt_p50_ms = _ms(p["p50_ms"])
    test.measurements.rtt_p99_ms = _ms(p["p99_ms"])


@htf.measures(
    htf.Measurement("clock_at_start_ms").equals(0).with_units(units.MILLISECOND).doc("TIME right after START"),
    htf.Measurement("counter_at_start").equals(0).doc("COUNT right after START (strokes)"),
    htf.Measurement("battery_mv").in_range("{battery_min_mv}", "{battery_max_mv}", type=float)
    .with_units(units.MILLIVOLT).doc("BATTERY"),
    htf.Measurement("stall_flag_idle").equals(0).doc("STALL with no fault injected"),
    htf.Measurement("stall_flag_injected").equals(1).doc("STALL after FAULT STALL=1"),
    htf.Measurement("stall_flag_cleared").equals(0).doc("STALL after FAULT CLEAR=1"),
    htf.Measurement("tones_counted").equals(1).doc("STATUS TONES gained by one TONE (the non-critical alarm tone)"),
)
@htf.plug(bench=BenchPlug)
def self_test(test: Any, bench: BenchPlug) -> None:
    """Start the scenario's plant and check the bench's clock, counter, battery, stall flag and sounder."""
    bench.start_plant()
    c = bench.client
    test.measurements.clock_at_start_ms = c.time_ms()
    test.measurements.counter_at_start = c.count()
    test.measurements.battery_mv = c.battery_mv()
    test.measurements.stall_flag_idle = int(c.stalled())
    c.fault(stall=True)
    test.measurements.stall_flag_injected = int(c.stalled())
    c.fault(clear=True)
    test.measurements.stall_flag_cleared = int(c.stalled())
    tones = bench.status_int("TONES") or 0
    bench.safe = False
    c.tone(NON_CRITICAL_TONE)
    c.silence()
    bench.safe = True
    after = bench.status_int("TONES")
    if after is not None:  # a bench that does not count tones leaves the measurement unset: FAIL
        test.measurements.tones_counted = after - tones


@htf.measures(
    htf.Measurement("prime_strokes").in_range("{prime_strokes}", "{prime_strokes}", type=float)
    .doc("COUNT after the priming strokes were due (strokes)"),
    htf.Measurement("prime_volume_ul").in_range("{prime_ul_lo}", "{prime_ul_hi}", type=float)
    .with_units(units.MICROLITRE).doc("STATE: volume pumped by the priming strokes"),
    htf.Measurement("stall_flag").equals(0).doc("STALL after priming"),
)
@htf.plug(bench=BenchPlug)
def prime(test: Any, bench: BenchPlug) -> None:
    """Fill the catheter: ceil(dead volume / stroke volume) strokes, one every ``prime_period_ms``."""
    plan = plan_of(bench)
    bench.start_plant()
    c = bench.client
    n0 = c.count()
    _, before = c.state()
    n = bench.run_strokes(plan.prime_strokes, plan.limits.prime_period_ms)
    _, after = c.state()
    c.stop()
    bench.safe = True
    test.measurements.prime_strokes = n - n0
    test.measurements.prime_volume_ul = (after.pumped_nl - before.pumped_nl) / 1000
    test.measurements.stall_flag = int(c.stalled())


@htf.measures(
    htf.Measurement("run_complete").equals(True).doc("the scenario ran to its end over the link"),
    htf.Measurement("strokes").in_range("{strokes_lo}", "{strokes_hi}", type=float)
    .doc("the plant's stroke count at the end (reference: pumpsim run)"),
    htf.Measurement("delivered_ml").in_range("{delivered_ml_lo}", "{delivered_ml_hi}", type=float)
    .with_units(units.Unit("ml")).doc("drug solution delivered at the catheter tip (reference: pumpsim run)"),
    htf.Measurement("count_mismatches").equals(0).doc("times the bench's counter differed from the host's mirror"),
    htf.Measurement("link_failures").equals(0).doc("requests given up during the run"),
    htf.Measurement("rtt_p99_ms").in_range(maximum="{rtt_p99_max_ms}", type=float)
    .with_units(units.MILLISECOND).doc("round trip during the run, 99th percentile"),
)
@htf.plug(bench=BenchPlug)
def deliver(test: Any, bench: BenchPlug) -> None:
    """Run the scenario's firmware against the bench (``pumpsim hil run``) and compare with ``pumpsim run``.

    Writes the run's files (summary.json, events.jsonl, trace.csv, hil.json)
    to ``deliver/`` in the output directory.
    """
    plan = plan_of(bench)
    st = plan.station
    out = st.out_dir / "deliver" if st.out_dir is not None else None
    tones = bench.status_int("TONES") or 0
    session = FirmwareSession(st.scenario, bench.link, role=Role.HOST, seed=st.seed, duration_ms=st.deliver_ms,
                              clock=st.clock, speed=st.speed, out_dir=out, port_name=bench.link.name,
                              behind_ms=plan.limits.lateness_p99_max_ms)
    responder = bench.link.responder
    bench.link.responder = Dispatcher(Role.HOST, session.endpoint)  # TELEM and ALERT during the run
    bench.safe, bench.started = False, False
    try:
        session.connect()
        outcome = session.run()
    finally:
        bench.link.responder = responder
    bench.safe = True  # the session stops the motor itself (END, or STOP and SILENCE when it fails)
    bench.results["deliver"] = outcome
    bench.results["deliver_tones_on_bench"] = (bench.status_int("TONES") or 0) - tones
    h = outcome.hil
    test.measurements.run_complete = outcome.complete
    test.measurements.strokes = outcome.summary["strokes"]
    test.measurements.delivered_ml = outcome.summary["delivered_ml"]
    test.measurements.count_mismatches = h["count_mismatches"]
    test.measurements.link_failures = h["link"]["failures"]
    test.measurements.rtt_p99_ms = _ms(h["link"]["rtt_p99_ms"])
    if st.clock == "realtime":  # the runner adds this measurement to a real-time run
        test.measurements.lateness_p99_ms = _ms(h["lateness"]["p99_ms"])
    if not outcome.complete:
        test.logger.error("deliver: the run stopped early: %s", outcome.failure or "interrupted")


#: The measurement ``deliver`` has in a real-time run only.
LATENESS = htf.Measurement("lateness_p99_ms").in_range(maximum="{lateness_p99_max_ms}", type=float) \
    .with_units(units.MILLISECOND).doc("real time: lateness of the run's stops, 99th percentile")


@htf.measures(
    htf.Measurement("alarm_mismatches").equals(0)
    .doc("alarms raised in another order or number than in the reference run"),
    htf.Measurement("alarm_time_error_h").in_range(maximum="{alarm_tolerance_h}", type=float)
    .with_units(units.Unit("h")).doc("largest difference from the reference run's alarm times"),
    htf.Measurement("tones_missed").equals(0).doc("tones the firmware played that the bench did not count"),
)
@htf.plug(bench=BenchPlug)
def alarm_check(test: Any, bench: BenchPlug) -> htf.PhaseResult | None:
    """Check the alarms of the ``deliver`` run against the reference run, and that every tone reached the bench.

    Hand check (``analytic``): 0.5 mL/day from 20 mL with a 2 mL threshold
    raises low_reservoir at (20 - 2) / 0.5 = 36 days (864 h) and empties the
    reservoir at 40 days.
    """
    outcome = bench.results.get("deliver")
    if outcome is None:
        test.logger.warning("alarm_check needs the deliver phase; skipped")
        return htf.PhaseResult.SKIP
    want = plan_of(bench).reference_alarms()
    got = [(a["alarm"], hours(a["t_s"])) for a in outcome.summary["alarms"]]
    names_w, names_g = [a for a, _ in want], [a for a, _ in got]
    test.measurements.alarm_mismatches = sum(a != b for a, b in zip(names_w, names_g, strict=False)) + \
        abs(len(names_w) - len(names_g))
    test.measurements.alarm_time_error_h = max((abs(tw - tg) for (_, tw), (_, tg) in zip(want, got, strict=False)),
                                               default=0.0)
    test.measurements.tones_missed = outcome.summary["tones"] - bench.results["deliver_tones_on_bench"]
    return None


@htf.measures(
    htf.Measurement("motor_stopped").equals(True).doc("STOP acknowledged, or no session running (END stops it)"),
    htf.Measurement("sounder_silent").equals(True).doc("SILENCE acknowledged, or no session running"),
)
@htf.plug(bench=BenchPlug)
def teardown(test: Any, bench: BenchPlug) -> None:
    """Leave the bench safe: STOP, SILENCE (one quick try each) and END a running session. Runs whatever happened."""
    stopped, silent = bench.fail_safe()  # REQ-HIL-004
    test.measurements.motor_stopped = stopped
    test.measurements.sounder_silent = silent


#: The built-in phases by name, in the order of a full run.
BUILTIN = {"connect": connect, "self_test": self_test, "prime": prime, "deliver": deliver,
           "alarm_check": alarm_check, "teardown": teardown}
