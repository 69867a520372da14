"""Every verb of protocol version 1, as data: arguments and reply keys with their units, group, direction.

The table below is the one place a verb is defined. Receivers check a
request's arguments against it (:func:`parse_args`, so every endpoint refuses
bad input with the same ``ERR BADARG`` text), senders read replies with it
(:func:`parse_reply`), and the verb tables of docs/hil-protocol.md are
generated from it (:mod:`hil.docgen`).

Argument values (``KEY=VALUE``, no spaces) are of one of the :class:`Kind` s:
decimal integers (within int64), finite decimal floats (written in Python's
shortest round-trip form so a float crosses the link exactly), ``0``/``1``
flags, lower-case words, ``NONE`` where a value may be absent, and short
comma-separated lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from .protocol import ErrorCode, Reply

INT64_MAX: Final = 2**63 - 1


class Kind:
    """Value kinds of an argument (the docs show these names)."""

    INT: Final = "integer"
    FLOAT: Final = "float"
    FLAG: Final = "0/1"
    WORD: Final = "word"
    INT_OR_NONE: Final = "integer or NONE"
    SEGMENTS: Final = "HZ:ON_MS:OFF_MS,..."
    WORDS: Final = "word,word,..."


#: How a value of each kind is written (docs/hil-protocol.md's table is generated from this).
KIND_DOCS: Final[dict[str, str]] = {
    Kind.INT: "Decimal digits with an optional leading `-`, no leading zeros (`0`, `-5`, `86400000`); within int64 "
              "(-2^63..2^63-1) unless the verb says otherwise.",
    Kind.FLOAT: "A decimal number, optionally with an exponent (`0.0`, `12345.678901234567`, `1e-05`), at most 32 "
                "characters. Senders write the shortest text that reads back to the same IEEE-754 double (Python's "
                "`repr`, C's `%.17g` also works), so a value crosses the link exactly. No `inf` or `nan`.",
    Kind.FLAG: "`0` or `1`.",
    Kind.WORD: "Lower-case letters, digits and `_`, at most 32 characters (`host`, `non_critical`).",
    Kind.INT_OR_NONE: "An integer, or `NONE` for no value.",
    Kind.SEGMENTS: "1 to 8 tone segments `HZ:ON_MS:OFF_MS` separated by commas (`880:1000:0`).",
    Kind.WORDS: "Words (letters, digits, `_`) separated by commas (`CLOCK,MOTOR`).",
}


@dataclass(frozen=True, slots=True)
class Arg:
    """One ``KEY=VALUE`` argument (or reply key): *unit* empty when it has none; *lo*..*hi* for integers."""

    key: str
    kind: str
    unit: str
    doc: str
    required: bool = True
    lo: int = -INT64_MAX - 1
    hi: int = INT64_MAX


@dataclass(frozen=True, slots=True)
class Verb:
    """One verb: who receives it (*to*), its *group* (a capability word), arguments and reply keys."""

    name: str
    to: str  # "any", "plant" (bench or plant server), "firmware" (host or DUT)
    group: str
    doc: str
    args: tuple[Arg, ...] = ()
    reply: tuple[Arg, ...] = ()
    errors: tuple[str, ...] = ()
    #: The request may carry any number of its arguments, at least one (CONFIG, FAULT).
    any_of: bool = False
    arg_index: dict[str, Arg] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arg_index", {a.key: a for a in self.args})


# ---------------------------------------------------------------- building blocks

def _t(doc: str = "Time, ms since t = 0 of the session's clock.", required: bool = True) -> Arg:
    return Arg("T_MS", Kind.INT, "ms", doc, required, lo=0)


def _n(doc: str) -> Arg:
    return Arg("N", Kind.INT, "strokes", doc, lo=0)


def _nl(key: str, doc: str, required: bool = True) -> Arg:
    return Arg(key, Kind.FLOAT, "nL", doc, required)


_COUNT = _n("The stroke counter (strokes since START).")
_EPOCH = Arg("EPOCH", Kind.INT, "", "Reservoir epoch: 0 from START, +1 at every REFILL.", lo=0)


class Role:
    """Endpoint roles (``HELLO ROLE=``): two firmware sides, two plant sides."""

    HOST: Final = "host"  # pumpsim hil run: the firmware model on a host, driving a bench
    DUT: Final = "dut"  # a device under test (or pumpsim hil emulate dut), driving a simulated plant
    BENCH: Final = "bench"  # a bench (or pumpsim hil emulate bench): motor, sounder, battery, plant model
    PLANT: Final = "plant"  # pumpsim hil serve: the simulated plant, recording its truth


FIRMWARE_ROLES: Final = (Role.HOST, Role.DUT)
PLANT_ROLES: Final = (Role.BENCH, Role.PLANT)
ROLES: Final = FIRMWARE_ROLES + PLANT_ROLES


class Group:
    """Capability words (``CAPS=``); each names a group of verbs."""

    SESSION: Final = "SESSION"
    CLOCK: Final = "CLOCK"
    MOTOR: Final = "MOTOR"
    SOUNDER: Final = "SOUNDER"
    BATTERY: Final = "BATTERY"
    PLANT: Final = "PLANT"
    FAULT: Final = "FAULT"
    REC: Final = "REC"
    TELEM: Final = "TELEM"


_E = ErrorCode

VERB_LIST: Final[tuple[Verb, ...]] = (
    # ------------------------------------------------------------ session (every endpoint)
    Verb("HELLO", "any", Group.SESSION,
         "Start (or resume) a session. A HELLO with a SESSION other than the current one, or without SESSION, "
         "starts a new session: the receiver forgets its replay cache and its session state (a plant side "
         "discards its plant). The same SESSION again resumes the current one and changes nothing.",
         (Arg("VERSION", Kind.INT, "", "Protocol version the sender speaks (1).", lo=0),
          Arg("ROLE", Kind.WORD, "", "The sender's role: `host`, `dut`, `bench` or `plant`."),
          Arg("SESSION", Kind.WORD, "", "Session id chosen by the sender (any word, e.g. 8 hex digits).", False)),
         (Arg("VERSION", Kind.INT, "", "Protocol version the receiver speaks."),
          Arg("ROLE", Kind.WORD, "", "The receiver's role."),
          Arg("CAPS", Kind.WORDS, "", "The verb groups the receiver offers (SESSION is implied).")),
         (_E.VERSION, _E.BADARG)),
    Verb("PING", "any", Group.SESSION, "Are you there? Allowed before HELLO.", reply=()),
    Verb("STATUS", "any", Group.SESSION,
         "State as KEY=VALUE pairs; allowed before HELLO. Every endpoint sends ROLE, VERSION and STATE "
         "(`idle`, `ready`, `running`, `ended`); the other keys depend on the role (see State rules).",
         reply=(Arg("ROLE", Kind.WORD, "", "The receiver's role."),
                Arg("VERSION", Kind.INT, "", "Protocol version."),
                Arg("STATE", Kind.WORD, "", "Session state."))),
    Verb("END", "plant", Group.SESSION,
         "The firmware side ends the session. The plant side stops its motor; a recording plant (REC) writes "
         "its outputs, complete or not.",
         (_t("Time the firmware side reached."),
          Arg("COMPLETE", Kind.FLAG, "", "1 if the run reached its planned end."),
          Arg("ESTIMATE_NL", Kind.INT, "nL", "The firmware's reservoir estimate at the end.", False),
          Arg("PRESCRIBED", Kind.INT, "pL*ms/day*ng/mL",
              "Prescribed dose so far as the engine keeps it: stroke-timer credit times believed concentration "
              "(divide by 8.64e19 for mg). Host bookkeeping: may exceed int64.", False, lo=0, hi=10**40)),
         errors=(_E.STATE,)),
    # ------------------------------------------------------------ plant set-up
    Verb("CONFIG", "plant", Group.PLANT,
         "Set plant parameters before START (any subset per frame; all are needed by START). A plant that "
         "serves its own scenario (`pumpsim hil serve`) checks them against it instead.",
         (Arg("STROKE_PL", Kind.INT, "pL", "Nominal stroke volume.", lo=1),
          Arg("CAL_ERROR", Kind.FLOAT, "fraction", "Systematic stroke volume error (+0.1 = 10 % more)."),
          Arg("STROKE_CV", Kind.FLOAT, "fraction", "Stroke-to-stroke coefficient of variation."),
          Arg("SEED", Kind.INT, "", "Seed of the stroke-volume stream.", lo=0),
          Arg("RESERVOIR_NL", Kind.INT, "nL", "Reservoir capacity.", lo=1),
          Arg("FILL_NL", Kind.INT, "nL", "Reservoir content at START.", lo=0),
          Arg("CONC_NG_PER_ML", Kind.INT, "ng/mL", "Drug concentration at START.", lo=0),
          Arg("DEAD_NL", Kind.INT, "nL", "Dead volume: pump tubing plus catheter.", lo=0),
          Arg("PRIMED", Kind.FLAG, "", "1 if the dead volume starts full of drug.")),
         errors=(_E.BADARG, _E.STATE), any_of=True),
    Verb("START", "plant", Group.PLANT,
         "Build the plant from CONFIG at t = 0: motor stopped, counter 0, clock 0 ms.",
         reply=(_t(), _COUNT), errors=(_E.STATE,)),
    # ------------------------------------------------------------ clock
    Verb("TIME", "plant", Group.CLOCK, "Read the plant's clock.", reply=(_t(),), errors=(_E.STATE,)),
    Verb("ADVANCE", "plant", Group.CLOCK,
         "Virtual time: move the clock to T_MS (>= now); the strokes the running program fires by then fire.",
         (_t("Time to move to."),), (_t(), _COUNT), (_E.STATE,)),
    # ------------------------------------------------------------ motor
    Verb("PROG", "plant", Group.MOTOR,
         "Load a stroke-timer program (firmware_model.MotorProgram), replacing the running one. From START_MS "
         "the timer adds RATE_PL_PER_DAY credit per ms (then the ROW rates from their times); a stroke fires "
         "each time the credit reaches COST_PL_MS_PER_DAY, at most N strokes. With ROWS > 0 the program is "
         "loaded when its last ROW arrives.",
         (Arg("START_MS", Kind.INT, "ms", "Start time of the program.", lo=0),
          _n("Strokes to fire at most."),
          Arg("RATE_PL_PER_DAY", Kind.INT, "pL/day", "Timer rate from START_MS.", lo=0),
          Arg("COST_PL_MS_PER_DAY", Kind.INT, "pL*ms/day", "Credit per stroke: stroke volume (pL) x 86400000.",
              lo=1),
          Arg("CREDIT0_PL_MS_PER_DAY", Kind.INT, "pL*ms/day", "Credit already accrued at START_MS.", lo=0),
          Arg("ROWS", Kind.INT, "", "Number of ROW requests that follow (0 if none).", False, lo=0, hi=64)),
         (Arg("N", Kind.INT_OR_NONE, "strokes", "Counter when the program was loaded (NONE while rows are due)."),),
         (_E.BADARG, _E.STATE)),
    Verb("ROW", "plant", Group.MOTOR,
         "One later row of the rate table of the PROG being loaded, in increasing FROM_MS order.",
         (Arg("FROM_MS", Kind.INT, "ms", "Time the rate applies from.", lo=0),
          Arg("RATE_PL_PER_DAY", Kind.INT, "pL/day", "Timer rate from FROM_MS.", lo=0)),
         (Arg("ROWS_LEFT", Kind.INT, "", "Rows still expected (0: the program is loaded)."),
          Arg("N", Kind.INT_OR_NONE, "strokes", "Counter at loading, or NONE while rows are due.")),
         (_E.BADARG, _E.STATE)),
    Verb("RUN", "plant", Group.MOTOR,
         "Hand form of PROG: from now, N strokes, one every PERIOD_MS ms.",
         (_n("Strokes to fire."), Arg("PERIOD_MS", Kind.INT, "ms", "Time between strokes.", lo=1)),
         (_COUNT,), (_E.BADARG, _E.STATE)),
    Verb("STOP", "plant", Group.MOTOR, "Stop the stroke timer; strokes not yet fired are dropped.",
         reply=(_COUNT,), errors=(_E.STATE,)),
    Verb("COUNT", "plant", Group.MOTOR, "Read the stroke counter.", reply=(_COUNT,), errors=(_E.STATE,)),
    Verb("STALL", "plant", Group.MOTOR, "Read the motor driver's stall flag.",
         reply=(Arg("STALLED", Kind.FLAG, "", "1 if the motor is stalled."),), errors=(_E.STATE,)),
    # ------------------------------------------------------------ sounder
    Verb("TONE", "plant", Group.SOUNDER, "Play a tone pattern once, now.",
         (Arg("NAME", Kind.WORD, "", "Pattern name (`non_critical`, `critical`)."),
          Arg("PRIORITY", Kind.INT, "", "1 non-critical, 2 critical.", lo=0, hi=9),
          Arg("SEGMENTS", Kind.SEGMENTS, "Hz:ms:ms", "Frequency, on-time, off-time of each segment.")),
         errors=(_E.BADARG, _E.STATE)),
    Verb("SILENCE", "plant", Group.SOUNDER, "Stop any tone now.", errors=(_E.STATE,)),
    # ------------------------------------------------------------ battery
    Verb("BATTERY", "plant", Group.BATTERY, "Read the battery gauge.",
         reply=(Arg("MV", Kind.INT, "mV", "Battery terminal voltage."),), errors=(_E.STATE,)),
    # ------------------------------------------------------------ plant model
    Verb("DRYAT", "plant", Group.PLANT,
         "Look ahead: the time of the stroke in (now, T_MS] that empties the reservoir, if the running program "
         "is left alone; NONE if none does.",
         (_t("End of the look-ahead."),), (Arg("T_MS", Kind.INT_OR_NONE, "ms", "Time of that stroke, or NONE."),),
         (_E.STATE,)),
    Verb("DRY", "plant", Group.PLANT,
         "Check now whether the reservoir is empty and was not known to be; from then on it is known to be.",
         reply=(Arg("NEW", Kind.FLAG, "", "1 if it just ran dry."),), errors=(_E.STATE,)),
    Verb("REFILL", "plant", Group.PLANT,
         "Refill now: aspirate (if ASPIRATE, leaving UNASPIRATED_NL), inject ADD_NL of CONC_NG_PER_NL, mix; the "
         "new mix enters the catheter from now on. OUTCOME reads the masses.",
         (_nl("ADD_NL", "Volume injected."),
          Arg("CONC_NG_PER_NL", Kind.FLOAT, "ng/nL", "Concentration injected (= mg/mL)."),
          Arg("ASPIRATE", Kind.FLAG, "", "1 to draw the old content out first."),
          _nl("UNASPIRATED_NL", "What aspiration leaves behind.")),
         (_EPOCH, _nl("RESIDUAL_NL", "Volume in the reservoir before the refill."),
          _nl("ASPIRATED_NL", "Volume drawn out."), _nl("ADDED_NL", "Volume that went in."),
          _nl("OVERFLOW_NL", "Injected volume that did not fit.")),
         (_E.BADARG, _E.STATE)),
    Verb("OUTCOME", "plant", Group.PLANT, "The rest of what the refill that started EPOCH did.",
         (_EPOCH,),
         (Arg("ASPIRATED_NG", Kind.FLOAT, "ng", "Drug mass drawn out."),
          Arg("OVERFLOW_NG", Kind.FLOAT, "ng", "Drug mass that did not fit."),
          _nl("VOLUME_NL", "Reservoir volume after the refill."),
          Arg("CONC_NG_PER_NL", Kind.FLOAT, "ng/nL", "Concentration after mixing.")),
         (_E.BADARG, _E.STATE)),
    Verb("STATE", "plant", Group.PLANT, "The plant's truth now: volumes (MASS has the masses).",
         reply=(_t(), _COUNT, _nl("PUMPED_NL", "Volume pumped into the catheter since START."),
                _nl("RESERVOIR_NL", "Real reservoir volume."), _EPOCH),
         errors=(_E.STATE,)),
    Verb("MASS", "plant", Group.PLANT, "The plant's truth now: concentration and masses.",
         reply=(Arg("CONC_NG_PER_NL", Kind.FLOAT, "ng/nL", "Reservoir concentration."),
                Arg("DELIVERED_NG", Kind.FLOAT, "ng", "Drug mass out of the catheter tip since START."),
                Arg("CATHETER_NG", Kind.FLOAT, "ng", "Drug mass in the dead volume.")),
         errors=(_E.STATE,)),
    Verb("TRACE", "plant", Group.PLANT,
         "Physical values at stroke count N in reservoir epoch EPOCH (N not below the last FORGET).",
         (_n("Stroke count."), _EPOCH),
         (_nl("RESERVOIR_NL", "Real reservoir volume."), _nl("PUMPED_NL", "Volume pumped since START."),
          Arg("DELIVERED_NG", Kind.FLOAT, "ng", "Drug mass out of the tip."),
          Arg("TIP_NG_PER_NL", Kind.FLOAT, "ng/nL", "Concentration leaving the tip.")),
         (_E.BADARG, _E.STATE)),
    Verb("FORGET", "plant", Group.PLANT, "TRACE will not ask about strokes below N again (memory may be freed).",
         (_n("Lowest stroke count still needed."),), errors=(_E.STATE,)),
    # ------------------------------------------------------------ bench fault injection
    Verb("FAULT", "plant", Group.FAULT,
         "Inject or clear bench faults (any subset). A stall stops the stroke timer and raises the stall flag; "
         "programs loaded meanwhile fire nothing until it is cleared. BATTERY_MV overrides the gauge.",
         (Arg("STALL", Kind.FLAG, "", "1 to stall the motor, 0 to clear the stall.", False),
          Arg("BATTERY_MV", Kind.INT_OR_NONE, "mV", "Gauge reading to report, NONE for the model's.", False),
          Arg("CLEAR", Kind.FLAG, "", "1 to clear every fault.", False)),
         errors=(_E.BADARG, _E.STATE), any_of=True),
    # ------------------------------------------------------------ recording relays (to a recording plant)
    Verb("VISIT", "plant", Group.REC,
         "Relay: visit I of the scenario (0-based) happened now, after its REFILL if it had one.",
         (Arg("I", Kind.INT, "", "Index of the visit in the scenario.", lo=0),
          Arg("ENTERED_NL", Kind.INT, "nL", "Volume the clinician entered (refill visits).", False, lo=0),
          Arg("CONC_NG_PER_ML", Kind.INT, "ng/mL", "Concentration injected (refill visits).", False, lo=0)),
         errors=(_E.BADARG, _E.STATE)),
    Verb("LOG", "plant", Group.REC, "Relay: one record of the firmware's event log (firmware_model.LogRecord).",
         (Arg("NUM", Kind.INT, "", "The record's sequence number.", lo=0), _t("The record's time."),
          Arg("CODE", Kind.INT, "", "Event code."), Arg("A", Kind.INT, "", "First argument."),
          Arg("B", Kind.INT, "", "Second argument.")),
         errors=(_E.BADARG, _E.STATE)),
    Verb("LOST", "plant", Group.REC, "Relay: N log records were overwritten before they could be read.",
         (Arg("N", Kind.INT, "records", "Records lost.", lo=0),), errors=(_E.STATE,)),
    Verb("WAKE", "plant", Group.REC, "Relay: what the firmware believes after a wake-up (for the trace).",
         (Arg("EST_BASE_PL", Kind.INT, "pL", "Estimate base: estimate = EST_BASE_PL - (N - COUNT_BASE) x stroke."),
          Arg("COUNT_BASE", Kind.INT, "strokes", "Counter the estimate base refers to."),
          Arg("CONC_NG_PER_ML", Kind.INT, "ng/mL", "Concentration the firmware believes.", lo=0),
          Arg("ALARMS", Kind.INT, "", "Active alarms, bit (1 << alarm id) each.", lo=0)),
         errors=(_E.STATE,)),
    # ------------------------------------------------------------ to the firmware side
    Verb("TELEM", "firmware", Group.TELEM,
         "Telemetry pass-through: one clinician command for the firmware's inbox, applied at its next wake-up "
         "(the firmware side wakes the controller at its next stop). CMD `refill` (RESERVOIR_NL, CONC_NG_PER_ML, "
         "BRIDGE), `reprogram` (MODE and its dose keys; flex is not expressible in version 1), `threshold` "
         "(THRESHOLD_NL) or `priming`.",
         (Arg("CMD", Kind.WORD, "", "`refill`, `reprogram`, `threshold` or `priming`."),
          Arg("RESERVOIR_NL", Kind.INT, "nL", "refill: volume now in the reservoir.", False, lo=0),
          Arg("CONC_NG_PER_ML", Kind.INT, "ng/mL", "refill: new concentration.", False, lo=0),
          Arg("BRIDGE", Kind.FLAG, "", "refill: bridge bolus on a concentration change.", False),
          Arg("CONFIRM", Kind.FLAG, "", "refill, reprogram: the clinician confirms the drug library's soft limits "
              "(without it a soft-limit violation is refused).", False),
          Arg("THRESHOLD_NL", Kind.INT, "nL", "threshold: low-reservoir alarm threshold.", False, lo=0),
          Arg("MODE", Kind.WORD, "", "reprogram: `continuous`, `periodic_bolus`, `single_bolus` or `stopped`.",
              False),
          Arg("DOSE_NG_PER_DAY", Kind.INT, "ng/day", "reprogram: basal dose.", False, lo=0),
          Arg("BOLUS_NG", Kind.INT, "ng", "reprogram: bolus dose.", False, lo=0),
          Arg("BOLUS_DURATION_MS", Kind.INT, "ms", "reprogram: bolus duration.", False, lo=0),
          Arg("BOLUS_INTERVAL_MS", Kind.INT, "ms", "reprogram: time between periodic boluses.", False, lo=0),
          Arg("BOLUS_START_MS", Kind.INT, "ms", "reprogram: time of day of the first periodic bolus.", False,
              lo=0)),
         (Arg("QUEUED", Kind.INT, "", "Commands waiting for the next wake-up, this one included."),),
         (_E.BADARG, _E.BUSY, _E.STATE)),
    Verb("ALERT", "firmware", Group.TELEM,
         "The plant side reports something the firmware side should know at once (a motor stall, a reservoir "
         "found dry). Counted in hil.json; the firmware reads the details through the HAL.",
         (Arg("KIND", Kind.WORD, "", "`stall`, `dry` or another word."), _t("When it happened.")),
         errors=(_E.BADARG,)),
)

#: Verbs by name.
VERBS: Final[dict[str, Verb]] = {v.name: v for v in VERB_LIST}

#: The capabilities each role offers (``HELLO`` replies ``CAPS=``; SESSION is implied).
ROLE_CAPS: Final[dict[str, tuple[str, ...]]] = {
    Role.HOST: (Group.TELEM,),
    Role.DUT: (Group.TELEM,),
    Role.BENCH: (Group.CLOCK, Group.MOTOR, Group.SOUNDER, Group.BATTERY, Group.PLANT, Group.FAULT),
    Role.PLANT: (Group.CLOCK, Group.MOTOR, Group.SOUNDER, Group.BATTERY, Group.PLANT, Group.FAULT, Group.REC),
}


# ---------------------------------------------------------------- values

_INT_RE = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_WORD_RE = re.compile(r"[a-z0-9_]+")
_SEGMENT_RE = re.compile(r"[1-9][0-9]{0,5}:[1-9][0-9]{0,6}:(0|[1-9][0-9]{0,6})")


class ArgError(ValueError):
    """A request's arguments do not fit its verb (answered ``ERR BADARG <message>``)."""


