"""Shared fixtures for all test kinds."""

from __future__ import annotations

import pytest

import pumpsim
from pumpsim.scenario import Scenario


@pytest.fixture
def analytic() -> Scenario:
    """The closed-form scenario: 0.5 mL/day from 20 mL, 2 mL alarm."""
    return pumpsim.load_scenario("analytic")
