"""The drug reservoir as it really is (the firmware only estimates it).

Between refills the reservoir holds one well-mixed solution. Its state at any
stroke count is a pure function of the stroke stream and of the *epoch* (the
last refill): volume at the epoch start, concentration, and the stream total at
that moment. When the actual volume reaches zero a stroke moves nothing, and
the firmware does not know (REQ-PLANT-001).

Besides refills, two things start an epoch (:meth:`Reservoir.divert`): a free
flow that leaves the reservoir outside the drive counter (a valve-gated pump's
valves forced open by a magnet), and the outlet shutting or opening again (its
flow-activated valve). While the outlet is shut, counts move nothing
(REQ-PLANT-002).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from .mechanism import VolumeStream


@dataclass(frozen=True, slots=True)
class Epoch:
    """Reservoir state from one refill to the next.

    *k0* stroke count at the refill, *p0* stream total at k0 (nL), *v0* volume
    in the reservoir after the refill (nL), *conc_ng_per_nl* its concentration,
    *x0* volume pumped into the catheter before the refill (nL), *flowing*
    False while the pump's outlet is shut (counts move nothing).
    """

    k0: int
    p0: float
    v0: float
    conc_ng_per_nl: float
    x0: float
    flowing: bool = True

    @property
    def dry_level(self) -> float:
        """Stream total at which this epoch's reservoir is empty (p0 + v0)."""
        return self.p0 + self.v0


@dataclass(frozen=True, slots=True)
class RefillOutcome:
    """What a refill did in the plant (all volumes nL, masses ng)."""

    residual_nl: float
    aspirated_nl: float
    aspirated_ng: float
    added_nl: float
    overflow_nl: float
    overflow_ng: float
    volume_nl: float
    conc_ng_per_nl: float


#: ``Reservoir.wet_through`` while the outlet is shut: no count empties the reservoir.
_NEVER_DRY = sys.maxsize


class Reservoir:
    """Actual reservoir contents over a :class:`~.mechanism.VolumeStream`."""

    def __init__(self, stream: VolumeStream, capacity_nl: float, fill_nl: float, conc_ng_per_nl: float) -> None:
        if not 0 <= fill_nl <= capacity_nl:
            raise ValueError(f"fill_nl = {fill_nl}: expected 0..{capacity_nl} nL")
        self._stream = stream
        self.capacity_nl = capacity_nl
        self.epoch = Epoch(0, 0.0, fill_nl, conc_ng_per_nl, 0.0)
        self.epochs: list[Epoch] = [self.epoch]
        # Dry search state for the current epoch: strokes up to _scanned_k are
        # known not to empty it; _dry_k is the emptying stroke once found.
        self._scanned_k = 0
        self._dry_k: int | None = None if fill_nl > 0 else 0
        #: Stroke count up to which this epoch is known not to run dry:
        #: ``dry_stroke(a, b)`` is None for any b <= wet_through, so a caller
        #: can skip the call with one integer compare.
        self.wet_through = self._scanned_k if self._dry_k is None else self._dry_k - 1

    def pumped_in_epoch(self, k: int) -> float:
        """Volume that left the reservoir between the last refill and stroke count *k*.

        Exactly v0 once the reservoir is dry (the dry test is ``total >=
        p0 + v0``; see :meth:`is_dry_at`), so a dry reservoir reads 0, not a
        rounding residue; 0 while the outlet is shut.
        """
        e = self.epoch
        if not e.flowing:
            return 0.0
        cum = self._stream.cum_nl(k)
        return e.v0 if cum >= e.dry_level else min(cum - e.p0, e.v0)

    def volume_at(self, k: int) -> float:
        """Actual volume in the reservoir at stroke count *k* (>= the epoch start)."""
        return self.epoch.v0 - self.pumped_in_epoch(k)

    #: Strokes scanned ahead per search, so most queries are an integer compare.
    SCAN_AHEAD = 1 << 14

    def dry_stroke(self, k_from: int, k_to: int) -> int | None:
        """The stroke in (k_from, k_to] that empties the reservoir, if any.

        Each stroke of an epoch is scanned at most once, in vectorised blocks
        reaching ahead of the query, so a year of queries costs about one pass
        over the stroke stream.
        """
        if not self.epoch.flowing:
            return None
        if self._dry_k is None and k_to > self._scanned_k:
            e = self.epoch
            hi = max(k_to, self._scanned_k + self.SCAN_AHEAD)
            self._dry_k = self._stream.first_reaching(self._scanned_k, hi, e.dry_level)
            self._scanned_k = hi
            self.wet_through = hi if self._dry_k is None else self._dry_k - 1
        d = self._dry_k
        return d if d is not None and k_from < d <= k_to else None

    def is_dry_at(self, k: int) -> bool:
        """True if the reservoir is empty at stroke count *k* (checked stroke by stroke in exact mode)."""
        e = self.epoch
        if not e.flowing:
            return e.v0 <= 0
        return self._stream.cum_nl(k) >= e.dry_level

    def refill(
        self,
        k: int,
        added_nl: float,
        conc_ng_per_nl: float,
        aspirate: bool,
        unaspirated_nl: float,
    ) -> RefillOutcome:
        """Aspirate (unless *aspirate* is false), inject *added_nl*, mix; start a new epoch.

        Aspiration leaves *unaspirated_nl* behind (needle dead space, [U]).
        Whatever does not fit under the capacity overflows and is reported,
        not silently dropped.
        """
        e = self.epoch
        pumped = self.pumped_in_epoch(k)
        residual = e.v0 - pumped
        aspirated = max(0.0, residual - unaspirated_nl) if aspirate else 0.0
        left = residual - aspirated
        room = self.capacity_nl - left
        into = min(added_nl, max(room, 0.0))
        overflow = added_nl - into
        volume = left + into
        mass = left * e.conc_ng_per_nl + into * conc_ng_per_nl
        conc = mass / volume if volume > 0 else conc_ng_per_nl
        self._start_epoch(k, volume, conc, e.x0 + pumped, e.flowing)
        return RefillOutcome(
            residual_nl=residual,
            aspirated_nl=aspirated,
            aspirated_ng=aspirated * e.conc_ng_per_nl,
            added_nl=added_nl,
            overflow_nl=overflow,
            overflow_ng=overflow * conc_ng_per_nl,
            volume_nl=volume,
            conc_ng_per_nl=conc,
        )

    def divert(self, k: int, free_flow_nl: float, flowing: bool) -> float:
        """At stroke count *k*: *free_flow_nl* leaves for the catheter outside the counter, then the outlet is
        open (*flowing*) or shut. Starts an epoch; returns the volume that left (at most what was there).

        The catheter's pumped-volume axis moves on by that volume (plug flow:
        the same volume leaves its tip).
        """
        e = self.epoch
        pumped = self.pumped_in_epoch(k)
        left = e.v0 - pumped
        out = min(max(free_flow_nl, 0.0), left)
        self._start_epoch(k, left - out, e.conc_ng_per_nl, e.x0 + pumped + out, flowing)
        return out

    @property
    def flowing(self) -> bool:
        """False while the pump's outlet is shut."""
        return self.epoch.flowing

    def _start_epoch(self, k: int, volume: float, conc: float, x0: float, flowing: bool) -> None:
        new = Epoch(k, self._stream.cum_nl(k), volume, conc, x0, flowing)
        self.epoch = new
        self.epochs.append(new)
        self._scanned_k = k
        if not flowing:
            self._dry_k = None
            self.wet_through = _NEVER_DRY
            return
        self._dry_k = None if volume > 0 else k
        self.wet_through = k if volume > 0 else k - 1
