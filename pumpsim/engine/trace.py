"""The trace: rows at every ``trace_interval`` and after every event, computed in batches.

A row is buffered as integers only: its time, the stroke count, the stroke
timer's rate, and which :class:`WakeState` (what the firmware believed, set at
each wake-up) it was taken under. Every :data:`FLUSH_ROWS` rows, and at the
end, the physical values of the batch are computed at once (the plant's
vectorised :meth:`~pumpsim.plant.PumpPlant.trace_values`) and handed to the
sink as the columns of :data:`pumpsim.results.TRACE`, so a row costs a few
list appends during the run.
"""

from __future__ import annotations

from itertools import repeat
from typing import NamedTuple

import numpy as np

from firmware_model import AlarmId

from ..results import TRACE_COLUMNS, Sink
from ..units import MS_PER_S, NG_PER_MG, NL_PER_ML, PL_PER_ML, PL_PER_NL
from .ports import PlantPort

#: Trace rows buffered before a vectorised evaluation and a write.
FLUSH_ROWS = 4096


class WakeState(NamedTuple):
    """What a trace row needs of the firmware (and the plant's epoch); changes only at a wake-up.

    A named tuple: one is made at every wake-up, and a frozen dataclass's
    ``__init__`` costs about a microsecond more.
    """

    #: Index of the plant's reservoir epoch (refill) in force.
    epoch: int
    #: The firmware's reservoir estimate is ``estimate_base_pl - (strokes - estimate_count_base) x stroke``.
    estimate_base_pl: int
    estimate_count_base: int
    #: The concentration the firmware believes the reservoir holds.
    conc_ng_per_ml: int
    #: Active alarms, one bit per alarm id (bit ``1 << id``).
    alarm_bits: int


class TraceRecorder:
    """Buffers trace rows for one run and writes them to *sink* in batches."""

    def __init__(self, plant: PlantPort, stroke_pl: int, interval_ms: int, sink: Sink, *,
                 firmware: bool = True) -> None:
        """*firmware* False: a pump without firmware (constant flow): no strokes, no estimate (NaN), no alarms."""
        self._plant = plant
        self._firmware = firmware
        self._stroke_pl = stroke_pl
        self._interval_ms = interval_ms
        self._sink = sink
        #: Time of the next grid row.
        self.next_grid_ms = interval_ms
        # The row buffer, one list per field; row i was taken under _states[_state_of[i]].
        self._t_ms: list[int] = []
        self._strokes: list[int] = []
        self._rate: list[int] = []
        self._state_of: list[int] = []
        self._states: list[WakeState] = [WakeState(0, 0, 0, 0, 0)]

    def set_state(self, state: WakeState) -> None:
        """Rows from now on are taken under *state* (after a wake-up)."""
        if state != self._states[-1]:
            self._states.append(state)

    def grid(self, until_ms: int) -> None:
        """Rows at every trace interval up to and including *until_ms* (the timer's program unchanged)."""
        times = range(self.next_grid_ms, until_ms + 1, self._interval_ms)
        if not times:
            return
        timer = self._plant.timer
        self._t_ms.extend(times)
        self._strokes.extend(timer.counts_at(times))
        self._rate.extend(timer.rates_at(times))
        self._state_of.extend(repeat(len(self._states) - 1, len(times)))
        self.next_grid_ms = times[-1] + self._interval_ms

    def event_row(self, t_ms: int) -> None:
        """A row after the events at *t_ms* (the plant's present); it replaces a grid row at the same instant
        (the state after the events wins)."""
        timer = self._plant.timer
        k = timer.count
        if self._t_ms and self._t_ms[-1] == t_ms and self._strokes[-1] == k:
            self._t_ms.pop()
            self._strokes.pop()
            self._rate.pop()
            self._state_of.pop()
        self._append(t_ms, k, timer.rate_at(t_ms))

    def _append(self, t_ms: int, strokes: int, rate_pl_per_day: int) -> None:
        self._t_ms.append(t_ms)
        self._strokes.append(strokes)
        self._rate.append(rate_pl_per_day)
        self._state_of.append(len(self._states) - 1)

    @property
    def full(self) -> bool:
        """True when a batch is due (:data:`FLUSH_ROWS` rows buffered)."""
        return len(self._t_ms) >= FLUSH_ROWS

    def oldest_strokes(self) -> int | None:
        """The stroke count of the oldest buffered row (the plant must keep strokes from there), or None."""
        return self._strokes[0] if self._strokes else None

    def flush(self) -> None:
        """Compute the buffered rows and hand them to the sink."""
        if not self._t_ms:
            return
        self._sink.rows(self._columns())
        for buf in (self._t_ms, self._strokes, self._rate, self._state_of):
            buf.clear()
        self._states = self._states[-1:]

    def _columns(self) -> dict[str, np.ndarray]:
        """The buffered rows as trace columns (vectorised; the one place trace values are computed)."""
        t = np.asarray(self._t_ms, dtype=np.int64)
        k = np.asarray(self._strokes, dtype=np.int64)
        rate = np.asarray(self._rate, dtype=np.int64)
        which = np.asarray(self._state_of, dtype=np.int64)
        states = self._states

        def state_column(values: list[int]) -> np.ndarray:
            return np.asarray(values, dtype=np.int64)[which]

        epoch = state_column([s.epoch for s in states])
        est_base = state_column([s.estimate_base_pl for s in states])
        count_base = state_column([s.estimate_count_base for s in states])
        conc = state_column([s.conc_ng_per_ml for s in states])
        bits = state_column([s.alarm_bits for s in states])
        plant = self._plant.trace_values(k, epoch)
        if self._firmware:
            strokes = k
            est_ml = (est_base - (k - count_base) * self._stroke_pl) // PL_PER_NL / NL_PER_ML
        else:  # the counter counts picolitres of flow, and nothing estimates the reservoir
            strokes = np.zeros_like(k)
            est_ml = np.full(len(k), np.nan)
        cols = {
            "t_s": t / MS_PER_S,
            "strokes": strokes,
            "reservoir_actual_ml": plant.reservoir_nl / NL_PER_ML,
            "reservoir_estimated_ml": est_ml,
            "delivered_ml": plant.pumped_nl / NL_PER_ML,
            "delivered_mg": plant.delivered_ng / NG_PER_MG,
            "catheter_tip_mg_per_ml": plant.tip_conc_ng_per_nl,  # ng/nL = mg/mL
            # pL/day x ng/mL / (pL/mL) = ng/day; then mg/day
            "dose_rate_mg_per_day": rate.astype(np.float64) * conc / PL_PER_ML / NG_PER_MG,
            "alarm_low_reservoir": (bits >> AlarmId.LOW_RESERVOIR) & 1,
            "alarm_empty_reservoir": (bits >> AlarmId.EMPTY_RESERVOIR) & 1,
        }
        assert tuple(cols) == TRACE_COLUMNS, "the trace columns are defined in pumpsim.results.trace_columns"
        return cols


def alarm_bits(active: tuple[int, ...]) -> int:
    """The :attr:`WakeState.alarm_bits` of a set of active alarms."""
    bits = 0
    for a in active:
        bits |= 1 << a
    return bits
