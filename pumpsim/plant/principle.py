"""Pumping principles behind one small interface the plant drives.

A pump moves drug by one of three principles (domain.md §1.5), each a
module implementing :class:`Mechanism`:

========================  ============================================  ======================
principle                 what moves the drug                           module
========================  ============================================  ======================
``peristaltic``           motor strokes the firmware programs           :mod:`.peristaltic`
``valve_gated``           aliquots through two valves, firmware-timed   :mod:`.valve_gated`
``constant_flow``         propellant pressure through a restrictor      :mod:`.constant_flow`
========================  ============================================  ======================

What they share is a drive counter (the stroke timer's count: strokes,
aliquots, or picolitres for the constant-flow pump) and a
:class:`~.mechanism.VolumeStream` that says how much the first *k* counts
moved. What differs is who advances the counter (the firmware's motor
programs, or for a *self-driven* mechanism the physics: no controller at all)
and how the mechanism answers a change of :class:`~.environment.Environment`
or a clinician's reset: with a :class:`Response` the plant applies to the
reservoir, the outlet and the drive (:meth:`~.pump.PumpPlant.set_environment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

from .environment import Environment
from .mechanism import VolumeStream

MechanismKind = Literal["peristaltic", "valve_gated", "constant_flow"]

#: The pumping principles, in the order the docs list them.
MECHANISMS: Final[tuple[MechanismKind, ...]] = ("peristaltic", "valve_gated", "constant_flow")


@dataclass(frozen=True, slots=True)
class Response:
    """What a mechanism does at a change of environment or a reset; the plant applies it.

    *free_flow_nl*: volume that leaves the reservoir at once, outside the
    drive counter (a valve-gated pump's valves forced open by a magnet).
    *outlet_open*: False shuts the outlet (nothing leaves the pump, whatever
    the counter does), True opens it again, None leaves it as it is.
    *rate_pl_per_day*: a self-driven mechanism's flow rate from now on (None:
    not self-driven).
    """

    free_flow_nl: float = 0.0
    outlet_open: bool | None = None
    rate_pl_per_day: int | None = None

    @property
    def changes_outflow(self) -> bool:
        """True if the reservoir's outflow changes (free flow, or the outlet opened or shut)."""
        return self.free_flow_nl > 0 or self.outlet_open is not None


#: A response that changes nothing.
NOTHING = Response()


class Mechanism(Protocol):
    """One pumping principle: its volume stream and how it answers the environment."""

    @property
    def kind(self) -> MechanismKind:
        """Which principle (one of :data:`MECHANISMS`)."""
        ...

    @property
    def stream(self) -> VolumeStream:
        """Cumulative volume moved by the first k counts of the drive counter."""
        ...

    @property
    def self_driven(self) -> bool:
        """True if no controller drives it: the plant's physics sets its rate (:meth:`respond` gives it)."""
        ...

    def respond(self, env: Environment) -> Response:
        """The mechanism's answer to the environment *env* from now on (also called once at t = 0)."""
        ...

    def reset(self) -> Response:
        """A clinician's reset (a valve-gated pump's flow-activated valve); NOTHING where there is none."""
        ...
