"""Invariants of a simulation run and of the controller, as assertion helpers.

Each ``check_*`` function takes what a run or a controller exposes and raises
AssertionError with a message that says which rule broke, where (time, row or
log sequence number) and with which values; it returns None when the rule
holds. Requirement ids (docs/requirements.md) are given where a safety rule is
checked. These helpers do not need Hypothesis; use them in any test::

    res = pumpsim.simulate(sc)
    check_all(res, sc)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from firmware_model import (
    ALARM_NAMES,
    NL_PER_ML,
    PL_PER_NL,
    PRIORITY_NAMES,
    AlarmId,
    EventCode,
    LogRecord,
    PumpConfig,
    PumpController,
)
from firmware_model.alarms import PRIORITY, repeat_interval_ms, tone_for
from pumpsim.results import SimulationResult
from pumpsim.scenario.model import Scenario
from pumpsim.testing.records import check_records

__all__ = [
    "AlarmStep",
    "AlarmTimeline",
    "alarm_steps_from_log",
    "check_alarm_before_dry",
    "check_alarm_consistency",
    "check_alarm_thresholds",
    "check_alarm_timeline",
    "check_all",
    "check_conservation",
    "check_controller",
    "check_dry_delivers_nothing",
    "check_empty_stops_delivery",
    "check_estimate_vs_truth",
    "check_event_log",
    "check_monotone_trace",
]

_ALARM_BY_NAME = {name: a for a, name in ALARM_NAMES.items()}


def _fail(rule: str, detail: str) -> AssertionError:
    return AssertionError(f"{rule}: {detail}")


def _trace(result: SimulationResult) -> dict[str, np.ndarray]:
    if result.trace is None:
        raise ValueError("the result has no in-memory trace (run with the default MemorySink)")
    return result.trace


# ------------------------------------------------------------ conservation


def check_conservation(result: SimulationResult, rel_tol: float = 1e-9, abs_tol: float = 1e-9) -> None:
    """Volume and drug mass are conserved: ``balance`` in == out, for mL and for mg.

    In = initial fill + catheter content + every injection; out = reservoir +
    catheter + delivered + aspirated + overflow. Compared with
    :func:`math.isclose` (*rel_tol*, *abs_tol* in mL or mg).
    """
    bal = result.summary["balance"]
    for unit, a, b in (("ml", bal["in_ml"], bal["out_ml"]), ("mg", bal["in_mg"], bal["out_mg"])):
        if not math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol):
            raise _fail(
                "conservation",
                f"in_{unit} = {a!r} but out_{unit} = {b!r} (difference {b - a:.3e} {unit}, rel_tol {rel_tol})",
            )


# ---------------------------------------------------------------- ordering


def check_monotone_trace(result: SimulationResult) -> None:
    """Time never runs backwards and nothing delivered is ever taken back.

    Trace ``t_s`` and event ``t_ms`` never decrease; ``strokes``,
    ``delivered_ml`` and ``delivered_mg`` never decrease; the actual reservoir
    is never negative; rows with the same stroke count have the same
    delivered volume (volume moves only with strokes).
    """
    tr = _trace(result)
    for col in ("t_s", "strokes", "delivered_ml", "delivered_mg"):
        v = tr[col]
        bad = np.flatnonzero(np.diff(v) < 0)
        if bad.size:
            i = int(bad[0])
            raise _fail(
                "monotone trace",
                f"{col} decreases from {v[i]!r} (row {i}, t_s={tr['t_s'][i]}) to {v[i + 1]!r} "
                f"(row {i + 1}, t_s={tr['t_s'][i + 1]})",
            )
    neg = np.flatnonzero(tr["reservoir_actual_ml"] < 0)
    if neg.size:
        i = int(neg[0])
        raise _fail("monotone trace", f"reservoir_actual_ml = {tr['reservoir_actual_ml'][i]!r} < 0 at row {i}")
    k, x = tr["strokes"], tr["delivered_ml"]
    same = np.flatnonzero((np.diff(k) == 0) & (np.diff(x) != 0))
    if same.size:
        i = int(same[0])
        raise _fail(
            "monotone trace",
            f"delivered_ml changes from {x[i]!r} to {x[i + 1]!r} between rows {i} and {i + 1} "
            f"without a stroke (strokes = {k[i]})",
        )
    last = -1
    for j, ev in enumerate(result.events):
        if ev["t_ms"] < last:
            raise _fail("event order", f"event {j} ({ev['kind']}) at t_ms={ev['t_ms']} after t_ms={last}")
        last = ev["t_ms"]


# ----------------------------------------------------------------- alarms


@dataclass(frozen=True, slots=True)
class AlarmStep:
    """One alarm-related happening, in the order the firmware did it.

    *what* is ``"raised"``, ``"cleared"``, ``"tone"`` or ``"wake"``. For a tone,
    *alarm* is the alarm that owns it and *pattern* the tone pattern's name. A
    ``"wake"`` step (no alarm) marks the start of a wake-up; it is needed only
    where several wake-ups share a millisecond (wake-ups at different times
    are told apart by their time).
    """

    t_ms: int
    what: str
    alarm: int | None = None
    pattern: str = ""


class AlarmTimeline:
    """Incremental checker of an alarm history (REQ-ALM-004, REQ-ALM-005).

    Feed it :class:`AlarmStep` records in firmware order with :meth:`feed`;
    each is checked at once:

    * per alarm, ``raised`` and ``cleared`` alternate, starting with ``raised``;
    * a tone sounds only for a raised alarm, plays that alarm's pattern, and
      belongs to the highest-priority alarm then raised (REQ-ALM-005).

    With *intervals_ms*, :meth:`settle` (call it when every wake-up up to
    *end_ms* has been fed) also checks that the tones so far are exactly those
    of a reference model in which each alarm sounds when raised and then
    every interval, a lower-priority alarm keeping its rhythm in silence while
    a higher one sounds (REQ-ALM-004): no tone missing, late or extra.
    """

    def __init__(self, intervals_ms: Mapping[int, int] | None = None) -> None:
        self._intervals = intervals_ms
        self._active: set[int] = set()
        self._n = 0
        # Reference model: the alarms it holds raised and when each is next due.
        self._due: dict[int, int] = {}
        self._group_t: int | None = None
        self._last_what = ""
        self.expected: list[tuple[int, int]] = []
        self.actual: list[tuple[int, int]] = []
        self._compared = 0

    @property
    def active(self) -> frozenset[int]:
        """Alarms raised after the steps fed so far."""
        return frozenset(self._active)

    def feed(self, steps: Iterable[AlarmStep]) -> None:
        """Check and record *steps* (AssertionError on the first broken rule)."""
        for s in steps:
            self._step(s)
            self._n += 1

    def _step(self, s: AlarmStep) -> None:
        n = self._n
        if s.what not in ("raised", "cleared", "tone", "wake"):
            raise ValueError(f"unknown alarm step {s.what!r}")
        new_wake = (
            self._group_t is None
            or s.t_ms != self._group_t
            or s.what == "wake"
            or (s.what != "tone" and self._last_what == "tone")
        )
        if self._group_t is not None and s.t_ms < self._group_t:
            raise _fail("alarm history", f"step {n} at {s.t_ms} ms follows a step at {self._group_t} ms")
        if new_wake:
            if self._group_t is not None:
                self._sound_until(self._group_t)
            self._sound_until(s.t_ms - 1)
            self._group_t = s.t_ms
        self._last_what = s.what
        if s.what == "wake":
            return
        a = s.alarm
        if a is None:
            raise ValueError(f"step {n}: a {s.what!r} step needs an alarm")
        if s.what == "raised":
            if a in self._active:
                raise _fail("alarm episodes", f"step {n}: {ALARM_NAMES[a]} raised at {s.t_ms} ms while already raised")
            self._active.add(a)
            self._due[a] = s.t_ms
        elif s.what == "cleared":
            if a not in self._active:
                raise _fail("alarm episodes", f"step {n}: {ALARM_NAMES[a]} cleared at {s.t_ms} ms but was not raised")
            self._active.discard(a)
            self._due.pop(a, None)
        else:
            if a not in self._active:
                raise _fail(
                    "REQ-ALM-005", f"step {n}: tone for {ALARM_NAMES[a]} at {s.t_ms} ms while it is not raised "
                    f"(raised: {sorted(ALARM_NAMES[x] for x in self._active)})",
                )
            top = _top(self._active)
            if PRIORITY[a] < PRIORITY[top]:
                raise _fail(
                    "REQ-ALM-005",
                    f"step {n}: {ALARM_NAMES[a]} ({PRIORITY_NAMES[PRIORITY[a]]}) sounded at {s.t_ms} ms while "
                    f"{ALARM_NAMES[top]} ({PRIORITY_NAMES[PRIORITY[top]]}) is raised",
                )
            if s.pattern and s.pattern != tone_for(a).name:
                raise _fail("tone pattern",
                            f"step {n}: {ALARM_NAMES[a]} played {s.pattern!r}, expected {tone_for(a).name!r}")
            self.actual.append((s.t_ms, a))

    def _sound_until(self, t: int) -> None:
        """Reference model: the wake-ups at every due time up to *t*, each sounding the top alarm if due."""
        iv = self._intervals
        if iv is None:
            return
        due = self._due
        while due:
            d = min(due.values())
            if d > t:
                return
            top = _top(due)
            if due[top] <= d:
                self.expected.append((d, top))
            for a in [a for a, v in due.items() if v <= d]:
                due[a] = d + iv[a]

    def settle(self, end_ms: int) -> None:
        """Compare the tones played up to *end_ms* with the repeat schedule (REQ-ALM-004)."""
        if self._intervals is None:
            return
        if self._group_t is not None:
            self._sound_until(self._group_t)
        self._sound_until(end_ms)
        actual, expected = self.actual, self.expected
        if actual != expected:
            i = self._compared
            while i < min(len(actual), len(expected)) and actual[i] == expected[i]:
                i += 1
            got = _tone_str(actual[i]) if i < len(actual) else "no tone"
            want = _tone_str(expected[i]) if i < len(expected) else "no tone"
            raise _fail(
                "REQ-ALM-004",
                f"tone {i}: got {got}, the repeat schedule expects {want} "
                f"({len(actual)} tones played, {len(expected)} expected up to {end_ms} ms)",
            )
        self._compared = len(actual)


def _top(alarms: Iterable[int]) -> int:
    """The alarm that owns the sounder: highest priority, then lowest id (as the firmware picks)."""
    return max(alarms, key=lambda a: (PRIORITY[a], -a))


def _tone_str(t: tuple[int, int]) -> str:
    return f"{ALARM_NAMES[t[1]]} at {t[0]} ms"


def check_alarm_timeline(
    steps: Iterable[AlarmStep],
    intervals_ms: Mapping[int, int] | None = None,
    end_ms: int | None = None,
) -> None:
    """Check a complete alarm history with :class:`AlarmTimeline` (REQ-ALM-004, REQ-ALM-005).

    The tone repeat schedule is checked up to *end_ms* when both
    *intervals_ms* and *end_ms* are given.
    """
    tl = AlarmTimeline(intervals_ms if end_ms is not None else None)
    tl.feed(steps)
    if end_ms is not None:
        tl.settle(end_ms)


def _steps_from_events(events: Iterable[Mapping[str, Any]]) -> list[AlarmStep]:
    """Alarm steps from engine events; a boot or a run of visits starts a wake-up."""
    out: list[AlarmStep] = []
    prev = ""
    for ev in events:
        kind = ev["kind"]
        if kind == "alarm":
            out.append(AlarmStep(ev["t_ms"], ev["state"], _ALARM_BY_NAME[ev["alarm"]]))
        elif kind == "tone":
            out.append(AlarmStep(ev["t_ms"], "tone", _ALARM_BY_NAME[ev["alarm"]], ev["pattern"]))
        elif kind == "boot" or (kind == "visit" and prev != "visit"):
            out.append(AlarmStep(ev["t_ms"], "wake"))
        prev = kind
    return out


def check_alarm_consistency(result: SimulationResult, scenario: Scenario | None = None) -> None:
    """Alarm events, tones, the summary and the trace agree (REQ-ALM-004, REQ-ALM-005).

    Checks :func:`check_alarm_timeline` on the run's events (with the tone
    repeat schedule when *scenario* is given); the summary's ``alarms``
    episodes and ``tones`` count match the events; and each trace row's alarm
    columns show the alarms raised at that row's time.
    """
    events = result.events
    steps = _steps_from_events(events)
    intervals = None
    end_ms = None
    if scenario is not None:
        cfg = scenario.firmware_config()
        intervals = {a: repeat_interval_ms(a, cfg) for a in ALARM_NAMES}
        end_ms = round(result.summary["simulated_s"] * 1000)
    check_alarm_timeline(steps, intervals, end_ms)

    s = result.summary
    episodes = [(ALARM_NAMES[st.alarm], st.t_ms / 1000) for st in steps if st.what == "raised" and st.alarm]
    got = [(a["alarm"], a["t_s"]) for a in s["alarms"]]
    if got != episodes:
        raise _fail("summary alarms", f"summary lists episodes {got}, events raise {episodes}")
    n_tones = sum(1 for st in steps if st.what == "tone")
    if s["tones"] != n_tones:
        raise _fail("summary tones", f"summary says {s['tones']} tones, events have {n_tones}")

    if result.trace is None:
        return
    tr = result.trace
    # State after all alarm changes at or before each row's time.
    changes = [st for st in steps if st.what in ("raised", "cleared")]
    times = np.array([c.t_ms for c in changes], dtype=np.int64)
    t_rows = np.rint(tr["t_s"] * 1000).astype(np.int64)
    for alarm, col in ((AlarmId.LOW_RESERVOIR, "alarm_low_reservoir"), (AlarmId.EMPTY_RESERVOIR,
                                                                         "alarm_empty_reservoir")):
        state = np.zeros(len(changes) + 1, dtype=np.int64)
        on = 0
        for j, c in enumerate(changes):
            if c.alarm is alarm:
                on = 1 if c.what == "raised" else 0
            state[j + 1] = on
        after = state[np.searchsorted(times, t_rows, side="right")]
        before = state[np.searchsorted(times, t_rows, side="left")]
        col_v = tr[col].astype(np.int64)
        bad = np.flatnonzero((col_v != after) & (col_v != before))
        # The last row at any instant must show the state after that instant's events.
        last_at_t = np.append(t_rows[1:] != t_rows[:-1], True)
        bad_last = np.flatnonzero(last_at_t & (col_v != after))
        for arr, why in ((bad, "neither before nor after"), (bad_last, "not the state after")):
            if arr.size:
                i = int(arr[0])
                raise _fail(
                    "trace alarms",
                    f"row {i} (t_ms={t_rows[i]}) has {col}={col_v[i]}, {why} the alarm events at that time "
                    f"(before {before[i]}, after {after[i]})",
                )


def check_alarm_thresholds(result: SimulationResult, scenario: Scenario) -> None:
    """Alarms are raised at their thresholds (REQ-ALM-001, REQ-ALM-002) and stop delivery (REQ-ALM-003).

    * LOW_RESERVOIR is raised only with the estimate at or below the current
      threshold and, unless a refill, threshold change or boot happened at
      that instant, within one stroke of it (REQ-ALM-001); it clears only
      above the threshold;
    * EMPTY_RESERVOIR likewise at the empty floor (REQ-ALM-002), and every
      EMPTY_RESERVOIR raise comes with a ``delivery_stopped`` event
      (REQ-ALM-003).
    """
    p = scenario.pump
    stroke_nl = p.stroke_volume_pl / PL_PER_NL
    low = p.low_reservoir_alarm_nl
    floor = p.empty_floor_nl
    jump_times = {ev["t_ms"] for ev in result.events if ev["kind"] in ("boot", "visit", "refill", "threshold")}
    stopped_times = {ev["t_ms"] for ev in result.events if ev["kind"] == "delivery_stopped"}
    for n, ev in enumerate(result.events):
        if ev["kind"] == "threshold":
            low = round(ev["low_reservoir_ml"] * NL_PER_ML)
        if ev["kind"] != "alarm":
            continue
        alarm = _ALARM_BY_NAME[ev["alarm"]]
        req, thr = ("REQ-ALM-001", low) if alarm == AlarmId.LOW_RESERVOIR else ("REQ-ALM-002", floor)
        est = round(ev["reservoir_estimated_ml"] * NL_PER_ML)
        where = f"event {n} at t_ms={ev['t_ms']}"
        if ev["state"] == "raised":
            if est > thr:
                raise _fail(req, f"{where}: {ALARM_NAMES[alarm]} raised with estimate {est} nL "
                                 f"above its threshold {thr} nL")
            if ev["t_ms"] not in jump_times and est < thr - stroke_nl - 1:
                raise _fail(
                    req,
                    f"{where}: {ALARM_NAMES[alarm]} raised late: estimate {est} nL is more than one stroke "
                    f"({stroke_nl} nL) below its threshold {thr} nL",
                )
            if alarm == AlarmId.EMPTY_RESERVOIR and ev["t_ms"] not in stopped_times:
                raise _fail("REQ-ALM-003", f"{where}: EMPTY_RESERVOIR raised without a delivery_stopped event")
        elif est <= thr and not (alarm == AlarmId.LOW_RESERVOIR and ev["t_ms"] in jump_times):
            raise _fail(req, f"{where}: {ALARM_NAMES[alarm]} cleared with estimate {est} nL at or below {thr} nL")


def check_empty_stops_delivery(result: SimulationResult) -> None:
    """No stroke is delivered while the empty-reservoir alarm is raised (REQ-ALM-003)."""
    tr = _trace(result)
    e, k = tr["alarm_empty_reservoir"], tr["strokes"]
    bad = np.flatnonzero((e[:-1] == 1) & (e[1:] == 1) & (np.diff(k) != 0))
    if bad.size:
        i = int(bad[0])
        raise _fail(
            "REQ-ALM-003",
            f"strokes go from {k[i]} to {k[i + 1]} between rows {i} and {i + 1} (t_s {tr['t_s'][i]} .. "
            f"{tr['t_s'][i + 1]}) while EMPTY_RESERVOIR is raised",
        )


def check_dry_delivers_nothing(result: SimulationResult) -> None:
    """Strokes on an empty actual reservoir deliver nothing (REQ-PLANT-001)."""
    tr = _trace(result)
    r, x = tr["reservoir_actual_ml"], tr["delivered_ml"]
    bad = np.flatnonzero((r[:-1] <= 0) & (r[1:] <= 0) & (np.diff(x) != 0))
    if bad.size:
        i = int(bad[0])
        raise _fail(
            "REQ-PLANT-001",
            f"delivered_ml goes from {x[i]!r} to {x[i + 1]!r} between rows {i} and {i + 1} while the actual "
            f"reservoir is empty",
        )


def check_alarm_before_dry(result: SimulationResult) -> None:
    """Whenever the real reservoir ran dry, the low-reservoir alarm had been raised strictly earlier and was
    still active (REQ-ALM-006: the margin rule's promise, for a flow error within the accuracy band).

    Works on the events alone (no trace needed), so it suits ``trace=False`` runs.
    """
    raised_ms: int | None = None
    for ev in result.events:
        if ev["kind"] == "alarm" and ev["alarm"] == "low_reservoir":
            raised_ms = ev["t_ms"] if ev["state"] == "raised" else None
        elif ev["kind"] == "dry" and (raised_ms is None or raised_ms >= ev["t_ms"]):
            when = "not raised" if raised_ms is None else f"raised only at t_ms = {raised_ms}"
            raise _fail("REQ-ALM-006", f"the real reservoir ran dry at t_ms = {ev['t_ms']} and the low-reservoir "
                                       f"alarm was {when}")


def check_estimate_vs_truth(result: SimulationResult, tol_ml: float) -> None:
    """The firmware's reservoir estimate is within *tol_ml* of the actual reservoir, in every row.

    For an ideal mechanism (no calibration error, no stroke scatter, full
    aspiration at refills) the two differ by less than one stroke plus the
    estimate's 1 nL resolution; errors in the plant widen the gap, which is
    what the simulator is for.
    """
    tr = _trace(result)
    d = np.abs(tr["reservoir_estimated_ml"] - tr["reservoir_actual_ml"])
    bad = np.flatnonzero(d > tol_ml)
    if bad.size:
        i = int(bad[0])
        raise _fail(
            "estimate vs truth",
            f"row {i} (t_s={tr['t_s'][i]}): estimate {tr['reservoir_estimated_ml'][i]!r} mL, actual "
            f"{tr['reservoir_actual_ml'][i]!r} mL, differ by {d[i]:.3e} mL > {tol_ml:.3e} mL",
        )
    s = result.summary
    est = s["reservoir_estimated_ml"]
    if est is None:  # no firmware (a constant-flow pump): nothing estimates
        return
    gap = abs(est - s["reservoir_actual_ml"])
    if gap > tol_ml:
        raise _fail("estimate vs truth", f"summary: estimate and actual reservoir differ by {gap:.3e} mL")


def check_all(result: SimulationResult, scenario: Scenario, rel_tol: float = 1e-9) -> None:
    """Every scenario-independent invariant of a completed run (its records' shape included)."""
    if not result.summary["complete"]:
        raise _fail("complete", "the run did not complete")
    check_records(result)
    check_conservation(result, rel_tol)
    check_monotone_trace(result)
    check_alarm_consistency(result, scenario)
    check_alarm_thresholds(result, scenario)
    check_empty_stops_delivery(result)
    check_dry_delivers_nothing(result)


# ------------------------------------------------------------- controller


def check_controller(ctl: PumpController) -> None:
    """Safety invariants of a booted controller between wake-ups.

    * the reservoir estimate never exceeds the capacity;
    * LOW_RESERVOIR is raised exactly while the estimate is at or below the
      threshold (REQ-ALM-001), EMPTY_RESERVOIR exactly while it is at or
      below the empty floor (REQ-ALM-002);
    * while EMPTY_RESERVOIR is raised, delivery is stopped and the motor has
      no program (REQ-ALM-003);
    * every rate of a running motor program (its rate table included) lies
      within [min rate, max rate] (REQ-RX-002).
    """
    cfg: PumpConfig = ctl.config
    st = ctl.status()
    base_pl, base_count = ctl.estimate_basis()
    est_pl = base_pl - (st.stroke_count - base_count) * cfg.stroke_volume_pl
    where = f"t_ms={st.t_ms}, estimate {est_pl} pL"
    if est_pl > cfg.reservoir_capacity_nl * PL_PER_NL:
        raise _fail("capacity", f"{where} above the capacity {cfg.reservoir_capacity_nl} nL")
    low_on = AlarmId.LOW_RESERVOIR in st.active_alarms
    if low_on != (est_pl <= st.low_reservoir_nl * PL_PER_NL):
        raise _fail(
            "REQ-ALM-001",
            f"{where}, threshold {st.low_reservoir_nl} nL: LOW_RESERVOIR is {'raised' if low_on else 'not raised'}",
        )
    empty_on = AlarmId.EMPTY_RESERVOIR in st.active_alarms
    if empty_on != (est_pl <= cfg.empty_floor_nl * PL_PER_NL):
        raise _fail(
            "REQ-ALM-002",
            f"{where}, floor {cfg.empty_floor_nl} nL: EMPTY_RESERVOIR is {'raised' if empty_on else 'not raised'}",
        )
    prog = ctl.motor_program
    if empty_on and (prog is not None or not st.delivery_stopped):
        raise _fail("REQ-ALM-003", f"{where}: EMPTY_RESERVOIR raised but the motor runs {prog}")
    if st.delivery_stopped and not empty_on:
        raise _fail("REQ-ALM-003", f"{where}: delivery stopped without EMPTY_RESERVOIR")
    if prog is None:
        return
    table = [(prog.start_ms, prog.rate_pl_per_day), *getattr(prog, "later", ())]
    for t_ms, rate in table:
        if not cfg.min_rate_pl_per_day <= rate <= cfg.max_rate_pl_per_day:
            raise _fail(
                "REQ-RX-002",
                f"{where}: motor programmed at {rate} pL/day from t_ms={t_ms}, outside "
                f"{cfg.min_rate_pl_per_day}..{cfg.max_rate_pl_per_day} pL/day (prescription {st.prescription})",
            )


def alarm_steps_from_log(records: Iterable[LogRecord], wake_seqs: Collection[int] = ()) -> list[AlarmStep]:
    """The alarm history in controller log records, as :class:`AlarmStep` s.

    *wake_seqs* are the log sequence numbers at which a wake-up began (the
    log's ``next_seq`` before each ``on_wake``); they matter only where
    several wake-ups share a millisecond.
    """
    steps: list[AlarmStep] = []
    for rec in records:
        if rec.seq in wake_seqs:
            steps.append(AlarmStep(rec.t_ms, "wake"))
        if rec.code == EventCode.ALARM_RAISED:
            steps.append(AlarmStep(rec.t_ms, "raised", rec.a))
        elif rec.code == EventCode.ALARM_CLEARED:
            steps.append(AlarmStep(rec.t_ms, "cleared", rec.a))
        elif rec.code == EventCode.TONE:
            alarm = rec.a
            if rec.b != PRIORITY[alarm]:
                raise _fail("event log", f"seq {rec.seq}: tone for {ALARM_NAMES[alarm]} logged with priority {rec.b}")
            steps.append(AlarmStep(rec.t_ms, "tone", alarm, tone_for(alarm).name))
    return steps


def check_event_log(
    records: Sequence[LogRecord],
    cfg: PumpConfig | None = None,
    end_ms: int | None = None,
    wake_seqs: Collection[int] = (),
) -> None:
    """The controller's event log is well formed.

    Sequence numbers are consecutive and times never decrease; when the
    records start at the beginning (seq 0), the alarm history they contain
    passes :func:`check_alarm_timeline`, with the tone repeat schedule up to
    *end_ms* when *cfg* and *end_ms* are given (REQ-ALM-004, REQ-ALM-005).
    See :func:`alarm_steps_from_log` for *wake_seqs*.
    """
    for prev, rec in pairwise(records):
        if rec.seq != prev.seq + 1:
            raise _fail("event log", f"seq {rec.seq} follows seq {prev.seq}")
        if rec.t_ms < prev.t_ms:
            raise _fail("event log", f"seq {rec.seq} at t_ms={rec.t_ms} follows t_ms={prev.t_ms}")
    if not records or records[0].seq != 0:
        return
    intervals = None if cfg is None else {a: repeat_interval_ms(a, cfg) for a in ALARM_NAMES}
    check_alarm_timeline(alarm_steps_from_log(records, wake_seqs), intervals, end_ms if cfg is not None else None)
