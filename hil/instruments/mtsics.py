"""MT-SICS, the Mettler Toledo Standard Interface Command Set: the wire format, said once.

Both sides use this module: the client (:mod:`.balance`) parses replies with
it, the emulator (:mod:`.sics_server`) formats them with it, and the coverage
table of docs/balance.md is generated from :data:`COMMANDS`.

What MT-SICS says (shared/reference/anchors.md §3.6; tags as in domain.md:
[C] confirmed there, [U] from memory of the MT-SICS reference manual and
neighbouring drivers, to be checked against the balance's own manual):

* Commands and replies are ASCII lines ending in CR LF; a command is an
  upper-case word, parameters are separated by single spaces [C].
* A reply is ``ID STATUS [fields]``: the ID repeats the command (``S`` for
  both ``S`` and ``SI``; ``I4`` for ``@``), the status is one character:
  ``A`` done, ``B`` more lines follow (``I0``), ``S`` stable, ``D`` dynamic,
  ``I`` not executable now (busy, or stability not reached in time), ``L``
  a parameter not allowed, ``+``/``-`` overload/underload or a range
  exceeded [C] (``A``, ``B``, ``L`` [U]).
* ``ES`` (syntax error: command not recognised), ``ET`` (transmission error),
  ``EL`` (logical error: cannot execute) stand alone on the line [C].
* A weight is right-aligned in a 10-character field, then a space and the
  unit: ``S S     100.00 g`` [C: "commonly"; widths [U]].
* Text fields are quoted: ``I4 A "0123456789"`` [U].
* KERN's SICS-compatible terminals answer ``Z`` and ``T`` in two stages:
  ``Z A`` (accepted), then ``Z D`` (done), ``Z ^`` (range exceeded) or
  ``Z E`` (stability timeout) [C for Z; the same letters for T are [U]].
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Line end of every command and reply.
EOL = b"\r\n"
#: Longest line either side accepts (a reply with a 20-character name is about 40 bytes).
MAX_LINE = 256
#: Width of the weight field (right-aligned) [C "commonly", U].
WEIGHT_WIDTH = 10

#: Reply statuses (one character after the ID).
DONE, MORE, STABLE, DYNAMIC, NOT_NOW, BAD_PARAM, OVER, UNDER = "A", "B", "S", "D", "I", "L", "+", "-"
#: KERN's second stage of a two-stage Z or T: done, range exceeded, stability timeout.
KERN_DONE, KERN_RANGE, KERN_TIMEOUT = "D", "^", "E"
#: General errors, alone on the line.
SYNTAX_ERROR, TRANSMISSION_ERROR, LOGICAL_ERROR = "ES", "ET", "EL"
GENERAL_ERRORS = (SYNTAX_ERROR, TRANSMISSION_ERROR, LOGICAL_ERROR)

#: What each status means, for messages.
STATUS_TEXT = {
    DONE: "done", MORE: "more lines follow", STABLE: "stable", DYNAMIC: "dynamic (not yet stable)",
    NOT_NOW: "not executable now (busy, or stability not reached in time)", BAD_PARAM: "parameter not allowed",
    OVER: "overload (weighing or setting range exceeded upwards)",
    UNDER: "underload (range exceeded downwards; pan missing?)",
    SYNTAX_ERROR: "syntax error: the balance did not recognise the command",
    TRANSMISSION_ERROR: "transmission error: the balance received a garbled command",
    LOGICAL_ERROR: "logical error: the balance cannot execute the command",
}

#: Grams per unit of the units a balance may report in [C: SI and avoirdupois definitions].
GRAMS_PER_UNIT = {
    "g": 1.0, "mg": 1e-3, "kg": 1e3, "ug": 1e-6, "ct": 0.2,
    "lb": 453.59237, "oz": 28.349523125, "ozt": 31.1034768, "dwt": 1.55517384, "GN": 0.06479891,
}


@dataclass(frozen=True, slots=True)
class Command:
    """One MT-SICS command: its level, what it does, the replies it may get, and where that is from."""

    name: str
    level: int
    meaning: str
    replies: tuple[str, ...]
    #: "C" (anchors.md §3.6) or "U" (memory of the reference manual and drivers).
    tag: str
    #: The reply ID (``@`` is answered with ``I4``).
    reply_id: str = ""
    #: Served by the emulator (and listed by its ``I0``).
    emulated: bool = True

    @property
    def ident(self) -> str:
        return self.reply_id or self.name


_W = "<value> <unit>"
#: The commands of MT-SICS levels 0 and 1 (and I10), in the order ``I0`` lists them.
COMMANDS: tuple[Command, ...] = (
    Command("I0", 0, "list the implemented commands, one line each", ('I0 B <level> "<cmd>"', 'I0 A <level> "<cmd>"',
                                                                      "I0 I"), "U"),
    Command("I1", 0, "MT-SICS level and versions", ('I1 A "<level>" "<v0>" "<v1>" "<v2>" "<v3>"', "I1 I"), "U"),
    Command("I2", 0, "balance data: type, capacity, unit", ('I2 A "<type> <capacity> <unit>"', "I2 I"), "U"),
    Command("I3", 0, "software version and type definition number", ('I3 A "<version>"', "I3 I"), "U"),
    Command("I4", 0, "serial number", ('I4 A "<serial>"', "I4 I"), "C"),
    Command("I5", 0, "software identification (material) number", ('I5 A "<sw id>"', "I5 I"), "U"),
    Command("S", 0, "stable weight (waits for stability)", (f"S S {_W}", "S I", "S +", "S -"), "C"),
    Command("SI", 0, "weight immediately, stable or not", (f"S S {_W}", f"S D {_W}", "S I", "S +", "S -"), "C",
            reply_id="S"),
    Command("SIR", 0, "weight immediately and repeatedly until the next command", (f"S S {_W}", f"S D {_W}",
                                                                                  "S I", "S +", "S -"), "C",
            reply_id="S"),
    Command("Z", 0, "zero when stable (clears the tare)", ("Z A", "Z I", "Z +", "Z -"), "C"),
    Command("ZI", 0, "zero immediately", ("ZI S", "ZI D", "ZI I", "ZI +", "ZI -"), "C"),
    Command("@", 0, "reset: cancel what is running, clear the tare; no zero setting", ('I4 A "<serial>"',), "U",
            reply_id="I4"),
    Command("D", 1, "write a text to the display", ("D A", "D I", "D L"), "U"),
    Command("DW", 1, "show the weight on the display again", ("DW A", "DW I"), "U"),
    Command("T", 1, "tare when stable", (f"T S {_W}", "T I", "T +", "T -"), "C"),
    Command("TA", 1, "query or preset the tare value", (f"TA A {_W}", "TA I", "TA L"), "U"),
    Command("TAC", 1, "clear the tare", ("TAC A", "TAC I"), "U"),
    Command("TI", 1, "tare immediately", (f"TI S {_W}", f"TI D {_W}", "TI I", "TI +", "TI -"), "U"),
    Command("I10", 2, "query or set the balance's name (20 characters at most)", ('I10 A "<name>"', "I10 L"), "U"),
    Command("SR", 1, "send the weight when it changes", (), "U", emulated=False),
)
BY_NAME = {c.name: c for c in COMMANDS}
#: MT-SICS levels whose every command the emulator serves (``I1``'s level field).
LEVELS = "01"


class ReplyError(ValueError):
    """A line that is not an MT-SICS reply (garbage); the message says what was wrong, in one line."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply line, split: ID, status (empty for ES/ET/EL) and the fields after it (quotes removed)."""

    ident: str
    status: str
    fields: tuple[str, ...]
    raw: str

    @property
    def general_error(self) -> bool:
        return self.ident in GENERAL_ERRORS


