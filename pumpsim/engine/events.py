"""The events the engine writes itself, not decoded from the firmware's log: clinic visits and a dry reservoir.

Pure functions of what happened, so that anything recording a run builds the
same lines: the engine, and a bench that serves the plant to a device under
test and records its truth (``pumpsim hil serve``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..plant import RefillOutcome
from ..results.records import DryEvent, VisitEvent
from ..scenario.model import Visit
from ..units import MS_PER_S, NG_PER_MG, NL_PER_ML


@dataclass(frozen=True, slots=True)
class VisitRefill:
    """The refill part of a visit: concentration injected, what it did in the plant, what the clinician entered.

    *entered_nl* is None for a pump without firmware: nobody is told the volume.
    """

    conc_ng_per_ml: int
    outcome: RefillOutcome
    entered_nl: int | None


def entered_nl(v: Visit, estimate_nl: int, capacity_nl: int) -> int:
    """The volume the clinician enters for refill visit *v* (nL).

    After a full aspiration, the volume injected; otherwise the controller's
    estimate plus the injection (the estimate can sit up to a stroke below
    zero after running empty, hence the clamp at 0). Never above the
    reservoir's *capacity_nl*.
    """
    assert v.refill_nl is not None, "entered_nl is for refill visits"
    entered = v.refill_nl if v.aspirate else max(estimate_nl, 0) + v.refill_nl
    return min(entered, capacity_nl)


def visit_event(now_ms: int, v: Visit, refill: VisitRefill | None) -> VisitEvent:
    """The ``visit`` event of *v* at *now_ms*, with its refill fields if it refilled."""
    ev: VisitEvent = {"t_s": now_ms / MS_PER_S, "t_ms": now_ms, "kind": "visit", "origin": v.origin}
    if refill is not None and v.refill_nl is not None:
        out = refill.outcome
        ev["refill_ml"] = v.refill_nl / NL_PER_ML
        ev["aspirate"] = v.aspirate
        ev["concentration_mg_per_ml"] = refill.conc_ng_per_ml / NG_PER_MG
        ev["residual_actual_ml"] = out.residual_nl / NL_PER_ML
        ev["aspirated_ml"] = out.aspirated_nl / NL_PER_ML
        ev["overflow_ml"] = out.overflow_nl / NL_PER_ML
        if refill.entered_nl is not None:
            ev["entered_ml"] = refill.entered_nl / NL_PER_ML
    return ev


def dry_event(now_ms: int, strokes: int) -> DryEvent:
    """The ``dry`` event: the real reservoir emptied at stroke count *strokes*."""
    return {"t_s": now_ms / MS_PER_S, "t_ms": now_ms, "kind": "dry", "strokes": strokes}
