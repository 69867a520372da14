"""The plant side's verbs as typed calls: what a host, a DUT emulator or a bench phase calls.

:class:`BenchClient` wraps a :class:`~hil.link.Link` to a bench or a plant
server (``pumpsim hil emulate bench``, ``pumpsim hil serve``, a real bench)
and turns each verb into a method with typed arguments and results, in the
project's units (ms, nL, ng, pL/day). It adds no state of its own beyond the
session's hello.

Errors: :class:`~hil.link.PeerError` for an ``ERR`` reply,
:class:`~hil.link.LinkTimeout` / :class:`~hil.link.LinkDown` when the link
fails, :class:`ProtocolMismatch` when the peer speaks another version or is
not the kind of peer needed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from firmware_model import LogRecord, MotorProgram, TonePattern
from pumpsim.engine.ports import PlantParams
from pumpsim.plant import PlantColumns, PlantState, RefillOutcome

from .link import Link, PeerError
from .protocol import VERSION, ErrorCode, Value
from .verbs import VERBS, Args, Group, parse_reply


class ProtocolMismatch(Exception):
    """The peer speaks another protocol version, or lacks capabilities this session needs (one line)."""


@dataclass(frozen=True, slots=True)
class Hello:
    """The peer's answer to HELLO."""

    version: int
    role: str
    caps: tuple[str, ...]
    session: str


#: The CONFIG keys of the plant parameters (and the seed), with the PlantParams field each sets.
CONFIG_KEYS: dict[str, str] = {
    "STROKE_PL": "stroke_volume_pl",
    "CAL_ERROR": "calibration_error",
    "STROKE_CV": "stroke_cv",
    "RESERVOIR_NL": "reservoir_nl",
    "FILL_NL": "fill_nl",
    "CONC_NG_PER_ML": "conc_ng_per_ml",
    "DEAD_NL": "dead_nl",
    "PRIMED": "primed",
}


def config_values(params: PlantParams, seed: int) -> dict[str, Value]:
    """CONFIG's key/value pairs for *params* and *seed*."""
    out: dict[str, Value] = {key: getattr(params, name) for key, name in CONFIG_KEYS.items()}
    out["SEED"] = seed
    return out


