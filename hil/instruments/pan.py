"""What lies on the emulated balance's pan: the solution that left the catheter tip of a simulated run.

:class:`DeliveryCurve` runs a scenario with pumpsim's own engine
(:func:`pumpsim.engine.Simulation`, the run ``pumpsim run`` makes) and keeps
the trace's volume out of the catheter tip (``delivered_ml``) and stroke
count against time, re-traced at :func:`resolution_ms` (every second for
runs of up to 2.3 days). Between two rows the strokes fired are spread
evenly over the interval and each moves an equal share of the volume, so
the curve is exact at every row and steps stroke by stroke in between: a
stroke's time is off by less than one row interval. After the end of the
run the volume stays where it was.

The volume out of the tip is all fluid, drug or the catheter's first
drug-free content alike (a balance weighs both), which is why it equals the
volume pumped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from pumpsim.engine import Simulation
from pumpsim.results.records import Event, Summary
from pumpsim.scenario import Scenario
from pumpsim.units import MS_PER_MIN, MS_PER_S

#: The finest row interval of the curve: strokes are placed exactly to within this.
FINEST_MS = MS_PER_S
#: Rows aimed at: a run of up to 2.3 days gets a row every second, a year one a minute.
TARGET_ROWS = 200_000
#: The coarsest row interval, unless that would keep more than MAX_ROWS rows.
COARSEST_MS = MS_PER_MIN
#: At most this many rows are kept (a 30-year run gets rows 8 min apart): 3 columns x 8 bytes x 2 M = 48 MB.
MAX_ROWS = 2_000_000


class _CurveSink:
    """A run's sink keeping only the three trace columns the pan needs."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._t: list[npt.NDArray[np.float64]] = []
        self._k: list[npt.NDArray[np.int64]] = []
        self._v: list[npt.NDArray[np.float64]] = []

    def event(self, ev: Event) -> None:
        pass  # the pan does not need the events

    def rows(self, cols: dict[str, np.ndarray]) -> None:
        self._t.append(np.asarray(cols["t_s"], dtype=np.float64))
        self._k.append(np.asarray(cols["strokes"], dtype=np.int64))
        self._v.append(np.asarray(cols["delivered_ml"], dtype=np.float64))

    def close(self, summary: Summary) -> None:
        pass

    def columns(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        t = np.concatenate(self._t) if self._t else np.zeros(1)
        k = np.concatenate(self._k) if self._k else np.zeros(1, dtype=np.int64)
        v = np.concatenate(self._v) if self._v else np.zeros(1)
        return np.rint(t * MS_PER_S).astype(np.int64), k, v


def resolution_ms(duration_ms: int) -> int:
    """The row interval of the curve for a run of *duration_ms*: about TARGET_ROWS rows, within 1 s .. 1 min
    (coarser only where a minute would keep more than MAX_ROWS rows). The scenario's own trace interval is not
    used: the pan needs stroke times, a trace file does not."""
    res = min(max(FINEST_MS, math.ceil(duration_ms / TARGET_ROWS)), COARSEST_MS)
    return max(res, math.ceil(duration_ms / MAX_ROWS))


@dataclass(frozen=True)
class DeliveryCurve:
    """Volume out of the catheter tip against simulated time (see the module docs)."""

    t_ms: npt.NDArray[np.int64]
    strokes: npt.NDArray[np.int64]
    volume_ml: npt.NDArray[np.float64]
    scenario: str = ""

    @classmethod
    def of(cls, scenario: Scenario, *, seed: int | None = None, duration_ms: int | None = None) -> DeliveryCurve:
        """Run *scenario* (its seed and duration unless given) and keep its delivery curve."""
        duration = scenario.duration_ms if duration_ms is None else duration_ms
        sc = replace(scenario, trace_interval_ms=resolution_ms(duration))
        sink = _CurveSink()
        Simulation(sc, seed=seed, sink=sink, duration_ms=duration).run()
        t, k, v = sink.columns()
        return cls(t, k, v, scenario.name)

    @property
    def end_ms(self) -> int:
        return int(self.t_ms[-1])

    def volume_ml_at(self, t_ms: float) -> float:
        """The volume out of the tip by simulated time *t_ms* (0 before the start, the last value after the end)."""
        t = self.t_ms
        if t_ms <= t[0]:
            return float(self.volume_ml[0]) if t_ms == t[0] else 0.0
        i = int(np.searchsorted(t, t_ms, side="right")) - 1
        if i >= len(t) - 1:
            return float(self.volume_ml[-1])
        t0, t1 = int(t[i]), int(t[i + 1])
        v0, v1 = float(self.volume_ml[i]), float(self.volume_ml[i + 1])
        n = int(self.strokes[i + 1] - self.strokes[i])
        if n <= 0:
            return v0
        # Stroke j (1..n) of the interval fires at t0 + j (t1 - t0) / n.
        fired = min(n, math.floor(n * (t_ms - t0) / (t1 - t0)))
        return v0 + fired * (v1 - v0) / n