Segment = tuple[int, int, int]
ArgValue = int | float | bool | str | None | tuple[str, ...] | tuple[Segment, ...]


def _value(a: Arg, raw: str) -> ArgValue:
    """*raw* read as *a*'s kind; raises ArgError naming the key, the value and what was expected."""
    unit = f" {a.unit}" if a.unit else ""
    if a.kind == Kind.INT_OR_NONE and raw == "NONE":
        return None
    if a.kind in (Kind.INT, Kind.INT_OR_NONE):
        if not _INT_RE.fullmatch(raw):
            raise ArgError(f"{a.key}={raw}: expected an integer{unit}")
        v = int(raw)
        if not a.lo <= v <= a.hi:
            raise ArgError(f"{a.key}={raw}: expected {a.lo}..{a.hi}{unit}")
        return v
    if a.kind == Kind.FLOAT:
        if not _FLOAT_RE.fullmatch(raw) or len(raw) > 32:
            raise ArgError(f"{a.key}={raw}: expected a decimal number{unit}")
        f = float(raw)
        if f in (float("inf"), float("-inf")):
            raise ArgError(f"{a.key}={raw}: out of range{unit}")
        return f
    if a.kind == Kind.FLAG:
        if raw not in ("0", "1"):
            raise ArgError(f"{a.key}={raw}: expected 0 or 1")
        return raw == "1"
    if a.kind == Kind.WORD:
        if not _WORD_RE.fullmatch(raw) or len(raw) > 32:
            raise ArgError(f"{a.key}={raw}: expected a word (a-z, 0-9, _)")
        return raw
    if a.kind == Kind.WORDS:
        words = tuple(raw.split(","))
        if not all(re.fullmatch(r"[A-Za-z0-9_]+", w) for w in words):
            raise ArgError(f"{a.key}={raw}: expected comma-separated words")
        return words
    if a.kind == Kind.SEGMENTS:
        parts = raw.split(",")
        if not 1 <= len(parts) <= 8 or not all(_SEGMENT_RE.fullmatch(p) for p in parts):
            raise ArgError(f"{a.key}={raw}: expected 1..8 segments HZ:ON_MS:OFF_MS (Hz, ms, ms), comma-separated")
        return tuple((int(f), int(on), int(off)) for f, on, off in (p.split(":") for p in parts))
    raise AssertionError(f"unknown kind {a.kind}")


