"""Scenarios: the records, the schema, the strict TOML loader, the quantity parser, built-ins."""

from __future__ import annotations

from . import quantities as quantities
from .builtin import builtin_names as builtin_names, builtin_text as builtin_text
from .loader import (
    MAX_SCENARIO_BYTES as MAX_SCENARIO_BYTES,
    ScenarioError as ScenarioError,
    load_scenario as load_scenario,
    parse_scenario as parse_scenario,
    parse_toml as parse_toml,
    read_scenario_text as read_scenario_text,
    scenario_from_data as scenario_from_data,
    with_duration as with_duration,
)
from .model import (
    CatheterSpec as CatheterSpec,
    DrugSpec as DrugSpec,
    PtmSpec as PtmSpec,
    PumpSpec as PumpSpec,
    Scenario as Scenario,
    Visit as Visit,
)
from .profiles import PROFILES as PROFILES, describe_margin as describe_margin
from .schema import (
    SCENARIO as SCENARIO,
    array_tables as array_tables,
    unit_families as unit_families,
    variable_keys as variable_keys,
)
from .sizing import (
    OUTPUT_LIMIT_BYTES as OUTPUT_LIMIT_BYTES,
    estimate_output as estimate_output,
    estimate_output_bytes as estimate_output_bytes,
)
