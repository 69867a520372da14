"""Fixtures for scenario-level tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_cases import write_planned


@pytest.fixture
def planned(tmp_path: Path) -> Path:
    """The analytic scenario with a refill visit every 37 days, as a file."""
    return write_planned(tmp_path)