class Args:
    """A request's (or reply's) values by key, with typed getters (what :func:`parse_args` returns)."""

    __slots__ = ("_v",)

    def __init__(self, values: dict[str, ArgValue]) -> None:
        self._v = values

    def __contains__(self, key: str) -> bool:
        return key in self._v

    def __repr__(self) -> str:
        return f"Args({self._v!r})"

    def __iter__(self) -> Iterator[str]:
        return iter(self._v)

    def value(self, key: str) -> ArgValue:
        """The value of *key* as parsed (any kind)."""
        return self._v[key]

    def merged(self, other: Args) -> Args:
        """These values updated with *other*'s."""
        return Args({**self._v, **other._v})

    def integer(self, key: str) -> int:
        v = self._v[key]
        assert isinstance(v, int) and not isinstance(v, bool), key
        return v

    def maybe_integer(self, key: str) -> int | None:
        v = self._v.get(key)
        assert v is None or (isinstance(v, int) and not isinstance(v, bool)), key
        return v

    def number(self, key: str) -> float:
        v = self._v[key]
        assert isinstance(v, float), key
        return v

    def flag(self, key: str, default: bool = False) -> bool:
        v = self._v.get(key, default)
        assert isinstance(v, bool), key
        return v

    def word(self, key: str) -> str:
        v = self._v[key]
        assert isinstance(v, str), key
        return v

    def maybe_word(self, key: str) -> str | None:
        v = self._v.get(key)
        assert v is None or isinstance(v, str), key
        return v

    def words(self, key: str) -> tuple[str, ...]:
        v = self._v[key]
        assert isinstance(v, tuple), key
        return tuple(str(x) for x in v)

    def segments(self, key: str) -> tuple[Segment, ...]:
        v = self._v[key]
        assert isinstance(v, tuple), key
        out: list[Segment] = []
        for s in v:
            assert isinstance(s, tuple), key
            out.append((int(s[0]), int(s[1]), int(s[2])))
        return tuple(out)


