"""Progress bars for long commands (``pumpsim sweep``, long ``pumpsim run``s), drawn by tqdm.

A bar is shown only where a person watches: by default only when the stream
(stderr) is a terminal, so logs, pipes and CI consoles get nothing. ::

    with progress_bar(300, desc="sweep", unit="runs") as bar:
        for ...:
            bar.update(1)          # or bar.update_to(done)

``enabled=True`` forces the bar on (tests, or a caller that knows better),
``enabled=False`` turns it off (``--no-progress``). :meth:`ProgressBar.write`
prints a message line without breaking the bar.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

__all__ = ["ProgressBar", "is_terminal", "progress_bar"]


class _Bar(tqdm):  # type: ignore[type-arg]  # tqdm is generic in what it iterates; these bars iterate nothing
    # No monitor thread: it exists for bars updated too rarely to redraw themselves, which ours are
    # not, and a thread alive while the sweep forks its process pool is best avoided.
    monitor_interval = 0


class ProgressBar:
    """A running progress bar (or a silent stand-in when not shown); a context manager that closes it."""

    def __init__(self, bar: _Bar | None, stream: TextIO) -> None:
        self._bar = bar
        self._stream = stream

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn."""
        return self._bar is not None

    @property
    def n(self) -> float:
        """The current count (0 for a silent bar)."""
        return self._bar.n if self._bar is not None else 0.0

    def update(self, n: float = 1) -> None:
        """Add *n* to the count."""
        if self._bar is not None:
            self._bar.update(n)

    def update_to(self, x: float) -> None:
        """Set the count to *x* (for callers that know the total done rather than the increment)."""
        if self._bar is not None:
            self._bar.update(x - self._bar.n)

    def write(self, line: str) -> None:
        """Print *line* on the bar's stream above the bar (or plainly, when no bar is shown)."""
        if self._bar is not None:
            self._bar.write(line, file=self._stream)
        else:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Draw the final state and end the bar's line (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def is_terminal(stream: TextIO) -> bool:
    """Whether *stream* is a terminal (False for files, pipes, closed or odd streams)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def progress_bar(total: float, *, desc: str, unit: str, enabled: bool | None = None, initial: float = 0,
                 stream: TextIO | None = None, delay_s: float = 0.0, leave: bool = True) -> ProgressBar:
    """A progress bar counting to *total* *unit* on *stream* (default: stderr).

    *enabled*: None shows it only if *stream* is a terminal; True always; False
    never. *initial* is work done before (a resumed sweep): it counts towards
    the total but not towards the rate and the time left. *delay_s*: draw
    nothing until the work has taken that long (short runs stay quiet).
    *leave*: keep the finished bar on screen.
    """
    out = sys.stderr if stream is None else stream
    show = is_terminal(out) if enabled is None else enabled
    if not show:
        return ProgressBar(None, out)
    bar = _Bar(total=total, initial=initial, desc=desc, unit=unit, file=out, dynamic_ncols=True,
               smoothing=0.1, leave=leave, delay=delay_s)
    return ProgressBar(bar, out)
