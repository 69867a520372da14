"""The patient's surroundings, as the pump mechanisms feel them.

:class:`Environment` is the one record every mechanism takes its environment
from: body temperature, ambient (absolute) pressure and whether a strong
magnetic field is present. Its defaults are the nominal conditions a pump is
specified at (37 °C, sea-level pressure, no magnet), so a run that never
changes the environment behaves exactly as before.

A run's environment is piecewise constant: a sorted timeline of
``(t_ms, Environment)`` pairs (``Scenario.environment``) that the engine applies
at those instants. :func:`timeline` builds one from overlapping
:class:`EnvironmentChange` intervals (a fever during a flight), which is how
fault entries (``fever``, ``flight``, ``hyperbaric``, ``magnet``) become a
timeline.

Sources: body temperature and cabin pressure matter to gas-driven
constant-flow pumps ([D] domain.md §5.3); a strong magnetic field opens a
valve-gated pump's valves ([C] §1.2) and stops a peristaltic rotor ([C] §1.1,
the faults' ``mri``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..units import KPA_PER_ATM

#: Standard sea-level atmospheric pressure, kPa.
SEA_LEVEL_KPA = KPA_PER_ATM
#: Normal core body temperature, °C: the temperature implanted pumps are specified at.
BODY_TEMP_C = 37.0

#: Ranges an :class:`Environment` accepts (a living patient; from high altitude to a deep hyperbaric chamber).
BODY_TEMP_RANGE_C = (30.0, 45.0)
AMBIENT_RANGE_KPA = (20.0, 600.0)


@dataclass(frozen=True, slots=True)
class Environment:
    """Body temperature (°C), ambient absolute pressure (kPa), and a strong magnetic field present or not.

    Raises ValueError for a temperature outside 30..45 °C or a pressure
    outside 20..600 kPa.
    """

    body_temp_c: float = BODY_TEMP_C
    ambient_kpa: float = SEA_LEVEL_KPA
    magnet: bool = False

    def __post_init__(self) -> None:
        lo, hi = BODY_TEMP_RANGE_C
        if not lo <= self.body_temp_c <= hi:
            raise ValueError(f"body_temp_c = {self.body_temp_c}: expected {lo:g}..{hi:g} °C")
        lo, hi = AMBIENT_RANGE_KPA
        if not lo <= self.ambient_kpa <= hi:
            raise ValueError(f"ambient_kpa = {self.ambient_kpa}: expected {lo:g}..{hi:g} kPa")


#: The nominal environment.
NOMINAL = Environment()


@dataclass(frozen=True, slots=True)
class EnvironmentChange:
    """From *start_ms* until *end_ms* (None: the end of the run) the fields given here hold.

    Fields left None keep whatever the other changes (or the nominal
    environment) say. Raises ValueError if *end_ms* is not after *start_ms*.
    """

    start_ms: int
    end_ms: int | None = None
    body_temp_c: float | None = None
    ambient_kpa: float | None = None
    magnet: bool | None = None

    def __post_init__(self) -> None:
        if self.start_ms < 0:
            raise ValueError(f"start_ms = {self.start_ms}: expected >= 0 ms")
        if self.end_ms is not None and self.end_ms <= self.start_ms:
            raise ValueError(f"end_ms = {self.end_ms}: expected after start_ms = {self.start_ms}")

    def active(self, t_ms: int) -> bool:
        """True if the change holds at *t_ms*."""
        return self.start_ms <= t_ms and (self.end_ms is None or t_ms < self.end_ms)

    def apply(self, env: Environment) -> Environment:
        """*env* with this change's fields set."""
        return Environment(
            env.body_temp_c if self.body_temp_c is None else self.body_temp_c,
            env.ambient_kpa if self.ambient_kpa is None else self.ambient_kpa,
            env.magnet if self.magnet is None else self.magnet,
        )


def timeline(changes: Iterable[EnvironmentChange]) -> tuple[tuple[int, Environment], ...]:
    """The piecewise-constant environment the *changes* make, as ``(t_ms, Environment)`` steps.

    At every start or end of a change the environment is the nominal one with
    each active change applied in the order given (a later change wins for a
    field both set). A step is listed only where the environment differs from
    the previous one; before the first step the environment is nominal.
    """
    changes = list(changes)
    edges = sorted({c.start_ms for c in changes} | {c.end_ms for c in changes if c.end_ms is not None})
    out: list[tuple[int, Environment]] = []
    current = NOMINAL
    for t in edges:
        env = NOMINAL
        for c in changes:
            if c.active(t):
                env = c.apply(env)
        if env != current:
            out.append((t, env))
            current = env
    return tuple(out)
