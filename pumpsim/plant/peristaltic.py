"""The peristaltic mechanism (SynchroMed II): motor strokes, each moving a slightly random volume.

The firmware programs the motor's stroke timer; each stroke moves what the
:class:`~.mechanism.StrokeStream` says (nominal volume x (1 + calibration
error) x (1 + scatter)). A peristaltic pump's delivery does not depend on
back-pressure within limits ([C] domain.md §1.5), and no temperature or
pressure specification was found ([U] §5.2), so the environment does not
change its stroke volume. A magnetic field stops its rotor ([C] §1.1): that
is the faults' ``mri`` (a motor stall), not a change of the stroke stream, so
:meth:`Peristaltic.respond` changes nothing.
"""

from __future__ import annotations

from typing import Final

from .environment import Environment
from .mechanism import StrokeStream
from .principle import NOTHING, MechanismKind, Response


class Peristaltic:
    """A motor-driven peristaltic pump over *stream* (see :class:`~.principle.Mechanism`)."""

    kind: Final[MechanismKind] = "peristaltic"
    self_driven: Final = False

    def __init__(self, stream: StrokeStream) -> None:
        self.stream = stream

    def respond(self, env: Environment) -> Response:
        return NOTHING

    def reset(self) -> Response:
        return NOTHING
