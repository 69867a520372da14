"""The HIL wire protocol, version 1: frames, messages and an incremental parser.

One frame per message, readable in a serial terminal (docs/hil-protocol.md is
the reference; this module is its executable form)::

    frame = "$" body "*" CRC "\\r\\n"
    body  = SEQ " " WORD *(" " ARG)     ; printable ASCII without "$" or "*", at most 200 bytes
    SEQ   = decimal 0..65535
    CRC   = 4 uppercase hex digits, CRC-16/CCITT-FALSE of the body (binascii.crc_hqx(body, 0xFFFF))

A frame whose WORD is ``OK`` or ``ERR`` is a :class:`Reply`, anything else a
:class:`Request`. :class:`FrameParser` turns any byte stream into those two and
:class:`FrameError` (``BADCRC`` or ``BADFRAME``), and never raises: a receiver
answers a FrameError with ``0 ERR <code>`` (SEQ 0, since the frame's own SEQ
cannot be trusted) and goes on with the next frame.

Hand-written rather than built on ``serial.threaded.FramedPacket`` or
``LineReader``: those split on one terminator and cannot express "a ``$``
restarts the frame", the length limit or the CRC check, which are the protocol.
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

#: The protocol version this module speaks (``HELLO VERSION=1``).
VERSION: Final = 1
#: Longest body, bytes (SEQ, word and arguments, without ``$``, ``*``, CRC and CR LF).
MAX_BODY: Final = 200
#: A receiver remembers its replies to this many of the latest requests (the replay cache).
REPLAY_DEPTH: Final = 16
#: SEQ runs 0..65535 and wraps.
SEQ_MODULUS: Final = 65536
#: The SEQ of a reply to a frame whose own SEQ cannot be trusted (bad CRC, bad frame).
UNTRUSTED_SEQ: Final = 0

START: Final = b"$"
CRC_MARK: Final = b"*"
END: Final = b"\r\n"
#: The most bytes that may follow ``$`` before the CR LF: body, ``*``, four hex digits, CR.
_MAX_TAIL = MAX_BODY + 6


class ErrorCode:
    """The CODE of an ``ERR`` reply (one word, upper case)."""

    BADCRC: Final = "BADCRC"
    BADFRAME: Final = "BADFRAME"
    UNKNOWN: Final = "UNKNOWN"
    BADARG: Final = "BADARG"
    STATE: Final = "STATE"
    BUSY: Final = "BUSY"
    VERSION: Final = "VERSION"
    STALE: Final = "STALE"
    INTERNAL: Final = "INTERNAL"


#: Every error code with its meaning (docs/hil-protocol.md's table is generated from this).
ERROR_CODES: Final[dict[str, str]] = {
    ErrorCode.BADCRC: "The frame's CRC did not match its body. Sent with SEQ 0; the frame was not acted on.",
    ErrorCode.BADFRAME: "Not a frame: body over 200 bytes, a byte outside 0x20-0x7E, no `*CRC`, a bad SEQ, an empty "
                        "word or a double space. Sent with SEQ 0; the frame was not acted on.",
    ErrorCode.UNKNOWN: "The receiver does not know this verb (or this role does not offer it).",
    ErrorCode.BADARG: "An argument is missing, unknown, or its value is out of range; the text names it.",
    ErrorCode.STATE: "The verb is not allowed now (before HELLO, before START, after END, time going backwards).",
    ErrorCode.BUSY: "The receiver cannot act now; send the request again later with a new SEQ. Not cached: "
                    "a retry with the same SEQ is considered afresh.",
    ErrorCode.VERSION: "HELLO asked for a protocol version the receiver does not speak; the text is the version "
                       "it speaks.",
    ErrorCode.STALE: "The SEQ is 16 or more requests older than the newest one received and not in the replay "
                     "cache: a late duplicate, not acted on.",
    ErrorCode.INTERNAL: "The receiver failed while acting on a valid request (a bug on its side); the text says "
                        "what failed.",
}

_SEQ_RE = re.compile(rb"0|[1-9][0-9]{0,4}")
_TOKEN_RE = re.compile(r"[!-~]+")  # printable, no space
_KEY_RE = re.compile(r"[A-Z][A-Z0-9_]*")

Value = int | float | bool | str | None | tuple[int, ...] | tuple[str, ...]


# ---------------------------------------------------------------- bytes


def crc16(body: bytes) -> int:
    """CRC-16/CCITT-FALSE of *body* (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""
    return binascii.crc_hqx(body, 0xFFFF)


def body_problem(body: bytes) -> str | None:
    """Why *body* cannot be sent as a frame body, or None if it can."""
    if len(body) > MAX_BODY:
        return f"body is {len(body)} bytes, at most {MAX_BODY} allowed"
    for b in body:
        if not 0x20 <= b <= 0x7E or b in (0x24, 0x2A):  # printable, not "$" or "*"
            return f"byte 0x{b:02X} is not allowed in a body (printable ASCII without '$' or '*')"
    return None


def frame(body: bytes) -> bytes:
    """The frame that carries *body*. Raises ValueError for a body that may not be sent."""
    problem = body_problem(body)
    if problem is not None:
        raise ValueError(problem)
    return b"$" + body + b"*" + b"%04X" % crc16(body) + b"\r\n"


def format_value(v: Value) -> str:
    """One argument value as it is written on the wire.

    Integers in decimal; booleans ``1``/``0``; floats in Python's shortest
    repr, which reads back to the same double (``0.1``, ``1e-05``,
    ``12345.678901234567``); None as ``NONE``; tuples comma-separated. Raises
    ValueError for a non-finite float or a string with a space, ``$``, ``*``
    or a non-printable character.
    """
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"{v!r}: only finite floats can be sent")
        return repr(v)
    if v is None:
        return "NONE"
    if isinstance(v, tuple):
        return ",".join(format_value(x) for x in v)
    if not _TOKEN_RE.fullmatch(v) or "$" in v or "*" in v:
        raise ValueError(f"{v!r}: a value is printable ASCII without spaces, '$' or '*'")
    return v


