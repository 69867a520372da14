"""The plant side of a link: motor, sounder, battery, clock and the simulated plant, answering a firmware side.

:class:`PlantServer` is the :class:`~hil.endpoint.Endpoint` of a ``bench``
(``pumpsim hil emulate bench``: configured by the firmware side's CONFIG) and
of a ``plant`` (``pumpsim hil serve``: its own scenario fixes the parameters,
and a :class:`~hil.recorder.PlantRecorder` writes the plant's truth). The
plant is :class:`pumpsim.plant.PumpPlant`, built exactly as ``pumpsim run``
builds it (:func:`pumpsim.engine.ports.build_plant`), and each verb is one of
its methods, so a firmware side that drives it over a lossless link sees what
the engine sees.

State rules (docs/hil-protocol.md): ``ready`` after HELLO, CONFIG only;
``running`` after START, everything but CONFIG; ``ended`` after END. A new
session (HELLO) discards the plant.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from firmware_model import MotorProgram
from pumpsim.engine.ports import PlantParams, build_plant
from pumpsim.plant import PumpPlant, RefillOutcome

from .client import CONFIG_KEYS, config_values
from .endpoint import arg_error, state_error
from .protocol import Value, format_value
from .recorder import PlantRecorder
from .verbs import Args


@dataclass
class BenchCounts:
    """What the plant side did in its sessions (for STATUS, logs and tests)."""

    sessions: int = 0
    programs: int = 0
    stops: int = 0
    #: Motor stops by the watchdog: the firmware side went quiet with the motor running.
    watchdog_stops: int = 0
    tones: int = 0
    #: SILENCE requests acted on (a host's fail-safe stop, a bench run's teardown).
    silences: int = 0
    refills: int = 0
    #: The requests acted on, in order (verb and arguments): a test checks nothing was done twice.
    acted: list[str] = field(default_factory=list)


class PlantServer:
    """The plant side's verbs (see the module docs).

    *fixed*: parameters and seed this server insists on (``serve``); CONFIG is
    then checked against them. *recorder*: makes the recorder of a started
    plant (``serve``). *notify*: sends a request to the firmware side from a
    background thread (for ALERT).
    """

    def __init__(self, *, fixed: tuple[PlantParams, int] | None = None,
                 recorder: Callable[[PumpPlant[MotorProgram]], PlantRecorder] | None = None,
                 notify: Callable[[str, Mapping[str, Value]], None] | None = None,
                 keep_acted: bool = False) -> None:
        self.fixed = fixed
        self.make_recorder = recorder
        self.notify = notify
        self.keep_acted = keep_acted
        self.counts = BenchCounts()
        #: Held while a request is handled (the watchdog runs on another thread).
        self.lock = threading.Lock()
        self.state = "idle"
        self.plant: PumpPlant[MotorProgram] | None = None
        self.recorder: PlantRecorder | None = None
        self._config = Args({})
        self._staged: tuple[Args, list[tuple[int, int]]] | None = None
        self._outcomes: dict[int, RefillOutcome] = {}
        self._stalled = False
        self._battery_mv: int | None = None
        self._tone_until_ms = 0
        self._forgotten = 0
        self._handlers: dict[str, Callable[[Args], Mapping[str, Value]]] = {
            "CONFIG": self._cfg, "START": self._start, "END": self._end, "TIME": self._time,
            "ADVANCE": self._advance, "PROG": self._prog, "ROW": self._row, "RUN": self._run, "STOP": self._stop,
            "COUNT": self._count, "STALL": self._stall, "TONE": self._tone, "SILENCE": self._silence,
            "BATTERY": self._battery, "DRYAT": self._dryat, "DRY": self._dry, "REFILL": self._refill,
            "OUTCOME": self._outcome, "STATE": self._state, "MASS": self._mass, "TRACE": self._trace,
            "FORGET": self._forget, "FAULT": self._fault, "VISIT": self._visit, "LOG": self._log,
            "LOST": self._lost, "WAKE": self._wake,
        }

    # ------------------------------------------------------------------ Endpoint

    def new_session(self, peer_role: str, session: str | None) -> None:
        self.state = "ready"
        self.plant = None
        self.recorder = None
        self._config = Args({})
        self._staged = None
        self._outcomes = {}
        self._stalled = False
        self._battery_mv = None
        self._forgotten = 0
        self.counts.sessions += 1

    def status(self) -> Mapping[str, Value]:
        out: dict[str, Value] = {"STATE": self.state, "SESSIONS": self.counts.sessions}
        if self.plant is not None:
            out.update(T_MS=self.plant.now_ms, N=self.plant.strokes, STALLED=self._stalled,
                       TONES=self.counts.tones, EPOCH=self.plant.epoch_index)
        return out

    def handle(self, verb: str, args: Args) -> Mapping[str, Value]:
        with self.lock:
            return self._handle(verb, args)

    def watchdog(self) -> bool:
        """The firmware side has gone quiet: stop the motor if it runs (fail safe, REQ-HIL-003); True if it did."""
        with self.lock:
            if self.plant is None or self.plant.timer.program is None:
                return False
            self.plant.timer.stop()
            self.counts.watchdog_stops += 1
            return True

    def _handle(self, verb: str, args: Args) -> Mapping[str, Value]:
        if verb == "CONFIG":
            if self.state != "ready":
                raise state_error("CONFIG only before START")
        elif self.state == "ended":
            raise state_error(f"{verb}: the session has ended (send HELLO to start a new one)")
        elif verb != "START" and self.plant is None:
            raise state_error(f"{verb}: send START first")
        out = self._handlers[verb](args)
        if self.keep_acted:
            self.counts.acted.append(" ".join([verb, *(f"{k}={args.value(k)}" for k in args)]))
        return out

    # ------------------------------------------------------------------ set-up

    def _cfg(self, a: Args) -> Mapping[str, Value]:
        if self.fixed is not None:
            want = config_values(*self.fixed)
            for key in a:
                if a.value(key) != want[key]:
                    raise arg_error(f"{key}={a.value(key)}: the served scenario has "
                                    f"{key}={format_value(want[key])}")
        self._config = self._config.merged(a)
        return {}

    def _start(self, a: Args) -> Mapping[str, Value]:
        if self.plant is not None:
            raise state_error("START: already started (send HELLO to start a new session)")
        if self.fixed is not None:
            params, seed = self.fixed
        else:
            missing = [k for k in (*CONFIG_KEYS, "SEED") if k not in self._config]
            if missing:
                raise state_error(f"START: CONFIG lacks {', '.join(missing)}")
            params, seed = _params_of(self._config)
        try:
            self.plant = build_plant(params, seed)
        except ValueError as e:
            raise arg_error(f"START: {e}") from None
        self.state = "running"
        if self.make_recorder is not None:
            self.recorder = self.make_recorder(self.plant)
        return {"T_MS": 0, "N": 0}

    def _end(self, a: Args) -> Mapping[str, Value]:
        plant = self._plant()
        if self.recorder is not None:  # first: the last trace row shows the program that ran until the end
            self.recorder.end(a.flag("COMPLETE"), a.maybe_integer("ESTIMATE_NL"), a.maybe_integer("PRESCRIBED"))
        plant.timer.stop()
        self._tone_until_ms = 0
        self.state = "ended"
        return {}

    def _plant(self) -> PumpPlant[MotorProgram]:
        if self.plant is None:
            raise state_error("send START first")
        return self.plant

    # ------------------------------------------------------------------ clock

    def _time(self, a: Args) -> Mapping[str, Value]:
        return {"T_MS": self._plant().now_ms}

    def _advance(self, a: Args) -> Mapping[str, Value]:
        plant, t = self._plant(), a.integer("T_MS")
        if t < plant.now_ms:
            raise state_error(f"ADVANCE T_MS={t}: time runs forward only (now {plant.now_ms} ms)")
        if self.recorder is not None:
            self.recorder.before_advance(plant.now_ms, t)
        plant.advance(t)
        return {"T_MS": t, "N": plant.strokes}

    # ------------------------------------------------------------------ motor

    def _load(self, program: MotorProgram) -> None:
        plant = self._plant()
        self.counts.programs += 1
        if self._stalled:
            plant.timer.stop()  # a stalled motor fires nothing, whatever it is told
        else:
            plant.timer.load(program)

    def _prog(self, a: Args) -> Mapping[str, Value]:
        self._staged = None
        rows = a.maybe_integer("ROWS") or 0
        if rows:
            self._staged = (a, [])
            return {"N": None}
        self._load(_program(a, ()))
        return {"N": self._plant().strokes}

    def _row(self, a: Args) -> Mapping[str, Value]:
        if self._staged is None:
            raise state_error("ROW: no PROG with ROWS is being loaded")
        head, rows = self._staged
        rows.append((a.integer("FROM_MS"), a.integer("RATE_PL_PER_DAY")))
        left = (head.maybe_integer("ROWS") or 0) - len(rows)
        if left:
            return {"ROWS_LEFT": left, "N": None}
        self._staged = None
        self._load(_program(head, tuple(rows)))
        return {"ROWS_LEFT": 0, "N": self._plant().strokes}

    def _run(self, a: Args) -> Mapping[str, Value]:
        # Credit counted in ms at one unit per ms: stroke k fires exactly k * PERIOD_MS after now.
        now = self._plant().now_ms
        self._load(MotorProgram(now, a.integer("N"), 1, a.integer("PERIOD_MS"), 0))
        return {"N": self._plant().strokes}

    def _stop(self, a: Args) -> Mapping[str, Value]:
        plant = self._plant()
        plant.timer.stop()
        self._staged = None
        self.counts.stops += 1
        return {"N": plant.strokes}

    def _count(self, a: Args) -> Mapping[str, Value]:
        return {"N": self._plant().strokes}

    def _stall(self, a: Args) -> Mapping[str, Value]:
        return {"STALLED": self._stalled}

    # ------------------------------------------------------------------ sounder and battery

    def _tone(self, a: Args) -> Mapping[str, Value]:
        self.counts.tones += 1
        self._tone_until_ms = self._plant().now_ms + sum(on + off for _, on, off in a.segments("SEGMENTS"))
        return {}

    def _silence(self, a: Args) -> Mapping[str, Value]:
        self._tone_until_ms = 0
        self.counts.silences += 1
        return {}

    def _battery(self, a: Args) -> Mapping[str, Value]:
        plant = self._plant()
        return {"MV": self._battery_mv if self._battery_mv is not None else plant.battery.mv_at(plant.now_ms)}

    def _fault(self, a: Args) -> Mapping[str, Value]:
        plant = self._plant()
        if a.flag("CLEAR"):
            self._stalled, self._battery_mv = False, None
        if "STALL" in a:
            stall = a.flag("STALL")
            if stall and not self._stalled:
                plant.timer.stop()
                if self.notify is not None:
                    self.notify("ALERT", {"KIND": "stall", "T_MS": plant.now_ms})
            self._stalled = stall
        if "BATTERY_MV" in a:
            self._battery_mv = a.maybe_integer("BATTERY_MV")
        return {}

    # ------------------------------------------------------------------ plant model

    def _dryat(self, a: Args) -> Mapping[str, Value]:
        plant, t = self._plant(), a.integer("T_MS")
        if t < plant.now_ms:
            raise state_error(f"DRYAT T_MS={t}: before now ({plant.now_ms} ms)")
        if self.recorder is not None:
            self.recorder.next_stop()
        return {"T_MS": plant.dry_stroke_ms(t)}

    def _dry(self, a: Args) -> Mapping[str, Value]:
        plant = self._plant()
        new = plant.check_dry()
        if new and self.recorder is not None:
            self.recorder.dry(plant.now_ms, plant.strokes)
        return {"NEW": new}

    def _refill(self, a: Args) -> Mapping[str, Value]:
        plant = self._plant()
        try:
            out = plant.refill(a.number("ADD_NL"), a.number("CONC_NG_PER_NL"), a.flag("ASPIRATE"),
                               a.number("UNASPIRATED_NL"))
        except ValueError as e:
            raise arg_error(f"REFILL: {e}") from None
        self.counts.refills += 1
        self._outcomes[plant.epoch_index] = out
        if self.recorder is not None:
            self.recorder.refilled(out)
        return {"EPOCH": plant.epoch_index, "RESIDUAL_NL": out.residual_nl, "ASPIRATED_NL": out.aspirated_nl,
                "ADDED_NL": out.added_nl, "OVERFLOW_NL": out.overflow_nl}

    def _outcome(self, a: Args) -> Mapping[str, Value]:
        out = self._outcomes.get(a.integer("EPOCH"))
        if out is None:
            raise arg_error(f"EPOCH={a.integer('EPOCH')}: no refill started that epoch")
        return {"ASPIRATED_NG": out.aspirated_ng, "OVERFLOW_NG": out.overflow_ng, "VOLUME_NL": out.volume_nl,
                "CONC_NG_PER_NL": out.conc_ng_per_nl}

    def _state(self, a: Args) -> Mapping[str, Value]:
        plant = self._plant()
        s = plant.state()
        return {"T_MS": plant.now_ms, "N": s.strokes, "PUMPED_NL": s.pumped_nl, "RESERVOIR_NL": s.reservoir_nl,
                "EPOCH": plant.epoch_index}

    def _mass(self, a: Args) -> Mapping[str, Value]:
        s = self._plant().state()
        return {"CONC_NG_PER_NL": s.reservoir_conc_ng_per_nl, "DELIVERED_NG": s.delivered_ng,
                "CATHETER_NG": s.catheter_content_ng}

    def _trace(self, a: Args) -> Mapping[str, Value]:
        plant, k, epoch = self._plant(), a.integer("N"), a.integer("EPOCH")
        if not self._forgotten <= k <= plant.strokes:
            raise arg_error(f"N={k}: expected {self._forgotten}..{plant.strokes} (not forgotten, not in the future)")
        if epoch > plant.epoch_index:
            raise arg_error(f"EPOCH={epoch}: expected 0..{plant.epoch_index}")
        c = plant.trace_values(np.array([k], dtype=np.int64), np.array([epoch], dtype=np.int64))
        return {"RESERVOIR_NL": float(c.reservoir_nl[0]), "PUMPED_NL": float(c.pumped_nl[0]),
                "DELIVERED_NG": float(c.delivered_ng[0]), "TIP_NG_PER_NL": float(c.tip_conc_ng_per_nl[0])}

    def _forget(self, a: Args) -> Mapping[str, Value]:
        plant, k = self._plant(), a.integer("N")
        if self.recorder is not None:
            k = self.recorder.keep_from(k)
        k = min(k, plant.strokes)
        self._forgotten = max(self._forgotten, min(k, plant.reservoir.epoch.k0))
        plant.release_strokes_before(k)
        return {}

    # ------------------------------------------------------------------ relays to the recorder

    def _recorder(self) -> PlantRecorder:
        if self.recorder is None:
            raise state_error("this plant records nothing")
        return self.recorder

    def _visit(self, a: Args) -> Mapping[str, Value]:
        self._recorder().visit(a.integer("I"), a.maybe_integer("ENTERED_NL"), a.maybe_integer("CONC_NG_PER_ML"))
        return {}

    def _log(self, a: Args) -> Mapping[str, Value]:
        self._recorder().log(a.integer("NUM"), a.integer("T_MS"), a.integer("CODE"), a.integer("A"), a.integer("B"))
        return {}

    def _lost(self, a: Args) -> Mapping[str, Value]:
        self._recorder().lost(a.integer("N"))
        return {}

    def _wake(self, a: Args) -> Mapping[str, Value]:
        self._recorder().wake(a.integer("EST_BASE_PL"), a.integer("COUNT_BASE"), a.integer("CONC_NG_PER_ML"),
                              a.integer("ALARMS"))
        return {}


def _params_of(c: Args) -> tuple[PlantParams, int]:
    """The plant parameters and seed of a complete CONFIG."""
    params = PlantParams(c.integer("STROKE_PL"), c.number("CAL_ERROR"), c.number("STROKE_CV"),
                         c.integer("RESERVOIR_NL"), c.integer("FILL_NL"), c.integer("CONC_NG_PER_ML"),
                         c.integer("DEAD_NL"), c.flag("PRIMED"))
    return params, c.integer("SEED")


def _program(a: Args, later: tuple[tuple[int, int], ...]) -> MotorProgram:
    try:
        return MotorProgram(a.integer("START_MS"), a.integer("N"), a.integer("RATE_PL_PER_DAY"),
                            a.integer("COST_PL_MS_PER_DAY"), a.integer("CREDIT0_PL_MS_PER_DAY"), later)
    except ValueError as e:
        raise arg_error(f"PROG: {e}") from None