class BenchClient:
    """Typed calls to the plant side over *link* (see the module docs)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.hello_reply: Hello | None = None

    def _call(self, verb: str, args: Mapping[str, Value] | None = None) -> Args:
        return parse_reply(VERBS[verb], self.link.call(verb, args))

    # ------------------------------------------------------------ session

    def hello(self, role: str, session: str | None = None, *, needs: Sequence[str] = ()) -> Hello:
        """Start a session as *role*; check the peer's version and that it offers the groups in *needs*.

        Raises :class:`ProtocolMismatch` for another version or a missing capability.
        """
        session = session or secrets.token_hex(4)
        try:
            r = self._call("HELLO", {"VERSION": VERSION, "ROLE": role, "SESSION": session})
        except PeerError as e:
            if e.code == ErrorCode.VERSION:
                raise ProtocolMismatch(f"the peer speaks protocol version {e.text or '?'}; "
                                       f"this is version {VERSION}") from None
            raise ProtocolMismatch(f"the peer refused HELLO: ERR {e.code} {e.text}".rstrip()) from None
        h = Hello(r.integer("VERSION"), r.word("ROLE"), r.words("CAPS"), session)
        if h.version != VERSION:
            raise ProtocolMismatch(f"the peer speaks protocol version {h.version}; this is version {VERSION}")
        missing = [g for g in needs if g not in h.caps]
        if missing:
            raise ProtocolMismatch(f"the peer (ROLE={h.role}, CAPS={','.join(h.caps)}) lacks "
                                   f"{', '.join(missing)}, which this session needs")
        self.hello_reply = h
        return h

    def ping(self) -> None:
        self.link.call("PING")

    def status(self) -> dict[str, str]:
        """STATUS as raw KEY=VALUE strings."""
        return self.link.call("STATUS").values()

    def end(self, t_ms: int, complete: bool, estimate_nl: int | None = None, prescribed: int | None = None, *,
            retries: int | None = None) -> None:
        """END the session (*retries* None: the link's default; fewer when the peer may be gone)."""
        args: dict[str, Value] = {"T_MS": t_ms, "COMPLETE": complete}
        if estimate_nl is not None:
            args["ESTIMATE_NL"] = estimate_nl
        if prescribed is not None:
            args["PRESCRIBED"] = prescribed
        self.link.call("END", args, retries=retries)

    # ------------------------------------------------------------ set-up and clock

    def config(self, params: PlantParams, seed: int) -> None:
        """Send the plant parameters (in as many CONFIG frames as they need)."""
        values = list(config_values(params, seed).items())
        for i in range(0, len(values), 4):
            self.link.call("CONFIG", dict(values[i:i + 4]))

    def start(self) -> None:
        self._call("START")

    def time_ms(self) -> int:
        return self._call("TIME").integer("T_MS")

    def advance(self, t_ms: int) -> int:
        """Move the plant's clock to *t_ms*; returns the stroke counter then."""
        return self._call("ADVANCE", {"T_MS": t_ms}).integer("N")

    # ------------------------------------------------------------ motor, sounder, battery

    def load(self, program: MotorProgram) -> None:
        """PROG (and its ROWs): replace the running program."""
        p = program
        self.link.call("PROG", {"START_MS": p.start_ms, "N": p.strokes, "RATE_PL_PER_DAY": p.rate_pl_per_day,
                                "COST_PL_MS_PER_DAY": p.stroke_cost, "CREDIT0_PL_MS_PER_DAY": p.credit0,
                                "ROWS": len(p.later)})
        for from_ms, rate in p.later:
            self.link.call("ROW", {"FROM_MS": from_ms, "RATE_PL_PER_DAY": rate})

    def run(self, strokes: int, period_ms: int) -> int:
        """RUN: *strokes* strokes from now, one every *period_ms*; returns the counter at loading."""
        return self._call("RUN", {"N": strokes, "PERIOD_MS": period_ms}).integer("N")

    def stop(self) -> int:
        return self._call("STOP").integer("N")

    def count(self) -> int:
        return self._call("COUNT").integer("N")

    def stalled(self) -> bool:
        return self._call("STALL").flag("STALLED")

    def tone(self, pattern: TonePattern) -> None:
        segs = ",".join(f"{s.freq_hz}:{s.on_ms}:{s.off_ms}" for s in pattern.segments)
        self.link.call("TONE", {"NAME": pattern.name, "PRIORITY": pattern.priority, "SEGMENTS": segs})

    def silence(self) -> None:
        self.link.call("SILENCE")

    def battery_mv(self) -> int:
        return self._call("BATTERY").integer("MV")

    def fault(self, *, stall: bool | None = None, battery_mv: int | bool | None = False,
              clear: bool = False) -> None:
        """FAULT: *stall* True/False sets/clears a stall; *battery_mv* an int overrides the gauge, None
        restores the model (False: leave as is); *clear* clears every fault."""
        args: dict[str, Value] = {}
        if stall is not None:
            args["STALL"] = stall
        if battery_mv is not False:
            args["BATTERY_MV"] = None if battery_mv is None else int(battery_mv)
        if clear:
            args["CLEAR"] = True
        self.link.call("FAULT", args)

    # ------------------------------------------------------------ plant model

    def dry_at(self, t_ms: int) -> int | None:
        return self._call("DRYAT", {"T_MS": t_ms}).maybe_integer("T_MS")

    def check_dry(self) -> bool:
        return self._call("DRY").flag("NEW")

    def refill(self, added_nl: float, conc_ng_per_nl: float, aspirate: bool,
               unaspirated_nl: float) -> tuple[int, RefillOutcome]:
        """REFILL then OUTCOME: the new epoch and what the refill did."""
        a = self._call("REFILL", {"ADD_NL": added_nl, "CONC_NG_PER_NL": conc_ng_per_nl, "ASPIRATE": aspirate,
                                  "UNASPIRATED_NL": unaspirated_nl})
        epoch = a.integer("EPOCH")
        b = self._call("OUTCOME", {"EPOCH": epoch})
        out = RefillOutcome(residual_nl=a.number("RESIDUAL_NL"), aspirated_nl=a.number("ASPIRATED_NL"),
                            aspirated_ng=b.number("ASPIRATED_NG"), added_nl=a.number("ADDED_NL"),
                            overflow_nl=a.number("OVERFLOW_NL"), overflow_ng=b.number("OVERFLOW_NG"),
                            volume_nl=b.number("VOLUME_NL"), conc_ng_per_nl=b.number("CONC_NG_PER_NL"))
        return epoch, out

    def state(self) -> tuple[int, PlantState]:
        """STATE and MASS: the plant's present time and its truth."""
        a, b = (parse_reply(VERBS[v], r) for v, r in zip(("STATE", "MASS"), self.link.call_many(
            [("STATE", {}), ("MASS", {})]), strict=True))
        return a.integer("T_MS"), PlantState(
            strokes=a.integer("N"), pumped_nl=a.number("PUMPED_NL"), reservoir_nl=a.number("RESERVOIR_NL"),
            reservoir_conc_ng_per_nl=b.number("CONC_NG_PER_NL"), delivered_ng=b.number("DELIVERED_NG"),
            catheter_content_ng=b.number("CATHETER_NG"))

    def trace(self, k: Sequence[int], epoch: Sequence[int]) -> PlantColumns:
        """TRACE for each (k, epoch), pipelined: the plant's trace values as columns."""
        calls = [("TRACE", {"N": int(n), "EPOCH": int(e)}) for n, e in zip(k, epoch, strict=True)]
        replies = self.link.call_many(calls)
        rows = [parse_reply(VERBS["TRACE"], r) for r in replies]

        def col(key: str) -> np.ndarray:
            return np.array([r.number(key) for r in rows], dtype=np.float64)

        return PlantColumns(reservoir_nl=col("RESERVOIR_NL"), pumped_nl=col("PUMPED_NL"),
                            delivered_ng=col("DELIVERED_NG"), tip_conc_ng_per_nl=col("TIP_NG_PER_NL"))

    def forget(self, k: int) -> None:
        self.link.call("FORGET", {"N": k})

    # ------------------------------------------------------------ relays to a recording plant (REC)

    @property
    def records(self) -> bool:
        """True if the peer records what it is told (``pumpsim hil serve``)."""
        return self.hello_reply is not None and Group.REC in self.hello_reply.caps

    def visit(self, index: int, entered_nl: int | None = None, conc_ng_per_ml: int | None = None) -> None:
        args: dict[str, Value] = {"I": index}
        if entered_nl is not None:
            args["ENTERED_NL"] = entered_nl
        if conc_ng_per_ml is not None:
            args["CONC_NG_PER_ML"] = conc_ng_per_ml
        self.link.call("VISIT", args)

    def log(self, records: Sequence[LogRecord], lost: int = 0) -> None:
        calls: list[tuple[str, Mapping[str, Value]]] = [("LOST", {"N": lost})] if lost else []
        calls += [("LOG", {"NUM": r.seq, "T_MS": r.t_ms, "CODE": r.code, "A": r.a, "B": r.b}) for r in records]
        for verb, args in calls:  # in order: the plant decodes them one after the other
            self.link.call(verb, args)

    def wake(self, est_base_pl: int, count_base: int, conc_ng_per_ml: int, alarm_bits: int) -> None:
        self.link.call("WAKE", {"EST_BASE_PL": est_base_pl, "COUNT_BASE": count_base,
                                "CONC_NG_PER_ML": conc_ng_per_ml, "ALARMS": alarm_bits})
