"""The peristaltic mechanism: how much each motor stroke really moves.

Each stroke moves ``stroke_volume * (1 + calibration_error) * (1 + cv * z)``
nanolitres, with ``z`` standard normal from a seeded numpy Generator and the
result clipped at zero. The calibration error is the per-pump systematic error
(+ means the pump delivers more than the firmware believes); the coefficient of
variation models stroke-to-stroke scatter. Both default to zero; real values
are unconfirmed ([U], domain.md section 12), so they are scenario parameters.

Volumes are generated in chunks and kept as running totals, so "volume of
strokes i..j" is one subtraction whatever the number of strokes. This is what
lets the engine integrate thousands of strokes per wake-up at the cost of an
array lookup, and what makes bulk and exact (stroke-by-stroke) runs identical:
both read the same totals.

The valve-gated mechanism (:mod:`.valve_gated`) uses the same stream for its
aliquots. Anything that answers the four questions of :class:`VolumeStream`
can drive the reservoir; the constant-flow pump's :class:`~.constant_flow.UniformStream`
is the other one.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VolumeStream(Protocol):
    """Cumulative volume moved by the first *k* counts of the plant's drive counter (strokes, aliquots, pL).

    The reservoir and the trace read volumes only through these methods, so
    they do not care what a count is.
    """

    def cum_nl(self, k: int) -> float:
        """Total volume of counts 1..*k* (k >= 0), nL; never decreasing in k."""
        ...

    def cum_many(self, ks: np.ndarray) -> np.ndarray:
        """:meth:`cum_nl` for an int64 array of counts, with the same float results."""
        ...

    def first_reaching(self, k_from: int, k_to: int, level: float) -> int | None:
        """Smallest k in (k_from, k_to] with ``cum_nl(k) >= level``, or None."""
        ...

    def release_before(self, k: int) -> None:
        """Counts below *k* will not be asked about again."""
        ...

#: Strokes generated per chunk: ~16 days at 4,000 strokes a day.
CHUNK = 1 << 16


class StrokeStream:
    """Cumulative volume of strokes 1..k, nL, generated lazily in chunks.

    ``cum_nl(0) == 0``; ``cum_nl(k)`` is the total moved by the first *k*
    strokes. Chunks wholly below :meth:`release_before` are dropped, so memory
    stays flat over a ten-year run.
    """

    def __init__(
        self,
        stroke_volume_nl: float,
        calibration_error: float,
        stroke_cv: float,
        rng: np.random.Generator,
    ) -> None:
        if stroke_volume_nl <= 0:
            raise ValueError(f"stroke_volume_nl = {stroke_volume_nl}: expected > 0 nL")
        if calibration_error <= -1:
            raise ValueError(f"calibration_error = {calibration_error}: expected > -1 (i.e. > -100 %)")
        if stroke_cv < 0:
            raise ValueError(f"stroke_cv = {stroke_cv}: expected >= 0")
        self.mean_nl = stroke_volume_nl * (1.0 + calibration_error)
        self.cv = stroke_cv
        self._rng = rng
        self._chunks: dict[int, np.ndarray] = {}
        self._next_chunk = 0
        self._carry = 0.0  # total after the last generated chunk
        self._released = 0

    def _chunk(self, j: int) -> np.ndarray:
        while self._next_chunk <= j:
            # In place, one buffer: this loop is most of the cost of a bulk run.
            if self.cv > 0:
                vols = self._rng.standard_normal(CHUNK)
                vols *= self.mean_nl * self.cv
                vols += self.mean_nl
                np.maximum(vols, 0.0, out=vols)
            else:
                vols = np.full(CHUNK, self.mean_nl)
            vols[0] += self._carry
            cum = np.cumsum(vols, out=vols)
            self._carry = float(cum[-1])
            self._chunks[self._next_chunk] = cum
            self._next_chunk += 1
        try:
            return self._chunks[j]
        except KeyError:
            raise IndexError(f"stroke chunk {j} was released") from None

    def cum_nl(self, k: int) -> float:
        """Total volume of strokes 1..*k* (k >= 0)."""
        if k <= 0:
            return 0.0
        j, i = divmod(k - 1, CHUNK)
        return float(self._chunk(j)[i])

    def cum_many(self, ks: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`cum_nl` for an int64 array of stroke counts."""
        out = np.zeros(len(ks))
        pos = ks > 0
        if not pos.any():
            return out
        idx = ks[pos] - 1
        js = idx // CHUNK
        vals = np.empty(len(idx))
        for j in np.unique(js):
            sel = js == j
            vals[sel] = self._chunk(int(j))[idx[sel] % CHUNK]
        out[pos] = vals
        return out

    def first_reaching(self, k_from: int, k_to: int, level: float) -> int | None:
        """Smallest k in (k_from, k_to] with ``cum_nl(k) >= level``, or None.

        Totals never decrease (stroke volumes are clipped at zero), so this is
        a binary search per chunk. The comparison is the one
        :meth:`Reservoir.is_dry_at` makes stroke by stroke, so bulk and exact
        runs agree to the last bit.
        """
        k = k_from + 1
        while k <= k_to:
            j, i = divmod(k - 1, CHUNK)
            cum = self._chunk(j)
            stop = min(CHUNK, i + (k_to - k) + 1)
            if cum[stop - 1] >= level:
                return k + int(np.searchsorted(cum[i:stop], level, side="left"))
            k += stop - i
        return None

    @property
    def chunks_held(self) -> int:
        """Chunks of stroke volumes in memory (each :data:`CHUNK` strokes)."""
        return len(self._chunks)

    def release_before(self, k: int) -> None:
        """Forget chunks holding only strokes below *k* (they will not be queried again)."""
        j_keep = max(0, (k - 1) // CHUNK)
        if j_keep <= self._released:
            return
        for j in range(self._released, j_keep):
            self._chunks.pop(j, None)
        self._released = max(self._released, j_keep)
