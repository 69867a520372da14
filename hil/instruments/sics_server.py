"""The emulated balance's command interpreter: MT-SICS lines in, reply lines out, no I/O.

:class:`SicsServer` answers one command line at a time from a
:class:`~.weighing.WeighingCell` (the coverage is :data:`.mtsics.COMMANDS`
with ``emulated=True``, listed by ``I0``). Commands that wait for stability
(``S``, ``Z``, ``T``) become *pending*: :meth:`SicsServer.poll`, called by
the serving loop every few milliseconds, answers them once the load is
stable, or with ``I`` after the stability timeout. While one is pending,
other commands wait their turn (:attr:`SicsServer.busy`), except ``@``,
which cancels it unanswered. ``SIR`` streams readings from :meth:`poll`
until the next command.

Rules where MT-SICS leaves a choice [U]: a command word the balance does not
know (or lower case) is ``ES``; a known command with parameters it does not
take is ``EL``; a parameter value out of range is the command's ``L``
(``TA L``, ``D L``, ``I10 L``); a line with bytes that are not printable
ASCII is ``ET``; an empty line is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import mtsics as m
from .weighing import WeighingCell

#: Longest display text (``D``) and balance name (``I10``) [U].
MAX_TEXT = 20
#: Versions reported by ``I1`` for levels 0..3 ("" for a level not implemented) [U].
LEVEL_VERSIONS = ("1.00", "1.00", "", "")


@dataclass
class ServerCounts:
    """What the emulated balance was asked and how it answered."""

    commands: int = 0
    weighings: int = 0
    zeros: int = 0
    tares: int = 0
    resets: int = 0
    syntax_errors: int = 0
    transmission_errors: int = 0
    logical_errors: int = 0
    not_ready: int = 0


@dataclass
class _Pending:
    command: str
    deadline: float


class SicsServer:
    """MT-SICS on a weighing cell (see the module docs); *clock* gives the balance's time in seconds."""

    def __init__(self, cell: WeighingCell, clock: Callable[[], float]) -> None:
        self.cell = cell
        self.p = cell.p
        self.clock = clock
        self.counts = ServerCounts()
        self.pending: _Pending | None = None
        self.repeating = False
        self._next_repeat = 0.0
        self.display_text = ""
        self.name = self.p.model[:MAX_TEXT]
        self._table: dict[str, Callable[[list[str]], list[str]]] = {
            "I0": self._i0, "I1": self._i1, "I2": self._i2, "I3": self._i3, "I4": self._i4, "I5": self._i5,
            "S": self._s, "SI": self._si, "SIR": self._sir, "Z": self._z, "ZI": self._zi, "@": self._reset,
            "D": self._d, "DW": self._dw, "T": self._t, "TA": self._ta, "TAC": self._tac, "TI": self._ti,
            "I10": self._i10,
        }
        assert set(self._table) == {c.name for c in m.COMMANDS if c.emulated}, "the table is COMMANDS"

    @property
    def busy(self) -> bool:
        """A command waits for stability: the next one (but ``@``) must wait."""
        return self.pending is not None

    # ------------------------------------------------------------------ lines in

    def handle(self, line: bytes) -> list[str]:
        """The reply lines (without CR LF) to one command line (without its line end)."""
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            text = "\x00"
        if not text.strip():
            return []
        self.counts.commands += 1
        self.repeating = False  # any command ends SIR's stream [U]
        if not text.isprintable():
            self.counts.transmission_errors += 1
            return [m.TRANSMISSION_ERROR]
        parts = m.tokens(text.strip())
        handler = self._table.get(parts[0])
        if handler is None:
            self.counts.syntax_errors += 1
            return [m.SYNTAX_ERROR]
        return handler(parts[1:])

    def _no_args(self, args: list[str]) -> bool:
        if args:
            self.counts.logical_errors += 1
        return not args

    # ------------------------------------------------------------------ time goes on

    def poll(self) -> list[str]:
        """Replies that are due now: a pending S/Z/T that settled or timed out, the next SIR reading."""
        now = self.clock()
        if self.pending is not None:
            return self._finish(self.pending, now)
        if self.repeating and now >= self._next_repeat:
            self._next_repeat = now + 1.0 / self.p.repeat_hz
            return [self._weight_line(now)]
        return []

    def _finish(self, pend: _Pending, now: float) -> list[str]:
        cell, cmd = self.cell, pend.command
        out = cell.range_status(now)
        if cmd == "S" and out is not None:
            self.pending = None
            return [f"S {out}"]
        if not cell.stable(now):
            if now < pend.deadline:
                return []
            self.pending = None
            self.counts.not_ready += 1
            if self.p.two_stage and cmd in ("Z", "T"):
                return [f"{cmd} {m.KERN_TIMEOUT}"]
            return [f"{cmd} {m.NOT_NOW}"]
        self.pending = None
        if cmd == "S":
            return [self._weight_line(now)]
        status = cell.zero(now) if cmd == "Z" else cell.tare(now)
        if self.p.two_stage:
            return [f"{cmd} {m.KERN_DONE if status == m.DONE else m.KERN_RANGE}"]
        if status != m.DONE:
            return [f"{cmd} {status}"]
        return ["Z A"] if cmd == "Z" else [f"T S {cell.field(cell.tare_shown())}"]

    def _wait(self, command: str) -> list[str]:
        """Start a command that waits for stability; answered now if it can be."""
        self.pending = _Pending(command, self.clock() + self.p.stable_timeout_s)
        first = [f"{command} {m.DONE}"] if self.p.two_stage and command in ("Z", "T") else []
        return first + self.poll()

    def _weight_line(self, now: float) -> str:
        shown = self.cell.reading(now)
        self.counts.weighings += 1
        if shown.value is None:
            return f"S {shown.status}"
        return f"S {shown.status} {self.cell.field(shown.value)}"

    # ------------------------------------------------------------------ commands

    def _i0(self, args: list[str]) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        listed = [c for c in m.COMMANDS if c.emulated]
        return [f'I0 {m.DONE if i == len(listed) - 1 else m.MORE} {c.level} {m.quoted(c.name)}'
                for i, c in enumerate(listed)]

    def _text(self, ident: str, args: list[str], *texts: str) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        return [f"{ident} A {m.quoted(*texts)}"]

    def _i1(self, args: list[str]) -> list[str]:
        return self._text("I1", args, m.LEVELS, *LEVEL_VERSIONS)

    def _i2(self, args: list[str]) -> list[str]:
        cap = self.p.capacity_g / m.GRAMS_PER_UNIT[self.p.unit]
        return self._text("I2", args, f"{self.p.model} {cap:.{self.p.decimals}f} {self.p.unit}")

    def _i3(self, args: list[str]) -> list[str]:
        return self._text("I3", args, self.p.software)

    def _i4(self, args: list[str]) -> list[str]:
        return self._text("I4", args, self.p.serial)

    def _i5(self, args: list[str]) -> list[str]:
        return self._text("I5", args, self.p.software_id)

    def _i10(self, args: list[str]) -> list[str]:
        if not args:
            return [f"I10 A {m.quoted(self.name)}"]
        if len(args) != 1:
            self.counts.logical_errors += 1
            return [m.LOGICAL_ERROR]
        if len(args[0]) > MAX_TEXT:
            return [f"I10 {m.BAD_PARAM}"]
        self.name = args[0]
        return [f"I10 A {m.quoted(self.name)}"]

    def _s(self, args: list[str]) -> list[str]:
        return self._wait("S") if self._no_args(args) else [m.LOGICAL_ERROR]

    def _si(self, args: list[str]) -> list[str]:
        return [self._weight_line(self.clock())] if self._no_args(args) else [m.LOGICAL_ERROR]

    def _sir(self, args: list[str]) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        self.repeating, self._next_repeat = True, self.clock()
        return self.poll()

    def _z(self, args: list[str]) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        self.counts.zeros += 1
        return self._wait("Z")

    def _zi(self, args: list[str]) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        self.counts.zeros += 1
        now = self.clock()
        status = self.cell.zero(now)
        if status != m.DONE:
            return [f"ZI {status}"]
        return [f"ZI {m.STABLE if self.cell.stable(now) else m.DYNAMIC}"]

    def _t(self, args: list[str]) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        self.counts.tares += 1
        return self._wait("T")

    def _ti(self, args: list[str]) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        self.counts.tares += 1
        now = self.clock()
        status = self.cell.tare(now)
        if status != m.DONE:
            return [f"TI {status}"]
        flag = m.STABLE if self.cell.stable(now) else m.DYNAMIC
        return [f"TI {flag} {self.cell.field(self.cell.tare_shown())}"]

    def _ta(self, args: list[str]) -> list[str]:
        if args:
            if len(args) != 2:
                return [f"TA {m.BAD_PARAM}"]
            try:
                value = float(args[0])
            except ValueError:
                return [f"TA {m.BAD_PARAM}"]
            if not self.cell.preset_tare(value, args[1]):
                return [f"TA {m.BAD_PARAM}"]
        return [f"TA A {self.cell.field(self.cell.tare_shown())}"]

    def _tac(self, args: list[str]) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        self.cell.tare_g = 0.0
        return ["TAC A"]

    def _d(self, args: list[str]) -> list[str]:
        if len(args) != 1:
            self.counts.logical_errors += 1
            return [m.LOGICAL_ERROR]
        if len(args[0]) > MAX_TEXT:
            return [f"D {m.BAD_PARAM}"]
        self.display_text = args[0]
        return ["D A"]

    def _dw(self, args: list[str]) -> list[str]:
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        self.display_text = ""
        return ["DW A"]

    def _reset(self, args: list[str]) -> list[str]:
        """``@``: cancel a pending command (unanswered) and SIR, clear the tare and the display; no zero setting."""
        if not self._no_args(args):
            return [m.LOGICAL_ERROR]
        self.counts.resets += 1
        self.pending = None
        self.cell.tare_g = 0.0
        self.display_text = ""
        return [f"I4 A {m.quoted(self.p.serial)}"]
