"""A Hypothesis state machine over PumpController on FakeHal: time, refills, programming, patient presses, bad
commands."""

from __future__ import annotations

from hypothesis import event, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from firmware_model import (
    ALARM_NAMES,
    MODE_NAMES,
    MS_PER_DAY,
    MS_PER_H,
    MS_PER_MIN,
    PL_PER_ML,
    PL_PER_NL,
    PTM_RESULT_NAMES,
    BolusKind,
    CommandKind,
    ControllerStatus,
    EventCode,
    LogRecord,
    PatientBolus,
    Prescription,
    PrescriptionMode,
    PrimingBolus,
    PtmResult,
    PtmSettings,
    PumpConfig,
    PumpController,
    Refill,
    Reprogram,
    SetLowReservoirThreshold,
    check_prescription,
    check_ptm,
)
from firmware_model.alarms import repeat_interval_ms, tone_for
from firmware_model.ptm import top_rate_pl_per_day
from firmware_model.testing import FakeHal, run_until, wake_now
from pumpsim.testing import (
    AlarmTimeline,
    alarm_steps_from_log,
    check_controller,
    check_event_log,
    concentrations,
    prescriptions,
    pump_configs,
)

#: Log slots: enough that a whole example never laps the ring buffer.
LOG_CAPACITY = 1 << 16


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class ControllerMachine(RuleBasedStateMachine):
    """Random telemetry sessions and elapsed time against the controller, checking its safety rules."""

    def __init__(self) -> None:
        super().__init__()
        self.hal = FakeHal()
        self.ctl: PumpController | None = None

    # ------------------------------------------------------------- helpers

    @property
    def c(self) -> PumpController:
        assert self.ctl is not None
        return self.ctl

    @property
    def now(self) -> int:
        return self.hal.rtc.now_ms()

    def _rx(self, conc: int) -> st.SearchStrategy[Prescription]:
        return prescriptions(conc, self.cfg, min_bolus_interval_ms=15 * MS_PER_MIN, max_bolus_ms=6 * MS_PER_H)

    def _volumes(self) -> st.SearchStrategy[int]:
        """Reservoir volumes (nL), often within a few strokes of the thresholds."""
        cfg = self.cfg
        cap = cfg.reservoir_capacity_nl
        sv_nl = cfg.stroke_volume_pl // PL_PER_NL + 1
        def near(x: int) -> st.SearchStrategy[int]:
            return st.integers(max(0, x - 3 * sv_nl), min(cap, x + 3 * sv_nl))
        return st.one_of(st.integers(0, cap), near(cfg.low_reservoir_nl), near(cfg.empty_floor_nl), st.just(cap))

    def _wake(self) -> None:
        """A telemetry wake-up now (noting where it starts in the log: several may share a millisecond)."""
        self.wake_seqs.add(self.c.log.next_seq)
        wake_now(self.c, self.hal, self.now)

    def _send(self, cmd: object) -> tuple[ControllerStatus, ControllerStatus, list[LogRecord]]:
        """Interrogate, then send *cmd*: (status before, status after, log records of the command's wake-up)."""
        self._wake()
        before = self.c.status()
        prog, wakeup = self.c.motor_program, self.hal.rtc.wakeup_ms
        seq = self.c.log.next_seq
        self.hal.inbox.send(cmd)
        self._wake()
        self._last_unchanged = (prog, wakeup) == (self.c.motor_program, self.hal.rtc.wakeup_ms)
        return before, self.c.status(), self.c.log.since(seq)[0]

    @staticmethod
    def _check_verdict(accept: bool, recs: list[LogRecord], kind: int) -> None:
        rejected = [r for r in recs if r.code == EventCode.COMMAND_REJECTED]
        if accept:
            assert not rejected, f"a valid command was rejected: {rejected}"
        else:
            assert [r.b for r in rejected] == [kind], f"an invalid command was not rejected once: {recs}"

    def _check_unchanged(self, before: ControllerStatus, after: ControllerStatus, recs: list[LogRecord]) -> None:
        """A rejected command changes nothing: same status, same motor program, one log record."""
        assert after == before
        assert self._last_unchanged, "a rejected command changed the motor program or the wake-up"
        assert [r.code for r in recs] == [EventCode.COMMAND_REJECTED]

    def _ptm(self, rx: Prescription, conc: int) -> st.SearchStrategy[PtmSettings | None]:
        """No patient bolus, or one that fits on *rx* at *conc* (a bolus of up to the room left under the maximum
        rate over its duration)."""
        room = self.cfg.max_rate_pl_per_day - top_rate_pl_per_day(rx, conc, self.cfg)

        @st.composite
        def fitting(draw: st.DrawFn) -> PtmSettings | None:
            duration = draw(st.integers(MS_PER_MIN, 6 * MS_PER_H))
            most_pl = room * duration // MS_PER_DAY
            if most_pl < 1:
                return None
            bolus_ng = max(1, draw(st.integers(1, most_pl)) * conc // PL_PER_ML)
            ptm = PtmSettings(bolus_ng, duration, draw(st.integers(duration, MS_PER_DAY)), draw(st.integers(1, 6)))
            return ptm if check_ptm(ptm, rx, conc, self.cfg) is None else None

        return st.one_of(st.none(), fitting())

    def _fits(self, rx: Prescription, conc: int) -> bool:
        """The prescription is deliverable at *conc*, with the patient bolus on top (REQ-RX-002, REQ-PTM-003)."""
        return check_prescription(rx, conc, self.cfg) is None and check_ptm(self.ptm, rx, conc, self.cfg) is None

    # ---------------------------------------------------------------- rules

    @initialize(data=st.data())
    def boot(self, data: st.DataObject) -> None:
        self.cfg: PumpConfig = data.draw(pump_configs(), label="cfg").replace(log_capacity=LOG_CAPACITY)
        conc = data.draw(concentrations(), label="conc")
        rx = data.draw(self._rx(conc), label="rx")
        fill = data.draw(self._volumes(), label="fill")
        t0 = data.draw(st.integers(0, MS_PER_DAY), label="boot time")
        self.hal.set_time(t0)
        self.ptm = data.draw(self._ptm(rx, conc), label="patient bolus")
        self.grants: list[int] = []  # times of the granted patient boluses
        self.ctl = PumpController(self.hal, self.cfg, rx, conc, fill, ptm=self.ptm)
        self.wake_seqs: set[int] = {0}
        self.ctl.boot(t0)
        #: The program that applies once any bridge bolus ends: (prescription, concentration).
        self.target = (rx, conc)
        self.seen_seq = 0
        self.seen_tones = 0
        self.last_t = t0
        self.timeline = AlarmTimeline({a: repeat_interval_ms(a, self.cfg) for a in ALARM_NAMES})
        self._last_unchanged = True

    @rule(dt=st.one_of(st.integers(0, MS_PER_H), st.integers(0, 2 * MS_PER_DAY)))
    def advance(self, dt: int) -> None:
        run_until(self.c, self.hal, self.now + dt, booted=True)

    @rule(data=st.data())
    def refill(self, data: st.DataObject) -> None:
        cfg = self.cfg
        tgt_rx, tgt_conc = self.target
        vol = data.draw(st.one_of(self._volumes(), st.sampled_from([0, cfg.reservoir_capacity_nl + 1])), label="vol")
        conc = data.draw(st.one_of(st.just(tgt_conc), concentrations()), label="conc")
        rx = data.draw(st.one_of(st.none(), self._rx(conc)), label="rx")
        bridge = data.draw(st.booleans(), label="bridge")
        new_rx = rx if rx is not None else tgt_rx
        accept = 0 < vol <= cfg.reservoir_capacity_nl and self._fits(new_rx, conc)
        bridging = conc != tgt_conc and bridge and cfg.dead_volume_nl > 0
        # The same new drug again with a bridge, while its bridge runs: the bridge carries on.
        continuing = not bridging and bridge and conc == tgt_conc and self.c.status().bridge_strokes_left > 0
        before, after, recs = self._send(Refill(vol, conc, bridge=bridge, rx=rx))
        self._check_verdict(accept, recs, CommandKind.REFILL)
        if not accept:
            self._check_unchanged(before, after, recs)
            return
        assert after.reservoir_estimate_nl == vol
        if bridging:
            # REQ-RX-005: the old program runs on until the dead volume is through.
            assert after.bridge_strokes_left == _ceil_div(cfg.dead_volume_nl * PL_PER_NL, cfg.stroke_volume_pl)
            assert (after.prescription, after.conc_ng_per_ml) == (before.prescription, before.conc_ng_per_ml)
        elif continuing:
            assert after.bridge_strokes_left == before.bridge_strokes_left
            assert (after.prescription, after.conc_ng_per_ml) == (before.prescription, before.conc_ng_per_ml)
        else:
            # REQ-RX-006: any other refill cancels a pending bridge.
            assert after.bridge_strokes_left == 0
            assert (after.prescription, after.conc_ng_per_ml) == (new_rx, conc)
        self.target = (new_rx, conc)

    @rule(data=st.data())
    def reprogram(self, data: st.DataObject) -> None:
        _, tgt_conc = self.target
        other = data.draw(st.one_of(st.just(tgt_conc), concentrations()), label="designed for conc")
        rx = data.draw(self._rx(other), label="rx")
        status = self.c.status()
        accept = self._fits(rx, tgt_conc) and (
            # REQ-RX-009: during a bridge it also runs at the old concentration at once.
            not status.bridge_strokes_left or self._fits(rx, status.conc_ng_per_ml)
        )
        before, after, recs = self._send(Reprogram(rx))
        self._check_verdict(accept, recs, CommandKind.REPROGRAM)
        if not accept:
            self._check_unchanged(before, after, recs)
            return
        assert after.prescription == rx, "a reprogram takes effect at once"
        assert after.conc_ng_per_ml == before.conc_ng_per_ml
        assert after.bridge_strokes_left == before.bridge_strokes_left
        self.target = (rx, tgt_conc)

    @rule(data=st.data())
    def set_threshold(self, data: st.DataObject) -> None:
        cfg = self.cfg
        thr = data.draw(st.one_of(self._volumes(), st.integers(-3, cfg.reservoir_capacity_nl + 3)), label="thr")
        accept = cfg.empty_floor_nl <= thr <= cfg.reservoir_capacity_nl
        before, after, recs = self._send(SetLowReservoirThreshold(thr))
        self._check_verdict(accept, recs, CommandKind.SET_LOW_RESERVOIR)
        if accept:
            assert after.low_reservoir_nl == thr
        else:
            self._check_unchanged(before, after, recs)

    @rule()
    def priming_bolus(self) -> None:
        cfg = self.cfg
        # REQ-RX-008: no priming from an empty reservoir.
        base_pl, base_count = self.c.estimate_basis()
        est_pl = base_pl - (self.c.status().stroke_count - base_count) * cfg.stroke_volume_pl
        accept = est_pl > cfg.empty_floor_nl * PL_PER_NL
        before, after, recs = self._send(PrimingBolus())
        self._check_verdict(accept, recs, CommandKind.PRIMING_BOLUS)
        if not accept:
            self._check_unchanged(before, after, recs)
            return
        assert after.priming_strokes_left == _ceil_div(cfg.dead_volume_nl * PL_PER_NL, cfg.stroke_volume_pl)

    @rule()
    def patient_press(self) -> None:
        """REQ-PTM-001..003: the press is refused while delivery is stopped or priming, within the lockout, or
        beyond the 24-hour maximum; otherwise granted, and a patient bolus starts."""
        before, after, recs = self._send(PatientBolus())
        ptm = self.ptm
        if ptm is None:  # nothing programmed: a rejected command
            self._check_verdict(False, recs, CommandKind.PATIENT_BOLUS)
            self._check_unchanged(before, after, recs)
            return
        now = self.now
        recent = [g for g in self.grants if now - g < MS_PER_DAY]
        if before.delivery_stopped or before.priming_strokes_left:
            expected = PtmResult.REFUSED_STOPPED
        elif self.grants and now - self.grants[-1] < ptm.lockout_ms:
            expected = PtmResult.REFUSED_LOCKOUT
        elif len(recent) >= ptm.max_per_day:
            expected = PtmResult.REFUSED_MAX
        else:
            expected = PtmResult.GRANTED
            self.grants.append(now)
        presses = [r.a for r in recs if r.code == EventCode.PATIENT_BOLUS]
        assert presses == [expected], f"press at {now}: expected {PTM_RESULT_NAMES[expected]}, logged {recs}"
        event(f"patient press {PTM_RESULT_NAMES[expected]}")
        if expected == PtmResult.GRANTED:
            assert any(r.code == EventCode.BOLUS_START and r.a == BolusKind.PATIENT for r in recs)
        else:
            assert after.prescription == before.prescription and after.active_alarms == before.active_alarms

    @rule(data=st.data())
    def invalid_command(self, data: st.DataObject) -> None:
        cmd = data.draw(self._invalid_commands(), label="invalid command")
        before, after, recs = self._send(cmd)
        self._check_verdict(False, recs, int(getattr(cmd, "kind", 0)))
        self._check_unchanged(before, after, recs)

    def _invalid_commands(self) -> st.SearchStrategy[object]:
        cfg = self.cfg
        cap = cfg.reservoir_capacity_nl
        _, tgt_conc = self.target
        too_fast = Prescription(
            PrescriptionMode.CONTINUOUS, dose_ng_per_day=(cfg.max_rate_pl_per_day + 1) * tgt_conc // PL_PER_ML + 1
        )
        options: list[st.SearchStrategy[object]] = [
            st.builds(Refill, st.sampled_from([0, -1, cap + 1]), st.just(tgt_conc)),
            st.builds(Refill, st.integers(1, cap), st.sampled_from([0, -tgt_conc])),
            st.just(Reprogram(too_fast)),
            st.just(Refill(cap, tgt_conc, rx=too_fast)),
            st.builds(SetLowReservoirThreshold, st.sampled_from([cfg.empty_floor_nl - 1, cap + 1])),
            st.sampled_from([object(), "REFILL 20 mL", 42, Prescription(PrescriptionMode.STOPPED)]),
        ]
        too_slow_dose = (cfg.min_rate_pl_per_day - 1) * tgt_conc // PL_PER_ML
        if too_slow_dose >= 1:
            options.append(st.just(Reprogram(Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=too_slow_dose))))
        return st.one_of(options)

    # ----------------------------------------------------------- invariants

    @invariant()
    def controller_is_safe(self) -> None:
        """Estimate <= capacity; alarms <=> thresholds; empty => stopped; rates in range (REQ-ALM-001..3, RX-002)."""
        if self.ctl is None:
            return
        check_controller(self.ctl)
        st_ = self.ctl.status()
        for alarm in st_.active_alarms:
            event(f"{ALARM_NAMES[alarm]} raised")
        if st_.bridge_strokes_left:
            event("bridge bolus running")
        if st_.priming_strokes_left:
            event("priming bolus running")
        event(f"therapy {MODE_NAMES[st_.prescription.mode]}")

    @invariant()
    def log_and_sounder_agree(self) -> None:
        """Log seq and time are monotonic; every tone is logged, owned by the top alarm, on schedule (ALM-004/005)."""
        if self.ctl is None:
            return
        recs, lost = self.c.log.since(self.seen_seq)
        assert lost == 0, "the test's log is too small"
        if recs:
            assert recs[0].seq == self.seen_seq and recs[0].t_ms >= self.last_t
            check_event_log(recs)
            self.seen_seq, self.last_t = recs[-1].seq + 1, recs[-1].t_ms
        self.timeline.feed(alarm_steps_from_log(recs, self.wake_seqs))
        self.timeline.settle(self.now)
        logged = [(r.t_ms, tone_for(r.a)) for r in recs if r.code == EventCode.TONE]
        played = self.hal.sounder.played[self.seen_tones :]
        assert played == logged, "the sounder played something other than the logged tones"
        self.seen_tones = len(self.hal.sounder.played)


def test_controller_state_machine() -> None:
    """Any sequence of elapsed time and telemetry commands keeps the controller's safety invariants."""
    run_state_machine_as_test(
        ControllerMachine,
        settings=settings(max_examples=max(20, settings().max_examples), stateful_step_count=30),
    )
