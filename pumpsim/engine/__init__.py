"""The SimPy engine: runs the firmware model against the plant.

* :mod:`.simulation` - :class:`Simulation`, the story of a run, and :func:`simulate`;
* :mod:`.hal` - the firmware's HAL implemented against the plant;
* :mod:`.log_decoder` - firmware log records to event records (pure; also for bench hosts);
* :mod:`.tally` - the summary's bookkeeping, fed with events;
* :mod:`.trace` - trace rows, buffered and computed in batches;
* :mod:`.events` - the visit and dry events (pure builders, shared with a recording bench);
* :mod:`.ports` - the seams: what a run needs of a plant and a HAL (either may be across a link).
"""

from __future__ import annotations

from ..results import TRACE_COLUMNS as TRACE_COLUMNS
from .hal import EngineHal as EngineHal
from .log_decoder import decode as decode
from .simulation import PROGRESS_EVERY_MS as PROGRESS_EVERY_MS, Simulation as Simulation, simulate as simulate
from .trace import FLUSH_ROWS as FLUSH_ROWS
