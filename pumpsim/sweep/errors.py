"""The two ways a sweep stops early: a bad request, or Ctrl-C."""

from __future__ import annotations

from pathlib import Path


class SweepError(ValueError):
    """A problem with what the user asked for, or with the sweep directory.

    The message is one line naming the argument or file; the command line
    prints it and exits with status 2.
    """


class SweepInterrupted(Exception):
    """The sweep was stopped (Ctrl-C); every run finished so far is in ``out_dir``.

    *resumable* is False when a new sweep was stopped before its directory was
    started (while the workers were starting): nothing was written, so there
    is nothing to ``--resume``.
    """

    def __init__(self, out_dir: Path, done: int, total: int, *, resumable: bool = True) -> None:
        super().__init__(f"interrupted after {done} of {total} runs")
        self.out_dir = out_dir
        self.done = done
        self.total = total
        self.resumable = resumable
