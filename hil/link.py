"""The link: requests and replies over one port, in both directions, surviving a bad wire.

A :class:`Link` owns one port (any pyserial URL, or a pty master) and:

* sends requests and matches replies by SEQ (:meth:`Link.call`,
  :meth:`Link.call_many` pipelines up to :attr:`Link.window` requests), with a
  reply timeout and a number of retries (the same frame, byte for byte), then
  :class:`LinkTimeout`;
* answers the peer's requests through a *responder* (see :mod:`hil.endpoint`),
  on the reader thread, keeping its replies to the last 16 requests: a
  request that repeats the SEQ and body of one of them gets the same reply
  again, byte for byte, and is not acted on twice; a late duplicate older than
  that is refused ``ERR STALE``;
* answers frames it cannot trust with ``0 ERR BADCRC`` / ``0 ERR BADFRAME``;
  when the peer answers one of ours that way, it re-sends what is outstanding
  at once rather than waiting for the timeout;
* reopens the port when it is lost (a pty closed and reopened, a USB adapter
  unplugged: EIO on read), for up to *reconnect_s*, and re-sends what was
  outstanding;
* counts everything in :class:`LinkStats` (written to hil.json).

Reading uses pyserial's ``serial.threaded.ReaderThread`` and ``Protocol``; the
request/reply matching, the replay cache and the reconnection are written here
because pyserial has no request/reply layer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import serial
import serial.threaded

from .ports import PortError, SerialLike, open_url
from .protocol import (
    REPLAY_DEPTH,
    SEQ_MODULUS,
    UNTRUSTED_SEQ,
    ErrorCode,
    FrameError,
    FrameParser,
    Reply,
    Request,
    Value,
    err_frame,
    format_args,
    frame,
    seq_after,
    seq_age,
)
from .shaping import ShapedPort, WireShape
from .stats import LinkStats

#: Defaults for a link over a pty or a fast UART (docs/hil-protocol.md, "Timing and retries").
TIMEOUT_S = 0.25
RETRIES = 4
RECONNECT_S = 5.0
WINDOW = 12
#: How often a lost port is tried again.
REOPEN_EVERY_S = 0.02


class LinkError(Exception):
    """The link could not carry a request; the message is one line."""


class LinkTimeout(LinkError):
    """No reply after all retries."""


class LinkDown(LinkError):
    """The port was lost and did not come back in time (or the link was closed)."""


class PeerError(LinkError):
    """The peer answered ``ERR``: *code* and *text* as it sent them, *request* what was asked."""

    def __init__(self, request: str, code: str, text: str) -> None:
        super().__init__(f"{request}: peer answered ERR {code}{' ' + text if text else ''}")
        self.request = request
        self.code = code
        self.text = text


@dataclass(frozen=True, slots=True)
class Response:
    """What a responder answers to one request: the reply frame, and how the link must treat it."""

    frame: bytes
    #: Keep it in the replay cache (not for BUSY: a retry is considered afresh).
    cache: bool = True
    #: The request started a new session: forget the replay cache first.
    new_session: bool = False


Responder = Callable[[Request], Response]


@dataclass(eq=False)
class _Pending:
    """A request waiting for its reply."""

    seq: int
    frame: bytes
    text: str
    sent_at: float = 0.0
    retransmitted: bool = False
    pipelined: bool = False
    reply: Reply | None = None
    nak: bool = False


class _Wire(serial.threaded.Protocol):
    """pyserial's reader-thread protocol: bytes to the parser, parsed frames to the link."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.parser = FrameParser()

    def data_received(self, data: bytes) -> None:
        self.link._received(self.parser, data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.link._lost(exc)


class Link:
    """One endpoint of a protocol link over the port *opener* returns (see the module docs).

    *opener* opens the port (it is called again to reconnect; it raises
    :class:`~hil.ports.PortError` while the port is not there). *responder*
    answers the peer's requests (None: every request is answered ``ERR
    UNKNOWN``). *reconnect_s* None waits for the port forever (emulators).
    *shape* shapes what this endpoint sends (:mod:`hil.shaping`).
    """

    def __init__(
        self,
        opener: Callable[[], SerialLike],
        *,
        responder: Responder | None = None,
        name: str = "link",
        timeout_s: float = TIMEOUT_S,
        retries: int = RETRIES,
        reconnect_s: float | None = RECONNECT_S,
        window: int = WINDOW,
        shape: WireShape | None = None,
    ) -> None:
        if not 0 < window < REPLAY_DEPTH:
            raise ValueError(f"window = {window}: expected 1..{REPLAY_DEPTH - 1} (inside the replay cache)")
        self._opener = opener
        self.responder = responder
        self.name = name
        self.timeout_s = timeout_s
        self.retries = retries
        self.reconnect_s = reconnect_s
        self.window = window
        self.shape = shape
        self.stats = LinkStats()
        #: The last frames in and out, for a failure report: (monotonic time, "tx"/"rx", bytes).
        self.recent: deque[tuple[float, str, bytes]] = deque(maxlen=24)
        self._cv = threading.Condition()
        self._wlock = threading.Lock()
        self._port: SerialLike | None = None
        self._reader: serial.threaded.ReaderThread[_Wire] | None = None
        self._connected = False
        #: How many times a port was attached (the first open and every reconnection).
        self._attachments = 0
        self._closing = False
        self._down: str | None = None
        self._seq = 0
        self._pending: dict[int, _Pending] = {}
        self._cache: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()
        self._newest: int | None = None
        self._reconnecting = False
        self._async_jobs: deque[tuple[str, Mapping[str, Value]]] = deque()
        self._async_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle

    @classmethod
    def to_url(cls, url: str, *, baudrate: int = 115200, **kwargs: Any) -> Link:
        """A link over the pyserial URL *url* (opened by :meth:`start`)."""
        return cls(lambda: open_url(url, baudrate=baudrate), name=url, **kwargs)

    def start(self) -> Link:
        """Open the port and start reading. Raises :class:`~hil.ports.PortError` if it cannot be opened."""
        self._attach(self._opener())
        return self

    def __enter__(self) -> Link:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the port; waiting calls fail with :class:`LinkDown`."""
        with self._cv:
            self._closing = True
            self._down = self._down or "link closed"
            self._cv.notify_all()
        self._detach()

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._connected

    @property
    def down(self) -> str | None:
        """Why the link is down for good (closed, or the port did not come back), else None."""
        return self._down

    def _attach(self, port: SerialLike) -> None:
        if self.shape is not None and self.shape.active:
            port = ShapedPort(port, self.shape)
        # ReaderThread reads any object with pyserial's read/in_waiting/cancel_read (our ports are such objects).
        reader = serial.threaded.ReaderThread(port, lambda: _Wire(self))  # type: ignore[arg-type]
        reader.name = f"hil-reader {self.name}"
        with self._cv:
            if self._closing:  # closed while the port was being reopened
                with contextlib.suppress(Exception):
                    port.close()
                return
            self._port, self._reader, self._connected = port, reader, True
            self._attachments += 1  # a new port: requests in flight get a fresh retry budget on it
            reader.start()  # under the lock: close() never sees a reader that has not started
            self._cv.notify_all()

    def _detach(self) -> None:
        with self._cv:
            reader, self._reader, self._connected = self._reader, None, False
            port, self._port = self._port, None
        if reader is not None and reader is not threading.current_thread():
            reader.stop()
        if port is not None:
            with contextlib.suppress(Exception):  # closing a port that is already gone
                port.close()

    # ------------------------------------------------------------------ sending requests

    def call(self, verb: str, args: Mapping[str, Value] | None = None, *, timeout_s: float | None = None,
             retries: int | None = None) -> Reply:
        """Send request *verb* with *args* and return its ``OK`` reply.

        Raises :class:`PeerError` for an ``ERR`` reply, :class:`LinkTimeout`
        after *retries* re-sends with no reply, :class:`LinkDown` if the port
        is gone for good. Must not be called from a responder (use
        :meth:`call_async`).
        """
        return self.call_many([(verb, args or {})], timeout_s=timeout_s, retries=retries)[0]

    def call_many(self, calls: Sequence[tuple[str, Mapping[str, Value]]], *, timeout_s: float | None = None,
                  retries: int | None = None) -> list[Reply]:
        """Send several requests, at most :attr:`window` outstanding at a time; their replies in order.

        The peer acts on them in the order it receives them (which a
        reordering wire may change: send only requests whose order does not
        matter, such as reads).
        """
        if self._reader is not None and threading.current_thread() is self._reader:
            raise RuntimeError("Link.call from a responder would wait for itself; use call_async")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        tries = self.retries if retries is None else retries
        replies: list[Reply] = []
        todo = list(calls)
        while todo:
            batch, todo = todo[: self.window], todo[self.window:]
            pend = [self._register(v, a) for v, a in batch]
            if len(pend) > 1:
                for p in pend:
                    p.pipelined = True  # its wait includes the others': not a round trip
            try:
                for p in pend:
                    self._transmit(p)
                for p in pend:
                    replies.append(self._await(p, timeout, tries))
            finally:
                with self._cv:
                    for p in pend:
                        self._pending.pop(p.seq, None)
        return replies

    def call_async(self, verb: str, args: Mapping[str, Value] | None = None) -> None:
        """Send a request from a background thread (for responders); failures are counted, not raised."""
        with self._cv:
            self._async_jobs.append((verb, dict(args or {})))
            if self._async_thread is None or not self._async_thread.is_alive():
                self._async_thread = threading.Thread(target=self._async_loop, name="hil-async", daemon=True)
                self._async_thread.start()
            self._cv.notify_all()

    def _async_loop(self) -> None:
        while True:
            with self._cv:
                if not self._async_jobs:
                    return
                verb, args = self._async_jobs.popleft()
            with contextlib.suppress(LinkError):  # counted in the stats (failures, peer_errors)
                self.call(verb, args)

    def _register(self, verb: str, args: Mapping[str, Value]) -> _Pending:
        with self._cv:
            self._seq = seq_after(self._seq)
            while self._seq in self._pending:
                self._seq = seq_after(self._seq)
            req = Request(self._seq, verb, format_args(args))
            p = _Pending(self._seq, frame(req.body()), req.text())
            self._pending[p.seq] = p
            self.stats.requests_tx += 1
        return p

    def _transmit(self, p: _Pending) -> None:
        p.sent_at = time.monotonic()
        self._write(p.frame)

    def _await(self, p: _Pending, timeout: float, tries: int) -> Reply:
        """Wait for *p*'s reply, re-sending it on timeout, on a NAK, and after a reconnection."""
        resent = 0
        deadline = time.monotonic() + timeout
        with self._cv:
            attached = self._attachments
        while True:
            with self._cv:
                while (p.reply is None and not p.nak and self._connected and self._down is None
                       and self._attachments == attached):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cv.wait(left)
                reply, nak, connected, down = p.reply, p.nak, self._connected, self._down
                reattached = self._attachments != attached
                p.nak = False
            if reply is not None:
                return self._outcome(p, reply)
            if down is not None:
                self.stats.failures += 1
                raise LinkDown(f"{p.text}: {down}")
            if not connected or reattached:
                # The port was lost and came back (perhaps between two of our waits): what was sent on the
                # old port may be gone, and the peer may need a moment on the new one. Re-send, with the
                # whole retry budget again: a replug is not the peer failing to answer. (The peer's replay
                # cache still makes the re-send harmless if the first copy did arrive.)
                self._wait_connected(p)
                with self._cv:
                    attached = self._attachments
                resent = 0
                deadline = time.monotonic() + timeout
                self._resend(p)
                continue
            if not nak:
                self.stats.timeouts += 1
            if resent >= tries:
                self.stats.failures += 1
                raise LinkTimeout(f"no reply to {p.text} after {tries + 1} tries "
                                  f"({(tries + 1) * timeout:.2f} s): the peer stopped answering")
            resent += 1
            deadline = time.monotonic() + timeout
            self._resend(p)

    def _resend(self, p: _Pending) -> None:
        self.stats.retries += 1
        p.retransmitted = True
        self._write(p.frame)

    def _wait_connected(self, p: _Pending) -> None:
        with self._cv:
            while not self._connected and self._down is None:
                self._cv.wait(0.1)
            if self._down is not None:
                self.stats.failures += 1
                raise LinkDown(f"{p.text}: {self._down}")

    def _outcome(self, p: _Pending, reply: Reply) -> Reply:
        if not p.retransmitted and not p.pipelined:
            self.stats.rtt.add(time.monotonic() - p.sent_at)
        if reply.ok:
            return reply
        self.stats.peer_errors += 1
        raise PeerError(p.text, reply.code, reply.text)

    def _write(self, frame: bytes) -> None:
        with self._wlock:
            port = self._port
            if port is None or not self._connected:
                return  # re-sent after reconnection
            try:
                port.write(frame)
            except (serial.SerialException, OSError):
                return  # the reader notices the lost port and reconnects
            self.stats.frames_tx += 1
            self.stats.bytes_tx += len(frame)
            self.recent.append((time.monotonic(), "tx", frame))

    # ------------------------------------------------------------------ receiving

    def _received(self, parser: FrameParser, data: bytes) -> None:
        """Reader thread: bytes arrived."""
        self.stats.bytes_rx += len(data)
        skipped, truncated = parser.skipped_bytes, parser.truncated
        outcomes = parser.feed(data)
        self.stats.skipped_bytes += parser.skipped_bytes - skipped
        self.stats.truncated_frames += parser.truncated - truncated
        for o in outcomes:
            if isinstance(o, FrameError):
                if o.code == ErrorCode.BADCRC:
                    self.stats.crc_errors += 1
                else:
                    self.stats.frame_errors += 1
                self._write(err_frame(UNTRUSTED_SEQ, o.code, o.reason))
                continue
            self.stats.frames_rx += 1
            self.recent.append((time.monotonic(), "rx", o.body()))
            if isinstance(o, Reply):
                self._on_reply(o)
            else:
                self._on_request(o)

    def _on_reply(self, r: Reply) -> None:
        with self._cv:
            p = self._pending.get(r.seq)
            if p is not None and p.reply is None:
                p.reply = r
                self._cv.notify_all()
                return
            if r.seq == UNTRUSTED_SEQ and not r.ok and r.code in (ErrorCode.BADCRC, ErrorCode.BADFRAME):
                self.stats.naks_rx += 1
                for q in self._pending.values():  # the peer could not read something we sent: re-send now
                    if q.reply is None:
                        q.nak = True
                self._cv.notify_all()
                return
            self.stats.unmatched_replies += 1  # a late or duplicated reply

    def _on_request(self, req: Request) -> None:
        # REQ-HIL-001: a retry is answered from the cache, a late duplicate refused; neither is acted on.
        self.stats.requests_rx += 1
        key = (req.seq, req.body())
        cached = self._cache.get(key)
        if cached is not None:
            self.stats.replays += 1
            self._write(cached)
            return
        if self._newest is not None and req.verb != "HELLO":
            age = seq_age(self._newest, req.seq)
            if REPLAY_DEPTH <= age < SEQ_MODULUS // 2:
                self.stats.stale += 1
                self._write(err_frame(req.seq, ErrorCode.STALE, f"SEQ {req.seq} is {age} requests old"))
                return
        if self.responder is None:
            resp = Response(err_frame(req.seq, ErrorCode.UNKNOWN, f"{req.verb}: this endpoint takes no requests"))
        else:
            try:
                resp = self.responder(req)
            except Exception as e:  # a bug in a responder must not take the link down
                self.stats.handler_errors += 1
                resp = Response(err_frame(req.seq, ErrorCode.INTERNAL, f"{type(e).__name__}: {e}"), cache=False)
        if resp.new_session:
            self._cache.clear()
            self._newest = None
        if resp.cache:
            self._cache[key] = resp.frame
            while len(self._cache) > REPLAY_DEPTH:
                self._cache.popitem(last=False)
        if self._newest is None or seq_age(self._newest, req.seq) >= SEQ_MODULUS // 2:
            self._newest = req.seq
        self._write(resp.frame)

    # ------------------------------------------------------------------ losing and finding the port

    def _lost(self, exc: BaseException | None) -> None:
        """Reader thread: the port went away (EIO, unplugged, closed)."""
        with self._cv:
            if self._closing:
                return
            self._connected = False
            self.stats.disconnects += 1
            self._cv.notify_all()
            if self._reconnecting:
                return
            self._reconnecting = True
        why = str(exc).splitlines()[0] if exc else "port closed"
        threading.Thread(target=self._reconnect, args=(why,), name=f"hil-reconnect {self.name}", daemon=True).start()

    def _reconnect(self, why: str) -> None:
        old = self._port
        with self._cv:
            self._port = None
        if old is not None:
            with contextlib.suppress(Exception):  # already gone
                old.close()
        deadline = None if self.reconnect_s is None else time.monotonic() + self.reconnect_s
        last = why
        while not self._closing:
            try:
                port = self._opener()
            except PortError as e:
                last = str(e)
            else:
                self.stats.reconnects += 1
                with self._cv:
                    self._reconnecting = False
                self._attach(port)
                return
            if deadline is not None and time.monotonic() >= deadline:
                with self._cv:
                    self._reconnecting = False
                    self._down = f"port lost ({why}) and not back within {self.reconnect_s:g} s ({last})"
                    self._cv.notify_all()
                return
            time.sleep(REOPEN_EVERY_S)
