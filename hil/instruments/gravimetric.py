"""Gravimetric recording: a balance read at a fixed interval into ``t_s,mass_g,status`` (pumpsim/analysis/series.py).

:class:`GravimetricRecorder` samples any :class:`WeighingInstrument` (a
:class:`~.balance.Balance`, or a fake in tests) on a fixed grid
``t_k = k * interval`` (no drift: a slow reply does not shift the next
sample; a sample whose slot has passed is skipped and counted) and appends
one CSV row per sample, written and flushed at once, so the file is valid
whenever the run stops (Ctrl-C, a crash, a power cut: at most the row being
written is lost).

Each row carries the balance's own status (``S`` stable, ``D`` dynamic, ``+``
overload, ``-`` underload, ``I`` busy) or, when there was no answer, what
went wrong (``timeout``, ``garbage``, ``ES``/``ET``/``EL``, ``port``); rows
without a weight have an empty ``mass_g``, and the analysis leaves them out
and counts them. A balance that gives no answer *max_missed* samples in a row
ends the recording (:attr:`RecordOutcome.failure`); a lost port is reopened
before each sample.

:class:`GravimetricPhase`-style use from a bench phase framework::

    rec = GravimetricRecorder(balance, path, interval_s=30, duration_s=86400)
    outcome = rec.run(stop=threading.Event())     # or rec.open(); rec.sample(t); ...; rec.close()
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from ..ports import PortError
from . import mtsics as m
from .balance import (
    BalanceError,
    BalanceGarbage,
    BalancePortLost,
    BalanceRefused,
    BalanceTimeout,
    Identity,
    Reading,
)

#: CSV header (pumpsim.analysis.series reads these columns by name).
HEADER = "t_s,mass_g,status"
#: Statuses written when the balance gave no reading (not MT-SICS statuses).
TIMEOUT, GARBAGE, PORT = "timeout", "garbage", "port"
#: Default: stop after this many samples in a row without an answer.
MAX_MISSED = 5
#: fsync at most this often (seconds): rows are flushed at once, made durable this often.
FSYNC_EVERY_S = 5.0


class WeighingInstrument(Protocol):
    """What recording needs of a balance (:class:`~.balance.Balance` is one; so is a test fake).

    ``read`` returns a :class:`~.balance.Reading` for every balance status and
    raises :class:`~.balance.BalanceError` when there is no answer to record.
    """

    def read(self, *, stable: bool = False) -> Reading: ...

    def identity(self) -> Identity: ...

    def reopen(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Sample:
    """One row: time (s from the start), mass in grams (None without a weight), status, and why if none."""

    t_s: float
    mass_g: float | None
    status: str
    mass_text: str = ""
    error: str | None = None


@dataclass
class RecordCounts:
    samples: int = 0
    weights: int = 0
    stable: int = 0
    dynamic: int = 0
    overload: int = 0
    underload: int = 0
    busy: int = 0
    timeouts: int = 0
    garbage: int = 0
    refused: int = 0
    port_errors: int = 0
    reopened: int = 0
    skipped_slots: int = 0


@dataclass
class RecordOutcome:
    """How a recording ended: complete, interrupted, or failed (one line why); the counts; the CSV path."""

    path: Path
    counts: RecordCounts
    complete: bool = False
    interrupted: bool = False
    failure: str | None = None
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)


def format_mass(reading: Reading) -> tuple[float, str]:
    """The reading in grams and as CSV text: the balance's own digits when it reports in g."""
    grams = reading.grams()
    if reading.unit == "g" and reading.text is not None:
        return grams, reading.text
    return grams, f"{grams:.10g}"


