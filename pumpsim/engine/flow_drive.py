"""The drive of a self-driven plant: a constant-flow pump's counter, paced at the rate its physics gives.

A constant-flow pump has no controller, so nothing programs its counter; the
engine does, at the rate the mechanism's flow law gives for the environment
in force (:meth:`pumpsim.plant.PumpPlant.set_environment`). The counter
counts picolitres (:data:`pumpsim.plant.constant_flow.PL_PER_COUNT`) and is
paced by the same integer Bresenham program a motor's stroke timer runs
(``firmware_model.MotorProgram``, one "stroke" = one count), so the plant's
bulk arithmetic (the dry search, the trace) works unchanged, and a rate change
carries the fraction of a count already accrued: nothing is lost or gained at
a switch.
"""

from __future__ import annotations

from firmware_model import MotorProgram

from ..plant.constant_flow import PL_PER_COUNT
from ..units import MS_PER_DAY
from .ports import PlantPort

#: Pacing credit one count costs (pL x ms/day), as a stroke costs its volume x ms/day.
COUNT_COST = PL_PER_COUNT * MS_PER_DAY


class FlowDrive:
    """Paces *plant*'s counter until *end_ms* (the end of the run) at the rate it is given."""

    def __init__(self, plant: PlantPort, end_ms: int) -> None:
        self._plant = plant
        self._end_ms = end_ms
        #: The rate in force, pL/day.
        self.rate_pl_per_day = 0
        self._carry = 0  # pacing credit of the partial count accrued, in [0, COUNT_COST)

    def set_rate(self, now_ms: int, rate_pl_per_day: int) -> None:
        """From *now_ms* (the plant's present) the counter runs at *rate_pl_per_day* (0: stopped)."""
        timer = self._plant.timer
        prog = timer.program
        if prog is not None:
            credit = prog.credit_at(now_ms) - (timer.count - timer.base) * COUNT_COST
            self._carry = min(max(credit, 0), COUNT_COST - 1)
        self.rate_pl_per_day = rate_pl_per_day
        if rate_pl_per_day <= 0:
            timer.stop()
            return
        counts = (self._carry + rate_pl_per_day * (self._end_ms - now_ms)) // COUNT_COST
        timer.load(MotorProgram(now_ms, counts, rate_pl_per_day, COUNT_COST, self._carry))