def format_args(args: Mapping[str, Value]) -> tuple[str, ...]:
    """``KEY=VALUE`` tokens of *args*, in the mapping's order."""
    out = []
    for k, v in args.items():
        if not _KEY_RE.fullmatch(k):
            raise ValueError(f"{k!r}: a key is upper case letters, digits and '_'")
        out.append(f"{k}={format_value(v)}")
    return tuple(out)


# ---------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Request:
    """A request: *verb* with ``KEY=VALUE`` *args* (tokens as received)."""

    seq: int
    verb: str
    args: tuple[str, ...] = ()

    def body(self) -> bytes:
        return " ".join((str(self.seq), self.verb, *self.args)).encode("ascii")

    def text(self) -> str:
        """The body without SEQ, for messages (``ADVANCE T_MS=1000``)."""
        return " ".join((self.verb, *self.args))


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply: ``OK`` with *args*, or ``ERR`` with *code* and *text*."""

    seq: int
    ok: bool
    args: tuple[str, ...] = ()
    code: str = ""
    text: str = ""

    def body(self) -> bytes:
        if self.ok:
            parts: tuple[str, ...] = (str(self.seq), "OK", *self.args)
        else:
            parts = (str(self.seq), "ERR", self.code, *((self.text,) if self.text else ()))
        return " ".join(parts).encode("ascii")

    def values(self) -> dict[str, str]:
        """The ``KEY=VALUE`` arguments as a dict (tokens without ``=`` are left out)."""
        out = {}
        for a in self.args:
            k, eq, v = a.partition("=")
            if eq:
                out[k] = v
        return out

    def describe(self) -> str:
        """``OK ...`` or ``ERR CODE text`` (no SEQ), for messages."""
        return self.body().decode("ascii").partition(" ")[2]


@dataclass(frozen=True, slots=True)
class FrameError:
    """Bytes that looked like a frame but are not one; answered ``0 ERR <code>`` and never acted on."""

    code: str  # ErrorCode.BADCRC or ErrorCode.BADFRAME
    reason: str


Outcome = Request | Reply | FrameError


def request_frame(seq: int, verb: str, args: Mapping[str, Value] | Iterable[str] = ()) -> bytes:
    """The frame of request *verb* with *args* (a mapping, or tokens as they go on the wire)."""
    tokens = format_args(args) if isinstance(args, Mapping) else tuple(args)
    return frame(Request(seq, verb, tokens).body())


def ok_frame(seq: int, args: Mapping[str, Value] | None = None) -> bytes:
    """The frame ``SEQ OK KEY=VALUE...``."""
    return frame(Reply(seq, True, format_args(args or {})).body())


def err_frame(seq: int, code: str, text: str = "") -> bytes:
    """The frame ``SEQ ERR CODE text`` (*text* is cut to fit and stripped of characters a body may not hold)."""
    clean = "".join(c if " " <= c <= "~" and c not in "$*" else "?" for c in " ".join(text.split()))
    head = f"{seq} ERR {code}"
    room = MAX_BODY - len(head) - 1
    if len(clean) > room:
        clean = clean[: max(room - 3, 0)] + "..."
    return frame(Reply(seq, False, code=code, text=clean).body())


def parse_body(body: bytes) -> Request | Reply | FrameError:
    """The message in a frame body whose CRC was good (or a BADFRAME)."""
    problem = body_problem(body)
    if problem is not None:
        return FrameError(ErrorCode.BADFRAME, problem)
    seq_b, sp, rest_b = body.partition(b" ")
    if not _SEQ_RE.fullmatch(seq_b) or int(seq_b) >= SEQ_MODULUS:
        return FrameError(ErrorCode.BADFRAME, f"SEQ {seq_b.decode('ascii')!r} is not a decimal 0..65535")
    seq = int(seq_b)
    rest = rest_b.decode("ascii")
    if not sp or not rest or rest.startswith(" ") or rest.endswith(" "):
        return FrameError(ErrorCode.BADFRAME, "no word after SEQ, a double space or a trailing space")
    word, _, tail = rest.partition(" ")
    if word == "ERR":
        code, _, text = tail.partition(" ")
        return Reply(seq, False, code=code, text=text)
    tokens = tuple(tail.split(" ")) if tail else ()
    if "" in tokens:
        return FrameError(ErrorCode.BADFRAME, "empty argument (a double space or a trailing space)")
    if word == "OK":
        return Reply(seq, True, tokens)
    return Request(seq, word, tokens)


# ---------------------------------------------------------------- the parser


class FrameParser:
    """Bytes in, messages and frame errors out; keeps the unfinished frame between calls.

    Rules (docs/hil-protocol.md, "Receiving"): bytes before a ``$`` are
    skipped (:attr:`skipped_bytes`); a ``$`` inside a frame drops the
    unfinished frame (:attr:`truncated`) and starts a new one; a frame ends at
    CR LF. More than 200 body bytes is a BADFRAME as soon as it is seen.
    Never raises, whatever the input.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_frame = False
        #: Bytes seen outside any frame (noise, a peer's boot messages).
        self.skipped_bytes = 0
        #: Unfinished frames dropped because a new ``$`` came first.
        self.truncated = 0

    def feed(self, data: bytes) -> list[Outcome]:
        """Parse *data*; returns the complete messages and frame errors in it, in order."""
        out: list[Outcome] = []
        i, n = 0, len(data)
        while i < n:
            if not self._in_frame:
                j = data.find(START, i)
                if j < 0:
                    self.skipped_bytes += n - i
                    return out
                self.skipped_bytes += j - i
                self._start()
                i = j + 1
                continue
            j_start = data.find(START, i)
            j_end = data.find(b"\n", i)
            stop = min(k for k in (j_start, j_end, n) if k >= 0)
            self._buf += data[i:stop]
            i = stop
            if len(self._buf) > _MAX_TAIL:
                out.append(FrameError(ErrorCode.BADFRAME, f"no end of frame within {MAX_BODY} body bytes"))
                self._in_frame = False
                continue
            if stop == n:
                return out
            if stop == j_start:  # a new frame begins: drop the unfinished one
                self.truncated += 1
                self._start()
                i += 1
                continue
            i += 1  # the "\n"
            if self._buf.endswith(b"\r"):
                self._in_frame = False
                out.append(self._complete(bytes(self._buf[:-1])))
            else:
                self._buf += b"\n"  # a bare LF is part of the body (and makes it a BADFRAME)
        return out

    def _start(self) -> None:
        self._buf.clear()
        self._in_frame = True

    @staticmethod
    def _complete(content: bytes) -> Outcome:
        body, mark, crc = content.rpartition(CRC_MARK)
        if not mark or len(crc) != 4 or not all(c in b"0123456789ABCDEF" for c in crc):
            return FrameError(ErrorCode.BADFRAME, "no '*' followed by 4 uppercase hex digits before CR LF")
        if len(body) > MAX_BODY:
            return FrameError(ErrorCode.BADFRAME, f"body is {len(body)} bytes, at most {MAX_BODY} allowed")
        if int(crc, 16) != crc16(body):
            return FrameError(ErrorCode.BADCRC, f"CRC {crc.decode('ascii')} does not match the body "
                                                f"({crc16(body):04X})")
        return parse_body(body)


def seq_after(seq: int) -> int:
    """The SEQ that follows *seq* for a new request: 1..65535, wrapping past 0 (0 is left to error replies)."""
    nxt = (seq + 1) % SEQ_MODULUS
    return nxt if nxt != UNTRUSTED_SEQ else 1


def seq_age(newest: int, seq: int) -> int:
    """How many SEQs *seq* lies behind *newest*, modulo 65536 (0 if equal; > 32767 means ahead)."""
    return (newest - seq) % SEQ_MODULUS
