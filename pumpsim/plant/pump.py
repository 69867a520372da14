"""The pump as a physical whole: stroke timer, stroke stream, reservoir, catheter, battery.

This is the plant the engine drives. The engine moves its present time
forward (:meth:`PumpPlant.advance`; the pump's clock, which the firmware's RTC
reads) and asks it about the stroke arithmetic between now and a later time:

* the strokes fired by now (:attr:`PumpPlant.strokes`) or by a later time;
* **bulk mode**: the time of the stroke that empties the reservoir before a
  later time, found with one vectorised search over the stroke stream's
  running totals (:meth:`PumpPlant.dry_stroke_ms`);
* **exact mode**: whether the reservoir is empty at the count reached, checked
  after every stroke (:meth:`PumpPlant.check_dry`).

Both modes compare the same running totals with the same expression
(``cum(k) >= p0 + v0``), which is why their outputs are identical.
Physical values for the trace are computed here too, vectorised
(:meth:`PumpPlant.trace_values`), and the present state for the summary
(:meth:`PumpPlant.state`). Units: nL, ng, ng/nL, ms.

The plant's pumping principle is its :attr:`PumpPlant.mechanism`
(:mod:`.principle`): the stream it reads volumes from, and how it answers a
change of environment (:meth:`PumpPlant.set_environment`) or a clinician's
reset (:meth:`PumpPlant.reset_mechanism`). The plant applies the answer: a free
flow out of the reservoir, the outlet shut or opened (both start a reservoir
epoch). A self-driven mechanism's new rate is for whoever paces its counter
(the engine), since the plant does not make motor programs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic

import numpy as np

from .battery import Battery
from .catheter import Catheter
from .environment import NOMINAL, Environment
from .mechanism import StrokeStream
from .peristaltic import Peristaltic
from .principle import Mechanism, Response
from .reservoir import RefillOutcome, Reservoir
from .timer import P, StrokeTimer


@dataclass(frozen=True, slots=True)
class PlantState:
    """The plant at one instant (nL, ng)."""

    #: Motor strokes or aliquots since t = 0 (0 for a self-driven pump, whose counter counts picolitres).
    strokes: int
    #: Volume pumped into the catheter since t = 0 (= volume out of the tip, plug flow).
    pumped_nl: float
    reservoir_nl: float
    reservoir_conc_ng_per_nl: float
    delivered_ng: float
    catheter_content_ng: float


@dataclass(frozen=True, slots=True)
class PlantColumns:
    """Physical values at a batch of stroke counts, one array each (nL, ng, ng/nL)."""

    reservoir_nl: np.ndarray
    pumped_nl: np.ndarray
    delivered_ng: np.ndarray
    tip_conc_ng_per_nl: np.ndarray


class PumpPlant(Generic[P]):
    """The plant of one run. Generic in the motor program type it is driven with."""

    def __init__(self, mechanism: Mechanism | StrokeStream, reservoir: Reservoir, catheter: Catheter,
                 battery: Battery) -> None:
        """The plant of *mechanism* (a :class:`~.mechanism.StrokeStream` stands for a peristaltic pump)."""
        self.timer: StrokeTimer[P] = StrokeTimer()
        if isinstance(mechanism, StrokeStream):
            mechanism = Peristaltic(mechanism)
        self.mechanism: Mechanism = mechanism
        self.stream = mechanism.stream
        self.reservoir = reservoir
        self.catheter = catheter
        self.battery = battery
        #: True from the stroke that emptied the reservoir until a refill puts fluid back.
        self.dry = False
        #: The environment in force (nominal until :meth:`set_environment`).
        self.environment = NOMINAL

    # ------------------------------------------------------------ time and strokes

    @property
    def now_ms(self) -> int:
        """The plant's present time (ms since t = 0)."""
        return self.timer.now_ms

    def advance(self, t_ms: int) -> None:
        """Move the present to *t_ms* (>= now); the strokes due by then have fired."""
        self.timer.advance(t_ms)

    @property
    def strokes(self) -> int:
        """Motor strokes since t = 0 (the stroke counter)."""
        return self.timer.count

    def dry_stroke_ms(self, until_ms: int) -> int | None:
        """Bulk mode: time of the stroke in (now, until] that empties the reservoir, or None.

        The running program must not change in between. Most calls end at an
        integer compare: the reservoir publishes up to which stroke it is known
        not to run dry (:attr:`Reservoir.wet_through`), and the program's last
        stroke is usually below it.
        """
        timer = self.timer
        if timer.program is None or timer.base + timer.program.strokes <= self.reservoir.wet_through:
            return None
        k_until = timer.count_at(until_ms)
        if k_until <= timer.count or k_until <= self.reservoir.wet_through:
            return None
        k_dry = self.reservoir.dry_stroke(timer.count, k_until)
        return None if k_dry is None else timer.time_of_count(k_dry)

    def check_dry(self) -> bool:
        """True if the reservoir is empty now and was not yet known to be (then it is, from now).

        Exact mode calls this after every stroke; bulk mode at the time
        :meth:`dry_stroke_ms` found, where it is true by construction.
        """
        if self.dry or not self.reservoir.is_dry_at(self.timer.count):
            return False
        self.dry = True
        return True

    def release_strokes_before(self, k: int) -> None:
        """Nobody will ask about strokes below *k* again: the stream may forget them.

        The current epoch's start is kept whatever *k* is: the dry search may
        still scan from there.
        """
        self.stream.release_before(min(k, self.reservoir.epoch.k0))

    # ------------------------------------------------------------ environment

    def set_environment(self, env: Environment) -> Response:
        """From now on the plant is in *env*: the mechanism's answer is applied and returned.

        A free flow leaves the reservoir now (and may empty it: check with
        :meth:`check_dry`); a shut outlet stops every count from moving drug.
        A self-driven mechanism's ``rate_pl_per_day`` is left to the caller.
        """
        self.environment = env
        return self._apply(self.mechanism.respond(env))

    def reset_mechanism(self) -> Response:
        """A clinician's reset of the mechanism (a shut flow-activated valve reopens); applied and returned."""
        return self._apply(self.mechanism.reset())

    def _apply(self, r: Response) -> Response:
        if r.changes_outflow:
            flowing = self.reservoir.flowing if r.outlet_open is None else r.outlet_open
            moved = self.reservoir.divert(self.timer.count, r.free_flow_nl, flowing)
            if moved != r.free_flow_nl:
                r = Response(moved, r.outlet_open, r.rate_pl_per_day)
        return r

    # ------------------------------------------------------------ refills

    def refill(self, added_nl: float, conc_ng_per_nl: float, aspirate: bool, unaspirated_nl: float) -> RefillOutcome:
        """Refill now (see :meth:`Reservoir.refill`); the new mix enters the catheter from here on."""
        out = self.reservoir.refill(self.timer.count, added_nl, conc_ng_per_nl, aspirate, unaspirated_nl)
        self.catheter.enter(self.reservoir.epoch.x0, out.conc_ng_per_nl)
        if out.volume_nl > 0:
            self.dry = False
        return out

    @property
    def epoch_index(self) -> int:
        """Index of the current reservoir epoch in ``reservoir.epochs`` (0 before the first refill)."""
        return len(self.reservoir.epochs) - 1

    # ------------------------------------------------------------ outputs

    def state(self) -> PlantState:
        """The plant now."""
        k = self.timer.count
        e = self.reservoir.epoch
        pumped_in = self.reservoir.pumped_in_epoch(k)
        x = e.x0 + pumped_in
        at = np.array([x])
        return PlantState(
            strokes=0 if self.mechanism.self_driven else k,
            pumped_nl=x,
            reservoir_nl=e.v0 - pumped_in,
            reservoir_conc_ng_per_nl=e.conc_ng_per_nl,
            delivered_ng=float(self.catheter.delivered_mass(at)[0]),
            catheter_content_ng=float(self.catheter.content_mass(at)[0]),
        )

    def trace_values(self, k: np.ndarray, epoch: np.ndarray) -> PlantColumns:
        """Physical values at stroke counts *k* in reservoir epochs *epoch* (int64 arrays, same length).

        Vectorised, and the one place trace values are computed. A dry
        reservoir reads exactly 0 (the dry test is the one :meth:`check_dry` uses).
        """
        epochs = self.reservoir.epochs
        p0 = np.array([e.p0 for e in epochs])[epoch]
        v0 = np.array([e.v0 for e in epochs])[epoch]
        x0 = np.array([e.x0 for e in epochs])[epoch]
        cum = self.stream.cum_many(k)
        pumped_in = np.where(cum >= p0 + v0, v0, np.minimum(cum - p0, v0))
        if not all(e.flowing for e in epochs):
            flowing = np.array([e.flowing for e in epochs])[epoch]
            pumped_in = np.where(flowing, pumped_in, 0.0)
        x = x0 + pumped_in
        return PlantColumns(
            reservoir_nl=v0 - pumped_in,
            pumped_nl=x,
            delivered_ng=self.catheter.delivered_mass(x),
            tip_conc_ng_per_nl=self.catheter.tip_conc_many(x),
        )
