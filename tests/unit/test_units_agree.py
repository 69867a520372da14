"""pumpsim.units and firmware_model._units are two copies of the same constants on purpose (the
firmware may not import the simulator, the plant may not import the firmware); they must agree."""

from __future__ import annotations

import firmware_model._units as fw
import pumpsim.units as sim


def constants(module: object) -> dict[str, int]:
    return {k: v for k, v in vars(module).items() if k.isupper() and isinstance(v, int)}


def test_shared_constants_agree() -> None:
    """Every constant defined in both modules has the same value (and the common ones exist in both)."""
    a, b = constants(fw), constants(sim)
    shared = a.keys() & b.keys()
    assert {"MS_PER_S", "MS_PER_DAY", "NL_PER_ML", "PL_PER_NL", "NG_PER_MG"} <= shared
    assert {k: a[k] for k in shared} == {k: b[k] for k in shared}


def test_the_comparison_sees_a_difference() -> None:
    """The helper reports a constant that differs (a check that can fail)."""

    class Wrong:
        MS_PER_DAY = 86_400_001

    assert constants(Wrong)["MS_PER_DAY"] != constants(sim)["MS_PER_DAY"]
