"""Hypothesis profiles for the property tests.

``ci`` (default): modest example counts, no deadline (simulation time varies
with the example), so the whole directory runs in well under a minute on two
cores. ``thorough``: ten times the examples, for a nightly job or before a
release. Select with ``HYPOTHESIS_PROFILE=thorough pytest tests/property``.

Tests that need fewer (slower) examples scale from the loaded profile
(``settings().max_examples``), so a profile change reaches every test. The
profile is loaded for the whole pytest session once this directory is
collected.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=40,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=400,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
