"""Bench runs as OpenHTF phases with limits: ``pumpsim hil bench SCENARIO --port URL``.

A bench run is a sequence of named phases (:data:`DEFAULT_PHASES`: connect,
self_test, prime, deliver, alarm_check; then teardown, whatever happened),
each an OpenHTF phase recording measurements with a name, a unit, limits and
PASS/FAIL. The rooms: :mod:`.plan` (the station, the limits, what the
scenario implies), :mod:`.plugs` (instruments on ports as OpenHTF plugs; the
bench), :mod:`.phases` (the built-in phases), :mod:`.record` (record.json and
junit.xml), :mod:`.runner` (phases by name, plugs bound to ports, the run),
:mod:`.docgen` (the tables of docs/hil-bench.md).

Needs the ``bench`` extra (``pip install 'pumpsim[bench]'``, part of ``dev``):
importing this package imports OpenHTF. How a bench team adds a phase or an
instrument: docs/hil-bench.md.
"""

from __future__ import annotations

from .phases import BUILTIN as BUILTIN
from .plan import Limits as Limits, Plan as Plan, Station as Station
from .plugs import BenchPlug as BenchPlug, PortPlug as PortPlug
from .record import JUNIT as JUNIT, RECORD as RECORD, junit_xml as junit_xml
from .runner import (
    DEFAULT_PHASES as DEFAULT_PHASES,
    ENTRY_POINT_GROUP as ENTRY_POINT_GROUP,
    BenchOutcome as BenchOutcome,
    BenchSetupError as BenchSetupError,
    available_phases as available_phases,
    find_phase as find_phase,
    run_bench as run_bench,
)
