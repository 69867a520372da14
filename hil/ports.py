"""Ports: any pyserial URL for the side that opens a port, a pseudo-terminal for the side that offers one.

* :func:`open_url` opens a pyserial URL (``/dev/ttyUSB0``, a pty path,
  ``socket://host:port``, ``loop://``, ``spy://...``) and turns every way of
  failing into a :class:`PortError` with one line a person can act on
  (missing device, no permission, not a serial device).
* :class:`Pty` is what the emulators serve: a pseudo-terminal in raw mode
  whose slave path a client opens; :class:`FdPort` is its master end (or any
  other file descriptor, e.g. one end of a ``socket.socketpair()`` in tests)
  behind the small serial-port interface :class:`SerialLike` that the link
  and pyserial's ``serial.threaded.ReaderThread`` use.

FdPort is hand-written because pyserial has no class for a file descriptor
that is already open (its posix ``Serial`` opens a path and configures termios,
which a pty master does not have).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import struct
import termios
import time
import tty
from pathlib import Path
from typing import Protocol

import serial


class PortError(Exception):
    """A port could not be opened or used; the message is one line naming the port and the reason."""


class SerialLike(Protocol):
    """The part of ``serial.Serial`` the link uses (pyserial ports, :class:`FdPort`, shaped ports)."""

    timeout: float | None

    @property
    def is_open(self) -> bool: ...

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def cancel_read(self) -> None: ...

    def close(self) -> None: ...


def _reason(e: BaseException) -> str:
    """Why opening a port failed, in words."""
    text = str(e)
    code = getattr(e, "errno", None)
    if code == errno.ENOENT or "No such file" in text:
        return "no such device (is it plugged in? is the emulator running?)"
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return "permission denied (on Linux: add yourself to the dialout group, then log in again)"
    if code == errno.EISDIR or "Inappropriate ioctl" in text or "Is a directory" in text:
        return "not a serial device"
    if code == errno.EBUSY or "busy" in text.lower():
        return "in use by another program"
    if "Connection refused" in text:
        return "connection refused (nothing listens there)"
    if "protocol" in text and "not known" in text:
        return f"not a pyserial URL ({text})"
    return text.splitlines()[0] if text else type(e).__name__


def open_url(url: str, *, baudrate: int = 115200) -> SerialLike:
    """Open *url* with ``serial.serial_for_url``; raises :class:`PortError` with a one-line reason."""
    try:
        port: SerialLike = serial.serial_for_url(url, baudrate=baudrate, timeout=None)
    except (serial.SerialException, OSError, ValueError) as e:
        raise PortError(f"--port {url}: {_reason(e)}") from None
    if not hasattr(port, "cancel_read"):
        port.timeout = 0.05  # the reader thread polls when the port cannot cancel a blocking read
    return _LossReported(port)


class _LossReported:
    """A pyserial port whose ``in_waiting`` and ``read`` report a lost device as ``SerialException``.

    pyserial's ``ReaderThread`` catches only SerialException around
    ``read(in_waiting or 1)``; on Linux ``in_waiting`` is an ioctl that raises a
    bare OSError (EIO) once a pty's other side has closed or a USB adapter is
    unplugged. That would end the reader thread with a traceback and without
    telling the link, which then never reconnects (seen under load as a rare
    failure of the unplug test).
    """

    def __init__(self, port: SerialLike) -> None:
        self._port = port

    @property
    def timeout(self) -> float | None:
        return self._port.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._port.timeout = value

    @property
    def is_open(self) -> bool:
        return self._port.is_open

    @property
    def in_waiting(self) -> int:
        try:
            return self._port.in_waiting
        except OSError as e:
            raise serial.SerialException(f"the device is gone: {e}") from e

    def read(self, size: int = 1) -> bytes:
        try:
            return self._port.read(size)
        except OSError as e:
            raise serial.SerialException(f"the device is gone: {e}") from e

    def write(self, data: bytes) -> int | None:
        return self._port.write(data)

    def cancel_read(self) -> None:
        cancel = getattr(self._port, "cancel_read", None)  # socket:// and loop:// have none: they poll
        if cancel is not None:
            cancel()

    def close(self) -> None:
        self._port.close()


class FdPort:
    """A serial-port-like object over an open file descriptor (a pty master, a socket).

    *peer_may_vanish*: the fd is a pty master whose client comes and goes;
    EIO on read or write then means "no client right now" (tooling.md: reading
    a master whose slave is closed raises EIO), so reads return nothing and
    writes are dropped instead of failing. Otherwise EIO is a lost connection
    (``serial.SerialException``, as pyserial raises it).

    A write waits at most *write_timeout_s* for room (a pty buffers about
    16 KiB); what does not fit then is dropped and counted in
    :attr:`dropped_bytes`, so a peer that stops reading cannot hang us.
    """

    def __init__(self, fd: int, *, name: str = "", peer_may_vanish: bool = False, write_timeout_s: float = 1.0) -> None:
        self.fd = fd
        self.name = name or f"fd {fd}"
        self.peer_may_vanish = peer_may_vanish
        self.write_timeout_s = write_timeout_s
        self.timeout: float | None = None
        self.dropped_bytes = 0
        self._abort_r, self._abort_w = os.pipe()
        os.set_blocking(self._abort_r, False)
        os.set_blocking(fd, False)
        self._open = True

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def peer_present(self) -> bool:
        """For a pty master: True while a client has the slave open (no POLLHUP on the master)."""
        if not self.peer_may_vanish:
            return self._open
        try:
            poller = select.poll()
            poller.register(self.fd, select.POLLHUP)
            return not any(ev & select.POLLHUP for _, ev in poller.poll(0))
        except (OSError, ValueError):
            return False

    @property
    def in_waiting(self) -> int:
        try:
            return int(struct.unpack("I", fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0"))[0])
        except OSError:
            return 0

    def read(self, size: int = 1) -> bytes:
        """What has arrived (at least one byte, possibly more than *size*); waits up to :attr:`timeout`
        (None: until data or :meth:`cancel_read`)."""
        if not self._open:
            raise serial.PortNotOpenError()
        try:
            ready, _, _ = select.select([self.fd, self._abort_r], [], [], self.timeout)
        except (OSError, ValueError):  # closed under us
            return b""
        if self._abort_r in ready:
            with contextlib.suppress(OSError):
                os.read(self._abort_r, 1024)
            return b""
        if not ready:
            return b""
        try:
            data = os.read(self.fd, max(size, 4096))  # all that is there: the reader thread asks for 1 byte first
        except BlockingIOError:
            return b""
        except OSError as e:
            if e.errno == errno.EIO and self.peer_may_vanish:
                time.sleep(0.01)  # no client: the master stays readable (EIO) until one opens the slave
                return b""
            raise serial.SerialException(f"read failed on {self.name}: {e}") from None
        if not data:
            if self.peer_may_vanish:
                time.sleep(0.01)
                return b""
            raise serial.SerialException(f"{self.name}: end of file (peer closed the connection)")
        return data

    def write(self, data: bytes) -> int:
        """Write all of *data* (see the class docs for what happens when it does not fit)."""
        if not self._open:
            raise serial.PortNotOpenError()
        view = memoryview(data)
        deadline = time.monotonic() + self.write_timeout_s
        while view:
            try:
                n = os.write(self.fd, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno == errno.EIO and self.peer_may_vanish:
                    self.dropped_bytes += len(view)
                    return len(data)
                raise serial.SerialException(f"write failed on {self.name}: {e}") from None
            left = deadline - time.monotonic()
            if left <= 0:
                self.dropped_bytes += len(view)
                break
            with contextlib.suppress(OSError, ValueError):
                select.select([], [self.fd], [], left)
        return len(data)

    def cancel_read(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._abort_w, b"x")

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        self.cancel_read()
        for fd in (self.fd, self._abort_r, self._abort_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class Pty:
    """A pseudo-terminal an emulator serves; a client opens :attr:`path` with pyserial.

    The slave is put in raw mode before anyone can open it (a fresh pty slave
    echoes and translates line ends, which would mangle frames) and is then
    closed here, so the master sees EIO exactly while no client has it open.
    With *link*, :attr:`path` is a symlink at that place to the current
    slave, so a client can reopen the same path after :meth:`replug` (a
    simulated unplug: the pty is closed and a new one created).
    """

    def __init__(self, link: Path | None = None) -> None:
        self.link = link
        self._master = -1
        self.slave_name = ""
        self._port: FdPort | None = None
        self._make()

    def _make(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.slave_name = os.ttyname(slave)
        os.close(slave)
        self._master = master
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_name)
            os.replace(tmp, self.link)

    @property
    def path(self) -> str:
        """What a client opens: the symlink if there is one, else the slave device."""
        return str(self.link) if self.link is not None else self.slave_name

    def port(self) -> FdPort:
        """The master end, as a port (the same object until :meth:`replug`); PortError while unplugged."""
        if self._master < 0:
            raise PortError(f"{self.path}: unplugged")
        if self._port is None or not self._port.is_open:
            self._port = FdPort(self._master, name=f"pty {self.path}", peer_may_vanish=True)
        return self._port

    def unplug(self) -> None:
        """Close the pty: the client's reads fail (EIO) and its path disappears until :meth:`replug`."""
        # The path goes first: a client that notices the lost port and reopens the path at once must not
        # get the old slave back (it would open a pty with no master: writes vanish, nothing answers).
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
        if self._port is not None:
            self._port.close()  # closes the master fd
        else:
            with contextlib.suppress(OSError):
                os.close(self._master)
        self._port = None
        self._master = -1

    def replug(self) -> None:
        """A new pty in place of the old one (at the same :attr:`path` if there is a link)."""
        self._make()

    def close(self) -> None:
        self.unplug()