class GravimetricRecorder:
    """Samples *balance* every *interval_s* for *duration_s* into *path* (see the module docs).

    *stable* reads with ``S`` (wait for stability) instead of ``SI``.
    *log* receives one line per problem (a missed sample, a reopened port);
    *on_sample* each sample as recorded (a progress bar).
    *clock* and *sleep* are for tests.
    """

    def __init__(self, balance: WeighingInstrument, path: Path, *, interval_s: float, duration_s: float,
                 stable: bool = False, max_missed: int = MAX_MISSED, header: str = "",
                 log: Callable[[str], None] | None = None, on_sample: Callable[[Sample], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] | None = None) -> None:
        if not interval_s > 0 or not duration_s >= 0:
            raise ValueError(f"interval_s = {interval_s}, duration_s = {duration_s}: expected > 0 and >= 0")
        if max_missed < 1:
            raise ValueError(f"max_missed = {max_missed}: expected >= 1")
        self.balance = balance
        self.path = path
        self.interval_s = interval_s
        self.duration_s = duration_s
        self.stable = stable
        self.max_missed = max_missed
        self.header = header
        self.log = log or (lambda line: None)
        self.on_sample = on_sample
        self.clock = clock
        self.counts = RecordCounts()
        self.errors: list[str] = []
        self._sleep = sleep
        self._file: TextIO | None = None
        self._missed = 0
        self._need_reopen = False
        self._last_sync = 0.0

    # ------------------------------------------------------------------ the file

    def open(self) -> None:
        """Create the CSV (it must not exist) with its header; comments first, ``#`` lines the reader skips."""
        f = open(self.path, "x", encoding="utf-8", newline="")  # noqa: SIM115 - kept open for the recording
        for line in self.header.splitlines():
            f.write(f"# {line}\n")
        f.write(HEADER + "\n")
        f.flush()
        self._file = f

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def _write(self, s: Sample) -> None:
        assert self._file is not None, "open() first"
        # One write of a whole line, then a flush: an interrupted run never leaves half a row.
        self._file.write(f"{s.t_s:.3f},{s.mass_text},{s.status}\n")
        self._file.flush()
        now = self.clock()
        if now - self._last_sync >= FSYNC_EVERY_S:
            os.fsync(self._file.fileno())
            self._last_sync = now

    # ------------------------------------------------------------------ sampling

    def sample_now(self, t0: float) -> Sample:
        """Read the balance once and record the row, timed from *t0* on :attr:`clock` (see :meth:`sample`)."""
        return self.sample(lambda: self.clock() - t0)

    def sample(self, now_s: Callable[[], float]) -> Sample:
        """Read the balance once, record the row and return it (never raises BalanceError).

        The row's time is read from *now_s* around the request: for ``SI`` the
        middle of the exchange (the balance weighs when the command arrives;
        half the round trip is the best guess of when that was), for ``S`` the
        reply (the weight is the one that settled last).
        """
        before = now_s()
        s = self._read(before)
        after = now_s()
        s.t_s = after if self.stable else (before + after) / 2
        t_s = s.t_s
        self._write(s)
        c = self.counts
        c.samples += 1
        if s.mass_g is not None:
            c.weights += 1
            self._missed = 0
        elif s.error is None:
            self._missed = 0  # the balance answered (overload, underload, busy): it is alive
        else:
            self._missed += 1
            self.errors.append(s.error)
            self.log(f"t = {t_s:.1f} s: {s.status}: {s.error}")
        if self.on_sample is not None:
            self.on_sample(s)
        return s

    def _read(self, t_s: float) -> Sample:
        c = self.counts
        if self._need_reopen:
            try:
                self.balance.reopen()
                self._need_reopen = False
                c.reopened += 1
                self.log(f"t = {t_s:.1f} s: port reopened")  # t_s: when the sample began
            except PortError as e:
                c.port_errors += 1
                return Sample(t_s, None, PORT, error=str(e))
        try:
            r = self.balance.read(stable=self.stable)
        except BalancePortLost as e:
            c.port_errors += 1
            self._need_reopen = True
            return Sample(t_s, None, PORT, error=str(e))
        except BalanceTimeout as e:
            c.timeouts += 1
            return Sample(t_s, None, TIMEOUT, error=str(e))
        except BalanceGarbage as e:
            c.garbage += 1
            return Sample(t_s, None, GARBAGE, error=str(e))
        except BalanceRefused as e:
            c.refused += 1
            return Sample(t_s, None, e.code, error=str(e))
        if r.is_weight:
            try:
                grams, text = format_mass(r)
            except BalanceError as e:  # a unit that is not a mass: a set-up problem, said once per sample
                c.garbage += 1
                return Sample(t_s, None, GARBAGE, error=str(e))
            if r.stable:
                c.stable += 1
            else:
                c.dynamic += 1
            return Sample(t_s, grams, r.status, text)
        if r.status == m.OVER:
            c.overload += 1
        elif r.status == m.UNDER:
            c.underload += 1
        else:
            c.busy += 1
        return Sample(t_s, None, r.status)

    # ------------------------------------------------------------------ the run

    def run(self, stop: threading.Event | None = None) -> RecordOutcome:
        """Record to the end of *duration_s*, until *stop* is set, or until the balance stops answering.

        Opens and closes the file. KeyboardInterrupt ends the recording with a
        valid file and ``interrupted`` set (it is not re-raised).
        """
        stop = stop or threading.Event()
        wait = self._sleep or stop.wait
        self.open()
        t0 = self.clock()
        out = RecordOutcome(self.path, self.counts, errors=self.errors)
        n_slots = math.floor(self.duration_s / self.interval_s + 1e-9) + 1
        k = 0
        try:
            while k < n_slots and not stop.is_set():
                due = t0 + k * self.interval_s
                left = due - self.clock()
                if left > 0:
                    wait(left)
                    if stop.is_set():
                        break
                self.sample_now(t0)
                if self._missed >= self.max_missed:
                    out.failure = (f"no answer from the balance {self._missed} samples in a row "
                                   f"(last: {self.errors[-1]})")
                    break
                # The next slot still ahead of the clock (slots a slow reply overran are skipped, not crowded in).
                k_next = max(k + 1, math.floor((self.clock() - t0) / self.interval_s) + 1)
                self.counts.skipped_slots += min(k_next, n_slots) - k - 1
                k = k_next
            out.complete = out.failure is None and k >= n_slots
            out.interrupted = out.failure is None and not out.complete
        except KeyboardInterrupt:
            out.interrupted = True
        finally:
            out.elapsed_s = self.clock() - t0
            self.close()
        return out