def _split(tokens: Iterable[str]) -> list[tuple[str, str]]:
    out = []
    for tok in tokens:
        k, eq, v = tok.partition("=")
        if not eq or not k or not v:
            raise ArgError(f"{tok!r}: expected KEY=VALUE")
        out.append((k, v))
    return out


def parse_args(verb: Verb, tokens: Iterable[str]) -> Args:
    """Check a request's argument tokens against *verb*. Raises :class:`ArgError` with one clear message."""
    values: dict[str, ArgValue] = {}
    for k, raw in _split(tokens):
        a = verb.arg_index.get(k)
        if a is None:
            known = ", ".join(verb.arg_index) or "no arguments"
            raise ArgError(f"{verb.name} does not take {k} (it takes {known})")
        if k in values:
            raise ArgError(f"{k} given twice")
        values[k] = _value(a, raw)
    if verb.any_of:
        if not values:
            raise ArgError(f"{verb.name} needs at least one of {', '.join(verb.arg_index)}")
    else:
        for a in verb.args:
            if a.required and a.key not in values:
                raise ArgError(f"missing {a.key}" + (f" ({a.unit})" if a.unit else ""))
    return Args(values)


class ReplyError(ValueError):
    """A reply does not carry what its verb's reply must carry (a peer bug)."""


def parse_reply(verb: Verb, reply: Reply) -> Args:
    """The values of an ``OK`` *reply* to *verb*. Keys the verb does not list are ignored (newer peers).

    Raises :class:`ReplyError` when a listed key is missing or malformed.
    """
    values: dict[str, ArgValue] = {}
    keys = {a.key: a for a in verb.reply}
    for k, raw in reply.values().items():
        a = keys.get(k)
        if a is None:
            continue
        try:
            values[k] = _value(a, raw)
        except ArgError as e:
            raise ReplyError(f"reply to {verb.name}: {e}") from None
    missing = [a.key for a in verb.reply if a.required and a.key not in values]
    if missing and verb.name != "STATUS":
        raise ReplyError(f"reply to {verb.name} lacks {', '.join(missing)}: {reply.describe()!r}")
    return Args(values)