_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_IDENT = re.compile(r"^(?:[A-Z][A-Z0-9]{0,4}|@)$")
_STATUS = frozenset({DONE, MORE, STABLE, DYNAMIC, NOT_NOW, BAD_PARAM, OVER, UNDER, KERN_DONE, KERN_RANGE,
                     KERN_TIMEOUT})


def show(line: bytes | str, limit: int = 40) -> str:
    """A line for an error message: printable, quoted, cut at *limit* characters."""
    text = line.decode("ascii", "backslashreplace") if isinstance(line, bytes) else line
    return repr(text if len(text) <= limit else text[:limit] + "...")


def tokens(text: str) -> list[str]:
    """*text* split at single spaces, a ``"quoted text"`` being one token (without its quotes)."""
    return [q if q is not None and b == "" else b for q, b in _TOKEN.findall(text)]


def parse_reply(line: bytes) -> Reply:
    """The reply in *line* (without CR LF). Raises :class:`ReplyError` for anything that is not one."""
    if len(line) > MAX_LINE:
        raise ReplyError(f"a line of {len(line)} bytes (at most {MAX_LINE} expected): {show(line)}")
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise ReplyError(f"bytes that are not ASCII: {show(line)}") from None
    if not text.isprintable():
        raise ReplyError(f"control characters: {show(line)}")
    parts = tokens(text.strip())
    if not parts:
        raise ReplyError("an empty line")
    ident = parts[0]
    if ident in GENERAL_ERRORS:
        return Reply(ident, "", tuple(parts[1:]), text)
    if not _IDENT.match(ident) or len(parts) < 2 or parts[1] not in _STATUS:
        raise ReplyError(f"not an MT-SICS reply (ID and status expected): {show(line)}")
    return Reply(ident, parts[1], tuple(parts[2:]), text)


def decimals_for(step: float) -> int:
    """Decimals needed to show multiples of *step* (0.00001 -> 5, 0.1 -> 1, 1 -> 0)."""
    return max(0, math.ceil(-math.log10(step) - 1e-9))


def weight_field(value: float, decimals: int, unit: str) -> str:
    """``value`` right-aligned in the 10-character weight field, a space and the unit: ``'    100.00 g'``."""
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        text = f"{0:.{decimals}f}"  # no "-0.00000"
    return f"{text:>{WEIGHT_WIDTH}} {unit}"


def quoted(*texts: str) -> str:
    """Text fields as MT-SICS writes them: each in double quotes (quotes inside are dropped)."""
    return " ".join('"' + t.replace('"', "") + '"' for t in texts)


def parse_weight(reply: Reply) -> tuple[float, str]:
    """The ``<value> <unit>`` of a weight reply; ReplyError if they are not there or not a number."""
    if len(reply.fields) != 2:
        raise ReplyError(f"a weight reply without '<value> <unit>': {show(reply.raw)}")
    text, unit = reply.fields
    try:
        value = float(text)
    except ValueError:
        raise ReplyError(f"weight {text!r} is not a number: {show(reply.raw)}") from None
    if not math.isfinite(value):
        raise ReplyError(f"weight {text!r} is not a finite number: {show(reply.raw)}")
    return value, unit
