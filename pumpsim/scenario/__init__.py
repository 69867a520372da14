"""Scenarios: the records, the strict TOML loader, the unit parser, built-ins."""

from __future__ import annotations

from .builtin import builtin_names as builtin_names
from .builtin import builtin_text as builtin_text
from .loader import ScenarioError as ScenarioError
from .loader import load_scenario as load_scenario
from .loader import parse_scenario as parse_scenario
from .model import (
    CatheterSpec as CatheterSpec,
)
from .model import (
    DrugSpec as DrugSpec,
)
from .model import (
    PumpSpec as PumpSpec,
)
from .model import (
    Scenario as Scenario,
)
from .model import (
    Visit as Visit,
)
