"""A client for precision balances speaking MT-SICS (levels 0 and 1) over any pyserial URL.

::

    with Balance.open("/dev/ttyUSB0", baudrate=9600) as bal:     # or a pty, socket://host:port, loop://
        bal.identity()                  # Identity(level='01', model='XS205DU', serial='1234567890', ...)
        r = bal.read()                  # SI: Reading(status='S' or 'D', value=12.34567, unit='g', ...)
        r = bal.read(stable=True)       # S: waits for a stable weight (status 'S', or 'I' if it never settles)
        bal.zero(); bal.tare(); bal.clear_tare(); bal.reset()

**Results.** A weighing returns a :class:`Reading` whatever the balance
answered among its statuses (``S`` stable, ``D`` dynamic, ``+`` overload,
``-`` underload, ``I`` not executable now): a logger records them all.
:meth:`Balance.weight_g` is the strict form, raising for anything that is
not a weight. **Errors** are :class:`BalanceError` subclasses whose message
is one line naming the balance, the command and what happened: no reply in
time (:class:`BalanceTimeout`), a reply that is not MT-SICS
(:class:`BalanceGarbage`), ``ES``/``ET``/``EL`` (:class:`BalanceRefused`),
and the command statuses ``I``/``L``/``+``/``-`` where a command cannot
return them as a result (:class:`BalanceNotReady`, :class:`BalanceRangeError`).

**Robustness.** MT-SICS is one command, one reply, in order. Before each
command the client discards whatever is waiting (a late reply to a command
that timed out, the second stage of a KERN ``Z``), and it skips reply lines
whose ID belongs to another command, so a late answer is never taken for the
next one. An ``ET`` (the balance got a garbled command) is retried
*retries* times. A reply that is not MT-SICS fails the command at once.
*two_stage* speaks KERN's variant of ``Z``/``T`` (``Z A`` then ``Z D``).

The port is anything with ``read``/``write``/``timeout`` (``hil.ports.SerialLike``):
a pyserial port opened from a URL by :meth:`Balance.open`, or an emulator's
pty in tests. Hand-written on pyserial because no maintained Python MT-SICS
driver installs on Python 3.11 with typing and these failure modes
(InstrumentKit's driver is not in its PyPI release; see docs/balance.md).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from types import TracebackType

import serial

from ..ports import PortError, SerialLike, open_url
from . import mtsics as m

#: Default wait for a reply to a command answered at once (I-commands, SI, ZI, TI), seconds.
TIMEOUT_S = 2.0
#: Default wait for commands that wait for stability (S, Z, T): longer than a balance's stability timeout [U].
STABLE_TIMEOUT_S = 15.0
#: Default baud rate of MT-SICS balances as delivered [U] (9600 8N1; a pty ignores it).
BAUDRATE = 9600


class BalanceError(Exception):
    """Something went wrong talking to the balance; the message is one line."""


class BalanceTimeout(BalanceError):
    """No reply in time (the balance is off, stopped answering, or this is not its port or baud rate)."""


class BalancePortLost(BalanceTimeout):
    """The port failed while talking (an unplugged adapter, a closed pty): reopening may help."""


class BalanceGarbage(BalanceError):
    """The reply is not MT-SICS (noise on the line, wrong baud rate, another device)."""


class BalanceRefused(BalanceError):
    """``ES``, ``ET`` or ``EL``: the balance did not recognise, did not get intact, or cannot execute the command."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class BalanceNotReady(BalanceError):
    """Status ``I``: the command cannot be executed now (busy, or stability not reached in time)."""


