"""Run outputs: the typed records, the trace columns, the sinks that write them, run.json.

* :mod:`.records` - TypedDicts of summary.json, each event kind, run.json;
* :mod:`.trace_columns` - the trace.csv columns, each defined once;
* :mod:`.sinks` - :class:`MemorySink` and :class:`DirectorySink`;
* :mod:`.run_info` - the varying run metadata written to run.json;
* :mod:`.doctables` - docs/output-format.md's field tables, generated from the above.
"""

from __future__ import annotations

# Also importable from here for callers of the old location (pumpsim.sweep).
from ..fileio import write_json_atomic as write_json_atomic
from .records import (
    AlarmEpisode as AlarmEpisode,
    Balance as Balance,
    Event as Event,
    RunInfo as RunInfo,
    Summary as Summary,
)
from .run_info import run_info as run_info
from .sinks import (
    DirectorySink as DirectorySink,
    MemorySink as MemorySink,
    SimulationResult as SimulationResult,
    Sink as Sink,
)
from .trace_columns import TRACE as TRACE, TRACE_COLUMNS as TRACE_COLUMNS, TraceColumn as TraceColumn
