"""The valve-gated mechanism (Prometra II): fixed aliquots through two valves, and its flow-activated valve.

**Aliquots.** The drug reservoir is kept under pressure; an inlet valve and an
outlet valve open alternately and release fixed aliquots ([C] Prometra II
manual p. 8, domain.md §1.2). The volume of one aliquot is set by the
chamber between the valves (an accumulator; that such a chamber exists and
its volume are [U], so ``aliquot_volume`` is a named parameter). The
firmware times the aliquots the way a peristaltic pump's firmware times
strokes, and counts them; each really moves what the
:class:`~.mechanism.StrokeStream` says (nominal aliquot x (1 + calibration
error) x (1 + scatter)).

**A strong magnetic field** can open both valves at once, and the pressurised
reservoir then flows freely into the catheter ([C] manual p. 8). The
Prometra II has a **flow-activated valve** (FAV) that senses that high flow
and shuts it after **at most 10 uL**; it then stays shut, blocking all
delivery, until it is **manually reset** ([C] manual p. 14). Model:

* when the field appears and the FAV is open: a free flow of ``fav_volume``
  (default 10 uL, the [C] worst case) leaves the reservoir at once, and the
  outlet shuts;
* while shut, aliquots the firmware still fires move nothing (the firmware is
  not told: it keeps counting them);
* a reset (a visit's ``reset_valve``) reopens the outlet; if the field is
  still there, the FAV trips again at once after another free flow.

Temperature and ambient pressure are not modelled for this pump ([U]: no
specification found, §5.2; Prometra lists hyperbaric exposure as a
contraindication [C] §1.2 without saying what it does).
"""

from __future__ import annotations

from typing import Final

from .environment import Environment
from .mechanism import StrokeStream
from .principle import NOTHING, MechanismKind, Response

#: Most volume the flow-activated valve lets through before it shuts, nL ([C] Prometra II manual p. 14).
FAV_MAX_NL = 10_000


class ValveGated:
    """A valve-gated pump over its aliquot *stream*, with a flow-activated valve passing *fav_volume_nl*.

    Raises ValueError for a negative *fav_volume_nl*.
    """

    kind: Final[MechanismKind] = "valve_gated"
    self_driven: Final = False

    def __init__(self, stream: StrokeStream, fav_volume_nl: float = FAV_MAX_NL) -> None:
        if fav_volume_nl < 0:
            raise ValueError(f"fav_volume_nl = {fav_volume_nl}: expected >= 0 nL")
        self.stream = stream
        self.fav_volume_nl = fav_volume_nl
        #: True while the flow-activated valve is shut (from a trip until a reset).
        self.fav_shut = False
        self._magnet = False

    def respond(self, env: Environment) -> Response:
        """REQ-PLANT-002: a field that appears while the FAV is open trips it (free flow, then shut)."""
        arriving = env.magnet and not self._magnet
        self._magnet = env.magnet
        return self._trip() if arriving and not self.fav_shut else NOTHING

    def reset(self) -> Response:
        """Reopen a shut FAV (in a field it trips again at once); NOTHING if it is open."""
        if not self.fav_shut:
            return NOTHING
        self.fav_shut = False
        return self._trip() if self._magnet else Response(outlet_open=True)

    def _trip(self) -> Response:
        self.fav_shut = True
        return Response(free_flow_nl=self.fav_volume_nl, outlet_open=False)