class BalanceRangeError(BalanceError):
    """Status ``+``/``-`` (overload/underload, or a zero or tare range exceeded) or ``L`` (parameter not allowed)."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Reading:
    """One weighing: the balance's status and, for ``S``/``D``, the value in the balance's unit."""

    #: ``S`` stable, ``D`` dynamic, ``+`` overload, ``-`` underload, ``I`` not executable now.
    status: str
    value: float | None
    unit: str | None
    #: The value exactly as the balance wrote it (``"12.34567"``), or None.
    text: str | None
    #: The command that asked: ``S``, ``SI``, ``T``, ``TI``, ``TA``.
    command: str
    raw: str

    @property
    def stable(self) -> bool:
        return self.status == m.STABLE

    @property
    def is_weight(self) -> bool:
        """A value came with it (stable or dynamic)."""
        return self.value is not None

    def grams(self) -> float:
        """The value in grams; BalanceError if there is none or the unit is not a mass unit."""
        if self.value is None or self.unit is None:
            raise BalanceError(f"{self.command}: no weight ({m.STATUS_TEXT.get(self.status, self.status)})")
        per = m.GRAMS_PER_UNIT.get(self.unit)
        if per is None:
            raise BalanceError(f"{self.command}: the balance reports in {self.unit!r}, which is not a mass unit "
                               f"(expected one of {', '.join(m.GRAMS_PER_UNIT)}); set it to g")
        return self.value * per


@dataclass(frozen=True, slots=True)
class Identity:
    """What the I-commands say about the balance (None where a balance does not answer one)."""

    level: str
    versions: tuple[str, ...]
    #: ``I2``'s text: type, capacity and unit (``"XS205DU 220.00000 g"``).
    balance_data: str
    software: str
    serial: str
    software_id: str | None

    @property
    def model(self) -> str:
        """The type part of the balance data (without capacity and unit)."""
        parts = self.balance_data.split()
        return " ".join(parts[:-2]) if len(parts) > 2 else self.balance_data

    @property
    def capacity(self) -> tuple[float, str] | None:
        """Capacity and unit from the balance data, if it ends with them."""
        parts = self.balance_data.split()
        try:
            return float(parts[-2]), parts[-1]
        except (IndexError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class ListedCommand:
    """One line of ``I0``: a command and its MT-SICS level."""

    level: int
    name: str


class Balance:
    """An MT-SICS balance on *port* (see the module docs). *name* labels messages (the URL)."""

    def __init__(self, port: SerialLike, *, name: str = "balance", timeout_s: float = TIMEOUT_S,
                 stable_timeout_s: float = STABLE_TIMEOUT_S, two_stage: bool = False, retries: int = 1,
                 url: str | None = None, baudrate: int = BAUDRATE) -> None:
        self.port = port
        self.name = name
        self.timeout_s = timeout_s
        self.stable_timeout_s = stable_timeout_s
        self.two_stage = two_stage
        self.retries = retries
        self.url = url
        self.baudrate = baudrate
        #: Lines skipped because they answered another command (late replies), and bytes discarded before commands.
        self.stale_lines = 0
        self.discarded_bytes = 0
        self._buf = bytearray()
        self._last_wait_s = timeout_s  # for the timeout message

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, url: str, *, baudrate: int = BAUDRATE, **kwargs: object) -> Balance:
        """The balance at pyserial *url*; :class:`hil.ports.PortError` (one line) if the port cannot be opened."""
        port = open_url(url, baudrate=baudrate)
        return cls(port, name=url, url=url, baudrate=baudrate, **kwargs)  # type: ignore[arg-type]

    def reopen(self) -> None:
        """Close and open the URL again (after a lost port); PortError if it is still gone."""
        if self.url is None:
            raise PortError(f"{self.name}: cannot be reopened (not opened from a URL)")
        self.close()
        self.port = open_url(self.url, baudrate=self.baudrate)
        self._buf.clear()

    def close(self) -> None:
        with contextlib.suppress(OSError, serial.SerialException):
            self.port.close()

    def tearDown(self) -> None:
        """OpenHTF plug tear-down: close the port."""
        self.close()

    def __enter__(self) -> Balance:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ the wire

    def _write(self, text: str) -> None:
        try:
            self.port.write(text.encode("ascii") + m.EOL)
        except (OSError, serial.SerialException) as e:
            raise BalancePortLost(f"{self.name}: {text}: the port failed ({e})") from None

    def _discard_waiting(self) -> None:
        """Drop what has arrived unasked (late replies, a KERN second stage), so it is not read as the answer."""
        self._buf.clear()
        try:
            while self.port.in_waiting:
                self.discarded_bytes += len(self._read_some(0.0))
        except (OSError, serial.SerialException):
            pass

    def _read_some(self, wait_s: float) -> bytes:
        self.port.timeout = max(wait_s, 0.0)
        n = max(1, self.port.in_waiting)
        return self.port.read(n)

    def _line(self, deadline: float, what: str) -> bytes:
        """The next line (without CR LF) before *deadline*; BalanceTimeout or BalanceGarbage (an endless line)."""
        while True:
            i = self._buf.find(b"\n")
            if i >= 0:
                line = bytes(self._buf[:i]).rstrip(b"\r")
                del self._buf[: i + 1]
                return line
            if len(self._buf) > m.MAX_LINE:
                junk = bytes(self._buf)
                self._buf.clear()
                raise BalanceGarbage(f"{self.name}: {what}: no line end in {len(junk)} bytes: {m.show(junk)}")
            left = deadline - time.monotonic()
            if left <= 0:
                got = f" (got {m.show(bytes(self._buf))} without a line end)" if self._buf else ""
                raise BalanceTimeout(f"{self.name}: no reply to {what} within {self._last_wait_s:g} s{got}; "
                                     "is the balance on, and is this its port and baud rate?")
            try:
                data = self._read_some(min(left, 0.05))
            except (OSError, serial.SerialException) as e:
                raise BalancePortLost(f"{self.name}: {what}: the port failed ({e})") from None
            self._buf += data

    def _reply(self, command: str, ids: tuple[str, ...], deadline: float) -> m.Reply:
        """The reply to *command*: the next line whose ID is one of *ids* or a general error."""
        while True:
            line = self._line(deadline, repr(command))
            if not line.strip():
                continue
            try:
                reply = m.parse_reply(line)
            except m.ReplyError as e:
                raise BalanceGarbage(f"{self.name}: garbage in reply to {command!r}: {e}") from None
            if reply.general_error or reply.ident in ids:
                return reply
            self.stale_lines += 1  # a late reply to an earlier command

    def query(self, command: str, *, wait_s: float | None = None, ids: tuple[str, ...] | None = None) -> m.Reply:
        """Send *command* and return its reply line.

        Raises BalanceTimeout, BalanceGarbage, and BalanceRefused for ES/ET/EL
        (an ET is retried :attr:`retries` times first). Statuses are the caller's.
        """
        word = command.split(" ", 1)[0]
        spec = m.BY_NAME.get(word)
        ids = ids or ((spec.ident,) if spec is not None else (word,))
        wait = self.timeout_s if wait_s is None else wait_s
        for attempt in range(self.retries + 1):
            self._discard_waiting()
            self._write(command)
            self._last_wait_s = wait
            reply = self._reply(command, ids, time.monotonic() + wait)
            if reply.ident == m.TRANSMISSION_ERROR and attempt < self.retries:
                continue
            if reply.general_error:
                raise BalanceRefused(f"{self.name}: {command!r}: {reply.ident}, {m.STATUS_TEXT[reply.ident]}",
                                     reply.ident)
            return reply
        raise AssertionError("unreachable")

    def _fail(self, command: str, reply: m.Reply) -> BalanceError:
        """The exception for a command status that is not a result."""
        text = f"{self.name}: {command!r}: {reply.ident} {reply.status}, {m.STATUS_TEXT.get(reply.status, '?')}"
        if reply.status == m.NOT_NOW or reply.status == m.KERN_TIMEOUT:
            return BalanceNotReady(text)
        if reply.status in (m.OVER, m.UNDER, m.BAD_PARAM, m.KERN_RANGE):
            return BalanceRangeError(text, reply.status)
        return BalanceGarbage(f"{self.name}: unexpected reply to {command!r}: {m.show(reply.raw)}")

    def _text(self, command: str) -> str:
        """The quoted text of an I-command's ``A`` reply."""
        reply = self.query(command)
        if reply.status != m.DONE or not reply.fields:
            raise self._fail(command, reply)
        return " ".join(reply.fields)

    # ------------------------------------------------------------------ identity

    def level(self) -> tuple[str, tuple[str, ...]]:
        """``I1``: the MT-SICS levels implemented (``"01"``) and the version of each level."""
        reply = self.query("I1")
        if reply.status != m.DONE or not reply.fields:
            raise self._fail("I1", reply)
        return reply.fields[0], tuple(reply.fields[1:])

    def balance_data(self) -> str:
        """``I2``: type, capacity and unit."""
        return self._text("I2")

    def software(self) -> str:
        """``I3``: software version and type definition number."""
        return self._text("I3")

    def serial_number(self) -> str:
        """``I4``."""
        return self._text("I4")

    def software_id(self) -> str:
        """``I5``: the software identification number."""
        return self._text("I5")

    def identity(self) -> Identity:
        """``I1`` to ``I5`` at once; ``software_id`` is None on a balance that does not know ``I5`` (ES)."""
        level, versions = self.level()
        try:
            sw_id: str | None = self.software_id()
        except BalanceRefused as e:
            if e.code != m.SYNTAX_ERROR:
                raise
            sw_id = None
        return Identity(level, versions, self.balance_data(), self.software(), self.serial_number(), sw_id)

    def commands(self) -> tuple[ListedCommand, ...]:
        """``I0``: the commands the balance implements (lines ``I0 B`` ... up to the last, ``I0 A``)."""
        listed: list[ListedCommand] = []
        reply = self.query("I0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            if reply.status not in (m.MORE, m.DONE) or len(reply.fields) != 2 or not reply.fields[0].isdigit():
                if reply.status == m.NOT_NOW:
                    raise self._fail("I0", reply)
                raise BalanceGarbage(f"{self.name}: 'I0' line {len(listed) + 1} is not '<level> \"<cmd>\"': "
                                     f"{m.show(reply.raw)}")
            listed.append(ListedCommand(int(reply.fields[0]), reply.fields[1]))
            if reply.status == m.DONE:
                return tuple(listed)
            self._last_wait_s = self.timeout_s
            reply = self._reply("I0", ("I0",), deadline)

    def name_text(self) -> str:
        """``I10``: the balance's name."""
        return self._text("I10")

    # ------------------------------------------------------------------ weighing

    def read(self, *, stable: bool = False) -> Reading:
        """One weighing: ``SI`` (now, stable or dynamic) or with *stable* ``S`` (waits for a stable weight).

        Every status is a result (see :class:`Reading`); only errors of the
        link or of the balance (ES/ET/EL) raise.
        """
        command = "S" if stable else "SI"
        reply = self.query(command, wait_s=self.stable_timeout_s if stable else None)
        return self._reading(command, reply)

    def _reading(self, command: str, reply: m.Reply) -> Reading:
        if reply.status in (m.STABLE, m.DYNAMIC):
            try:
                value, unit = m.parse_weight(reply)
            except m.ReplyError as e:
                raise BalanceGarbage(f"{self.name}: garbage in reply to {command!r}: {e}") from None
            return Reading(reply.status, value, unit, reply.fields[0], command, reply.raw)
        if reply.status in (m.NOT_NOW, m.OVER, m.UNDER) and not reply.fields:
            return Reading(reply.status, None, None, None, command, reply.raw)
        raise BalanceGarbage(f"{self.name}: unexpected reply to {command!r}: {m.show(reply.raw)}")

    def weight_g(self, *, stable: bool = True) -> float:
        """The weight in grams; BalanceNotReady (``I``) or BalanceRangeError (``+``/``-``) if there is none."""
        r = self.read(stable=stable)
        if r.is_weight:
            return r.grams()
        cmd = "S" if stable else "SI"
        raise self._fail(cmd, m.Reply("S", r.status, (), r.raw))

    # ------------------------------------------------------------------ zero, tare, reset

    def _two_stage(self, command: str, first: m.Reply) -> m.Reply:
        """KERN: after ``Z A``/``T A`` the result comes on a second line (``D`` done, ``^`` range, ``E`` timeout)."""
        if first.status != m.DONE:
            return first
        self._last_wait_s = self.stable_timeout_s
        return self._reply(command, (command,), time.monotonic() + self.stable_timeout_s)

    def zero(self, *, immediately: bool = False) -> bool:
        """``Z`` (when stable) or ``ZI`` (now); True if zeroed on a stable reading.

        BalanceNotReady if the balance could not (``I``: busy or not stable in
        time), BalanceRangeError if the load is outside the zero range (``+``/``-``).
        """
        command = "ZI" if immediately else "Z"
        reply = self.query(command, wait_s=None if immediately else self.stable_timeout_s)
        if self.two_stage and not immediately:
            reply = self._two_stage(command, reply)
            if reply.status == m.KERN_DONE:
                return True
        if immediately and reply.status in (m.STABLE, m.DYNAMIC):
            return reply.status == m.STABLE
        if not immediately and reply.status == m.DONE and not self.two_stage:
            return True
        raise self._fail(command, reply)

    def tare(self, *, immediately: bool = False) -> Reading:
        """``T`` (when stable) or ``TI`` (now): the tare taken (KERN two-stage: without a value).

        BalanceNotReady / BalanceRangeError as for :meth:`zero`.
        """
        command = "TI" if immediately else "T"
        reply = self.query(command, wait_s=None if immediately else self.stable_timeout_s)
        if self.two_stage and not immediately:
            reply = self._two_stage(command, reply)
            if reply.status == m.KERN_DONE:
                return Reading(m.STABLE, None, None, None, command, reply.raw)
        if reply.status in (m.STABLE, m.DYNAMIC) and not (self.two_stage and not immediately):
            return self._reading(command, reply)
        raise self._fail(command, reply)

    def tare_value(self) -> Reading:
        """``TA``: the tare in memory (status ``A`` reported as stable)."""
        reply = self.query("TA")
        if reply.status != m.DONE:
            raise self._fail("TA", reply)
        return self._reading("TA", m.Reply(reply.ident, m.STABLE, reply.fields, reply.raw))

    def preset_tare(self, value: float, unit: str = "g") -> Reading:
        """``TA <value> <unit>``: set the tare; BalanceRangeError (``L``) if the balance refuses the value."""
        reply = self.query(f"TA {value:g} {unit}")
        if reply.status != m.DONE:
            raise self._fail("TA", reply)
        return self._reading("TA", m.Reply(reply.ident, m.STABLE, reply.fields, reply.raw))

    def clear_tare(self) -> None:
        """``TAC``."""
        reply = self.query("TAC")
        if reply.status != m.DONE:
            raise self._fail("TAC", reply)

    def display(self, text: str) -> None:
        """``D "text"`` (empty text clears the display); ``DW`` shows the weight again."""
        command = f'D "{text}"' if text else "DW"
        reply = self.query(command)
        if reply.status != m.DONE:
            raise self._fail(command.split()[0], reply)

    def reset(self) -> str:
        """``@``: cancel what the balance is doing and clear the tare (no zero setting); returns the serial number."""
        reply = self.query("@", ids=("I4", "@"))
        if reply.status != m.DONE or not reply.fields:
            raise self._fail("@", reply)
        return reply.fields[0]
