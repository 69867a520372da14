"""The emulated balance's weighing cell: load, noise, drift, evaporation, settling, range, zero and tare.

All of it runs on the balance's own clock (wall seconds since the emulator
started): the balance is a real instrument beside a pump that may be
fast-forwarded. The load on the pan is a function of that clock given by the
emulator (:mod:`.pan`); this module turns it into what the balance shows:

* **gross** = load - zero point (the zero point is 0 g at power-on and is set
  by ``Z``); **net** = gross - tare;
* a reading = net + Gaussian noise (the repeatability), rounded to the
  readability; in the balance's unit;
* **stable** when the load moved by at most *stable_band_g* over the last
  *settling_s* seconds (the noise does not count: the balance's filter sees
  through it); no transient shape is modelled, a dynamic reading is the load
  at that instant plus noise;
* **overload** when gross > capacity, **underload** when gross < -underload
  limit (a pan lifted off); zero setting only within +/- the zero range,
  taring only for a gross from 0 to capacity.

The defaults are those of a semi-micro balance (readability 0.01 mg); every
number but the readability is a named parameter marked [U] in
:data:`PARAM_DOCS` (docs/balance.md prints that table).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, fields

from . import mtsics as m

#: Seconds per hour.
S_PER_H = 3600.0
#: Zero range and underload limit as a fraction of the capacity (2 %) [U].
ZERO_RANGE = 0.02


@dataclass(frozen=True, slots=True)
class BalanceParams:
    """The emulated balance (see :data:`PARAM_DOCS` for each field's meaning, unit and source)."""

    readability_g: float = 1e-5
    capacity_g: float = 220.0
    repeatability_g: float = 1.5e-5
    settling_s: float = 2.0
    stable_band_g: float = 2e-5
    stable_timeout_s: float = 10.0
    drift_g_per_h: float = 0.0
    evaporation_g_per_h: float = 0.0
    zero_range_g: float = ZERO_RANGE * 220.0
    underload_g: float = ZERO_RANGE * 220.0
    vessel_g: float = 0.0
    unit: str = "g"
    model: str = "pumpsim SM220"
    serial: str = "1000000001"
    software: str = "1.00 pumpsim"
    software_id: str = "PS0001A"
    two_stage: bool = False
    repeat_hz: float = 10.0

    def __post_init__(self) -> None:
        for name in ("readability_g", "capacity_g", "repeat_hz"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} = {getattr(self, name)}: expected > 0")
        for name in ("repeatability_g", "settling_s", "stable_band_g", "stable_timeout_s", "evaporation_g_per_h",
                     "zero_range_g", "underload_g"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} = {getattr(self, name)}: expected >= 0")
        if self.unit not in m.GRAMS_PER_UNIT:
            raise ValueError(f"unit = {self.unit!r}: expected one of {', '.join(m.GRAMS_PER_UNIT)}")
        for name in ("model", "serial", "software", "software_id"):
            text = getattr(self, name)
            if '"' in text or not text.isprintable() or not text.isascii() or not 0 < len(text) <= 40:
                raise ValueError(f"{name} = {text!r}: expected 1 to 40 printable ASCII characters without quotes")

    @property
    def decimals(self) -> int:
        """Decimals shown in the balance's unit."""
        return m.decimals_for(self.readability_g / m.GRAMS_PER_UNIT[self.unit])


#: Per field: (unit, meaning, source). "[U]": a plausible value for a semi-micro balance, not from a data sheet.
PARAM_DOCS: dict[str, tuple[str, str, str]] = {
    "readability_g": ("g", "smallest step of a reading (0.01 mg)", "[C] issue 12: semi-micro balance"),
    "capacity_g": ("g", "maximum load; above it `S +` (overload)", "[U] typical 220 g semi-micro"),
    "repeatability_g": ("g", "standard deviation of the reading noise", "[U] typical semi-micro spec"),
    "settling_s": ("s", "time the load must hold still before a reading is stable", "[U]"),
    "stable_band_g": ("g", "how far the load may move within the settling time and still be stable (2 digits)",
                      "[U]"),
    "stable_timeout_s": ("s", "`S`, `Z`, `T` wait this long for stability, then answer `I`", "[U]"),
    "drift_g_per_h": ("g/h", "zero drift of the cell (adds to every reading)", "[U] ideal: 0"),
    "evaporation_g_per_h": ("g/h", "mass lost from the collected solution (scenario only); an oil film keeps "
                                   "it small", "[U] ideal: 0"),
    "zero_range_g": ("g", "`Z` works within +/- this of the power-on zero (2 % of capacity)", "[U]"),
    "underload_g": ("g", "a gross below minus this is underload `S -` (pan lifted)", "[U]"),
    "vessel_g": ("g", "what sits on the pan from the start (a beaker); negative: no pan", "-"),
    "unit": ("", "unit of the replies (g, mg, kg, ...)", "-"),
    "model": ("", "type in `I2`", "-"),
    "serial": ("", "serial number (`I4`, `@`)", "-"),
    "software": ("", "software version (`I3`)", "-"),
    "software_id": ("", "software identification number (`I5`)", "-"),
    "two_stage": ("", "KERN style: `Z`/`T` answer `A` at once, then `D`, `^` or `E`", "[C] anchors §3.6"),
    "repeat_hz": ("1/s", "readings per second after `SIR`", "[U]"),
}
assert set(PARAM_DOCS) == {f.name for f in fields(BalanceParams)}, "every parameter documented"


@dataclass(frozen=True, slots=True)
class Shown:
    """What the balance would answer to ``SI`` now: a status and, for S/D, the value in its unit."""

    status: str
    value: float | None = None


class WeighingCell:
    """The balance's state and physics (see the module docs). *load_g* gives the pan's load at balance time t."""

    def __init__(self, params: BalanceParams, load_g: Callable[[float], float], *, seed: int = 0) -> None:
        self.p = params
        self._load = load_g
        self._rng = random.Random(seed)
        self.zero_g = 0.0
        self.tare_g = 0.0

    def load_g(self, t: float) -> float:
        """The true load at balance time *t* (s), drift included."""
        return self._load(t) + self.p.drift_g_per_h * t / S_PER_H

    def gross_g(self, t: float) -> float:
        return self.load_g(t) - self.zero_g

    def stable(self, t: float) -> bool:
        p = self.p
        if p.settling_s <= 0:
            return True
        # The load moves one way between strokes and evaporation; both ends of the window bound it (monotonic
        # pieces), and the middle catches a change that went up and back within the window.
        a, b, c = self.load_g(max(t - p.settling_s, 0.0)), self.load_g(t - p.settling_s / 2), self.load_g(t)
        return max(a, b, c) - min(a, b, c) <= p.stable_band_g

    def range_status(self, t: float) -> str | None:
        """``+`` overload, ``-`` underload, or None."""
        gross = self.gross_g(t)
        if gross > self.p.capacity_g:
            return m.OVER
        if gross < -self.p.underload_g:
            return m.UNDER
        return None

    def _shown(self, grams: float) -> float:
        """*grams* rounded to the readability, in the balance's unit."""
        step = self.p.readability_g
        return round(grams / step) * step / m.GRAMS_PER_UNIT[self.p.unit]

    def reading(self, t: float) -> Shown:
        """What ``SI`` answers at *t*."""
        out = self.range_status(t)
        if out is not None:
            return Shown(out)
        net = self.gross_g(t) - self.tare_g + self._rng.gauss(0.0, self.p.repeatability_g)
        return Shown(m.STABLE if self.stable(t) else m.DYNAMIC, self._shown(net))

    def field(self, value: float) -> str:
        """*value* (in the balance's unit) as a weight field with unit."""
        return m.weight_field(value, self.p.decimals, self.p.unit)

    def zero(self, t: float) -> str:
        """Set the zero point to the load now (clears the tare): ``A``, or ``+``/``-`` outside the zero range."""
        load = self.load_g(t)
        if load > self.p.zero_range_g:
            return m.OVER
        if load < -self.p.zero_range_g:
            return m.UNDER
        self.zero_g, self.tare_g = load, 0.0
        return m.DONE

    def tare(self, t: float) -> str:
        """Take the gross now as tare: ``A``, or ``+``/``-`` outside 0 .. capacity."""
        gross = self.gross_g(t)
        if gross > self.p.capacity_g:
            return m.OVER
        if gross < 0:
            return m.UNDER
        self.tare_g = gross + self._rng.gauss(0.0, self.p.repeatability_g)
        return m.DONE

    def tare_shown(self) -> float:
        return self._shown(self.tare_g)

    def preset_tare(self, value: float, unit: str) -> bool:
        """``TA value unit``: False if the unit is unknown or the value outside 0 .. capacity."""
        per = m.GRAMS_PER_UNIT.get(unit)
        if per is None or not 0 <= value * per <= self.p.capacity_g:
            return False
        self.tare_g = value * per
        return True
