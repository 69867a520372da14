"""Wire shaping: make a perfect pseudo-terminal behave like a slow, noisy, unreliable serial line.

A pty ignores the baud rate and never loses a byte (tooling.md), so what a
real wire does must be put in on purpose. :class:`WireShape` lists it,
:class:`ShapedPort` applies it to whatever one endpoint *sends* (wrap both
endpoints to shape both directions): baud-rate pacing, latency, bit noise,
dropped, duplicated and reordered frames, and a silent period during which
nothing goes either way. Emulators take these as options
(``pumpsim hil emulate bench --drop 0.01 ...``); tests wrap a port directly.

The link writes one whole frame per ``write`` call, which is what lets the
shaper drop, repeat or reorder frames rather than arbitrary byte runs. The
faults are drawn from a seeded ``random.Random``: a shaped session is
reproducible as far as thread timing allows.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import threading
import time
from dataclasses import dataclass, fields

from .ports import SerialLike

#: Bits per byte on an 8N1 line (start, 8 data, stop).
BITS_PER_BYTE = 10


@dataclass(frozen=True, slots=True)
class WireShape:
    """What the wire does to the frames one endpoint sends. All off by default.

    *baud*: pace bytes as an 8N1 line at this rate (0: as fast as the pty).
    *latency_ms*: delay before a frame starts out. *noise*: probability per
    byte of one flipped bit. *drop*, *duplicate*, *reorder*: probability per
    frame of being lost, sent twice, or held back until after the next frame.
    *silence_at_s*, *silence_s*: from that many seconds after the first frame,
    for that long, nothing is sent and what arrives is discarded (a peer that
    stops answering). *disconnect_at_s*, *disconnect_s*: an unplug, applied by
    the emulators (the pty is closed and reopened at the same path). *seed*
    seeds the fault draws.
    """

    baud: int = 0
    latency_ms: float = 0.0
    noise: float = 0.0
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    silence_at_s: float | None = None
    silence_s: float = 0.0
    disconnect_at_s: float | None = None
    disconnect_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("noise", "drop", "duplicate", "reorder"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} = {p}: expected a probability 0..1")
        for name in ("latency_ms", "silence_s", "disconnect_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} = {getattr(self, name)}: expected >= 0")
        if self.baud < 0:
            raise ValueError(f"baud = {self.baud}: expected >= 0 (0: no pacing)")

    @property
    def active(self) -> bool:
        """True if anything is shaped (besides a disconnect, which the emulator applies)."""
        return any((self.baud, self.latency_ms, self.noise, self.drop, self.duplicate, self.reorder,
                    self.silence_at_s is not None))

    def describe(self) -> str:
        """The options that differ from the defaults (``drop=0.01 latency_ms=2.0``), or ``none``."""
        default = WireShape()
        parts = [f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                 if getattr(self, f.name) != getattr(default, f.name)]
        return " ".join(parts) or "none"


@dataclass
class ShapeCounts:
    """What a :class:`ShapedPort` did to the frames it carried."""

    frames: int = 0
    dropped: int = 0
    duplicated: int = 0
    reordered: int = 0
    noisy_bytes: int = 0
    silenced: int = 0


class ShapedPort:
    """*inner* with :class:`WireShape` applied to what is written (and a silent period on both ways).

    Writes return at once; a sender thread delivers frames at their due time
    (latency, then baud-rate pacing one frame after another).
    """

    def __init__(self, inner: SerialLike, shape: WireShape) -> None:
        self.inner = inner
        self.shape = shape
        self.counts = ShapeCounts()
        self._rng = random.Random(shape.seed)
        self._cv = threading.Condition()
        self._queue: list[tuple[float, int, bytes | None]] = []  # (due, order, bytes; None releases the held frame)
        self._order = 0
        self._held: bytes | None = None
        self._wire_free = 0.0
        self._t0: float | None = None
        self._closed = False
        self._sender = threading.Thread(target=self._send_loop, name="wire-shaper", daemon=True)
        self._sender.start()

    # ----------------------------------------------------------------- SerialLike

    @property
    def timeout(self) -> float | None:
        return self.inner.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self.inner.timeout = value

    @property
    def is_open(self) -> bool:
        return self.inner.is_open and not self._closed

    @property
    def in_waiting(self) -> int:
        return self.inner.in_waiting

    def read(self, size: int = 1) -> bytes:
        data = self.inner.read(size)
        if data and self._silent(time.monotonic()):
            return b""
        return data

    def write(self, data: bytes) -> int:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        s, rng = self.shape, self._rng
        self.counts.frames += 1
        if self._silent(now):
            self.counts.silenced += 1
            return len(data)
        if s.drop and rng.random() < s.drop:
            self.counts.dropped += 1
            return len(data)
        out = self._noisy(data)
        copies = [out]
        if s.duplicate and rng.random() < s.duplicate:
            self.counts.duplicated += 1
            copies.append(out)
        with self._cv:
            if s.reorder and self._held is None and rng.random() < s.reorder:
                self.counts.reordered += 1
                self._held = out
                # Sent after the next frame, or on its own after a short while.
                self._enqueue_at(now + s.latency_ms / 1000 + 0.02, None)
                return len(data)
            if self._held is not None:
                copies.append(self._held)
                self._held = None
            if not s.baud and not s.latency_ms and not self._queue:
                direct = copies  # nothing to wait for: write now, without a hop through the sender thread
            else:
                direct = []
                for c in copies:
                    self._enqueue_at(now + s.latency_ms / 1000, c)
        for c in direct:
            with contextlib.suppress(Exception):  # a closed or lost port: the link notices on its read side
                self.inner.write(c)
        return len(data)

    def cancel_read(self) -> None:
        self.inner.cancel_read()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self.inner.close()

    # ----------------------------------------------------------------- internals

    def _silent(self, now: float) -> bool:
        s = self.shape
        if s.silence_at_s is None or self._t0 is None:
            return False
        start = self._t0 + s.silence_at_s
        return start <= now < start + s.silence_s

    def _noisy(self, data: bytes) -> bytes:
        p = self.shape.noise
        if not p:
            return data
        buf = bytearray(data)
        for i in range(len(buf)):
            if self._rng.random() < p:
                buf[i] ^= 1 << self._rng.randrange(8)
                self.counts.noisy_bytes += 1
        return bytes(buf)

    def _enqueue_at(self, due: float, data: bytes | None) -> None:
        """Queue *data* for *due* (caller holds the lock); None sends the held frame then, if still held."""
        self._order += 1
        heapq.heappush(self._queue, (due, self._order, data))
        self._cv.notify_all()

    def _send_loop(self) -> None:
        baud = self.shape.baud
        while True:
            with self._cv:
                while not self._closed and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = None if not self._queue else max(self._queue[0][0] - time.monotonic(), 0)
                    self._cv.wait(wait)
                if self._closed:
                    return
                _, _, item = heapq.heappop(self._queue)
                if item is None:
                    if self._held is None:
                        continue
                    item, self._held = self._held, None
                data = item
            if baud:
                # The wire carries one frame after another: wait until it is free, then for this frame's bytes.
                start = max(time.monotonic(), self._wire_free)
                self._wire_free = start + len(data) * BITS_PER_BYTE / baud
                _sleep_until(start)
            with contextlib.suppress(Exception):  # a closed or lost port: the link notices on its read side
                self.inner.write(data)
            if baud:
                _sleep_until(self._wire_free)


def _sleep_until(t: float) -> None:
    left = t - time.monotonic()
    if left > 0:
        time.sleep(left)
