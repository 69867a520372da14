"""pumpsim: simulate implantable intrathecal drug pumps and their firmware.

The firmware model (:mod:`firmware_model`) runs against a plant model
(mechanism, reservoir, catheter, battery) in a SimPy engine. Typical use::

    import pumpsim
    sc = pumpsim.load_scenario("default")        # a built-in, a path or TOML text
    res = pumpsim.simulate(sc, seed=1)
    res.summary["delivered_mg"], res.events[:3]

Layering: ``units`` and ``fileio`` depend on nothing; ``plant`` and
``results`` on them only (not on the firmware); ``analysis`` (accuracy, CSF
model, refill arithmetic) on ``results`` and ``firmware_model``; ``scenario``
on ``firmware_model`` and ``analysis``; ``engine`` ties them together; ``cli``
is the command line (tests/unit/test_layering.py).
"""

from __future__ import annotations

from .engine import Simulation as Simulation, simulate as simulate
from .results import (
    TRACE as TRACE,
    TRACE_COLUMNS as TRACE_COLUMNS,
    DirectorySink as DirectorySink,
    MemorySink as MemorySink,
    SimulationResult as SimulationResult,
)
from .results.run_info import pumpsim_version as _pumpsim_version
from .scenario import Scenario as Scenario, ScenarioError as ScenarioError, load_scenario as load_scenario

#: The installed version (from the package metadata; pyproject.toml says it once).
__version__ = _pumpsim_version()
