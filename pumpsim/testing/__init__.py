"""Helpers for property-based tests of pumpsim and of code built on it.

* :mod:`pumpsim.testing.strategies` - Hypothesis strategies that produce valid
  pump configurations, deliverable prescriptions of every mode and short
  scenarios with refills, concentration changes and boluses;
* :mod:`pumpsim.testing.invariants` - ``check_*`` functions that take a
  :class:`~pumpsim.SimulationResult` (or a controller, or its event log) and
  raise AssertionError naming the broken rule and its requirement id;
* :mod:`pumpsim.testing.records` - :func:`check_records`: a run's summary and
  events are exactly the typed records of :mod:`pumpsim.results.records`;
* :mod:`pumpsim.testing.workloads` - the scenarios the benchmarks time (a
  device-year, per-stroke and per-event series, a pump left empty).

Hypothesis is a development dependency (``pip install pumpsim[dev]``): importing
:mod:`pumpsim` never imports it, importing this package does. The invariants
alone need only numpy (``from pumpsim.testing.invariants import ...`` still
loads this package, and so Hypothesis)::

    from hypothesis import given
    import pumpsim
    from pumpsim.testing import check_all, scenarios

    @given(scenarios(max_days=2))
    def test_my_pump_model(sc):
        res = pumpsim.simulate(sc)
        check_all(res, sc)

For firmware-only tests, see also :mod:`firmware_model.testing` (``FakeHal``,
``run_until``, ``wake_now``).
"""

from __future__ import annotations

try:
    import hypothesis as _hypothesis  # noqa: F401
except ModuleNotFoundError as e:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "pumpsim.testing needs Hypothesis, a development dependency: pip install 'pumpsim[dev]'",
        name=e.name,
    ) from e

from .invariants import (
    AlarmStep as AlarmStep,
    AlarmTimeline as AlarmTimeline,
    alarm_steps_from_log as alarm_steps_from_log,
    check_alarm_before_dry as check_alarm_before_dry,
    check_alarm_consistency as check_alarm_consistency,
    check_alarm_thresholds as check_alarm_thresholds,
    check_alarm_timeline as check_alarm_timeline,
    check_all as check_all,
    check_conservation as check_conservation,
    check_controller as check_controller,
    check_dry_delivers_nothing as check_dry_delivers_nothing,
    check_empty_stops_delivery as check_empty_stops_delivery,
    check_estimate_vs_truth as check_estimate_vs_truth,
    check_event_log as check_event_log,
    check_monotone_trace as check_monotone_trace,
)
from .records import check_record as check_record, check_records as check_records
from .strategies import (
    ALL_MODES as ALL_MODES,
    concentrations as concentrations,
    dose_range as dose_range,
    prescriptions as prescriptions,
    pump_configs as pump_configs,
    scenarios as scenarios,
)
