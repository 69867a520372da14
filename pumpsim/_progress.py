"""A dependency-free progress line for long commands (``pumpsim sweep``).

On a terminal the line is redrawn in place at most :attr:`Progress.tty_interval`
times a second; on anything else (a log file, a CI console) a plain line is
printed every :attr:`Progress.plain_interval` seconds, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """Reports *done* out of *total* items with rate and ETA on *stream* (stderr by default).

    *already* items were done before this session (a resumed sweep): they count
    towards done/total but not towards the rate.
    """

    tty_interval = 0.1
    plain_interval = 5.0

    def __init__(self, total: int, *, already: int = 0, unit: str = "runs", stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.total = total
        self.already = already
        self.done = already
        self.unit = unit
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = enabled and _isatty(self.stream)
        self.t0 = time.monotonic()
        self._last = float("-inf")
        self._width = 0

    def rate(self) -> float:
        """Items per second in this session (0 before the first)."""
        elapsed = time.monotonic() - self.t0
        n = self.done - self.already
        return n / elapsed if elapsed > 0 and n > 0 else 0.0

    def line(self) -> str:
        """The current progress text (no newline)."""
        rate = self.rate()
        left = self.total - self.done
        eta = left / rate if rate > 0 else None
        pct = 100.0 * self.done / self.total if self.total else 100.0
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        return (f"[{bar}] {self.done}/{self.total} {self.unit} ({pct:5.1f} %)  {rate:.1f} {self.unit}/s  "
                f"elapsed {_clock(time.monotonic() - self.t0)}  ETA {_clock(eta)}")

    def update(self, done: int, *, force: bool = False) -> None:
        """Set the count to *done*; draws if enough time has passed (or *force*)."""
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        interval = self.tty_interval if self.tty else self.plain_interval
        if not force and now - self._last < interval:
            return
        self._last = now
        self._draw()

    def _draw(self) -> None:
        text = self.line()
        try:
            if self.tty:
                pad = max(0, self._width - len(text))
                self.stream.write("\r" + text + " " * pad)
                self._width = len(text)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream must not stop the work
            self.enabled = False

    def close(self) -> None:
        """Draw the final state and end the line."""
        if not self.enabled:
            return
        self._draw()
        if self.tty:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self.enabled = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
