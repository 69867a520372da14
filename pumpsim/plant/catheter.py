"""The catheter: a plug-flow delay line between the pump outlet and the CSF.

Fluid leaves the tip in the order it entered (plug flow), so a change of drug
concentration reaches the patient only after the catheter's internal volume
(plus the pump's internal tubing) has been pushed through. Prometra catheter:
0.0026 mL/cm, 110 cm as supplied ([C] Prometra II manual p. 33).

The state is a list of segments along the *pumped-volume axis* x (nL pumped
into the catheter since t = 0): segment i starts at ``xs[i]`` with cumulative
mass ``ms[i]`` and concentration ``cs[i]`` (ng/nL). The initial content sits at
x in [-V, 0]. The mass that has left the tip when x nL have been pumped is
``M(x - V)``, with M the cumulative mass along the axis. Dispersion (mixing at
high flow, Medtronic priming-bolus labeling update) is not modelled yet.
"""

from __future__ import annotations

import bisect

import numpy as np


class Catheter:
    """Plug-flow catheter of internal *volume_nl* holding *initial_conc_ng_per_nl* at start."""

    def __init__(self, volume_nl: float, initial_conc_ng_per_nl: float) -> None:
        if volume_nl < 0:
            raise ValueError(f"volume_nl = {volume_nl}: expected >= 0 nL")
        self.volume_nl = volume_nl
        self.xs: list[float] = [-volume_nl]
        self.ms: list[float] = [0.0]
        self.cs: list[float] = [initial_conc_ng_per_nl]

    def enter(self, x_nl: float, conc_ng_per_nl: float) -> None:
        """From pumped volume *x_nl* on, fluid of *conc_ng_per_nl* enters the catheter."""
        if conc_ng_per_nl == self.cs[-1]:
            return
        if x_nl < self.xs[-1]:
            raise ValueError(f"x_nl = {x_nl}: catheter input must move forward (last {self.xs[-1]})")
        m = self._mass_along(x_nl)
        if x_nl == self.xs[-1]:
            self.cs[-1] = conc_ng_per_nl
            return
        self.xs.append(x_nl)
        self.ms.append(m)
        self.cs.append(conc_ng_per_nl)

    def _mass_along(self, x: float) -> float:
        i = bisect.bisect_right(self.xs, x) - 1
        i = max(i, 0)
        return self.ms[i] + self.cs[i] * (x - self.xs[i])

    def mass_along(self, xs: np.ndarray) -> np.ndarray:
        """Cumulative mass M(x) along the axis for an array of positions (ng)."""
        starts = np.asarray(self.xs)
        i = np.searchsorted(starts, xs, side="right") - 1
        np.maximum(i, 0, out=i)
        mass: np.ndarray = np.asarray(self.ms)[i] + np.asarray(self.cs)[i] * (xs - starts[i])
        return mass

    def delivered_mass(self, pumped_nl: np.ndarray) -> np.ndarray:
        """Drug mass out of the tip (ng) when *pumped_nl* has been pumped in."""
        return self.mass_along(pumped_nl - self.volume_nl)

    def content_mass(self, pumped_nl: np.ndarray) -> np.ndarray:
        """Drug mass inside the catheter (ng) when *pumped_nl* has been pumped in."""
        content: np.ndarray = self.mass_along(pumped_nl) - self.mass_along(pumped_nl - self.volume_nl)
        return content

    def tip_conc(self, pumped_nl: float) -> float:
        """Concentration (ng/nL) of the fluid now leaving the tip."""
        i = max(bisect.bisect_right(self.xs, pumped_nl - self.volume_nl) - 1, 0)
        return self.cs[i]

    def tip_conc_many(self, pumped_nl: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`tip_conc` for an array of pumped volumes."""
        starts = np.asarray(self.xs)
        i = np.maximum(np.searchsorted(starts, pumped_nl - self.volume_nl, side="right") - 1, 0)
        conc: np.ndarray = np.asarray(self.cs)[i]
        return conc
