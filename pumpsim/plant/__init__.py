"""The plant: everything physical the controller drives or cannot see.

* :mod:`.mechanism` - the peristaltic stroke stream (true stroke volumes);
* :mod:`.reservoir` - the actual reservoir, refills and mixing;
* :mod:`.catheter` - the plug-flow dead volume between pump and CSF;
* :mod:`.battery` - the fuel gauge the firmware reads;
* :mod:`.timer` - the motor's stroke timer and counter (which program runs);
* :mod:`.pump` - all of them as one plant, and the stroke arithmetic the
  engine asks about between two instants (strokes fired, the stroke that
  empties the reservoir, the per-stroke dry check).

The plant imports neither the firmware nor the engine
(tests/unit/test_layering.py): a motor program is anything that satisfies
:class:`~.timer.StrokeProgram`.

Environment (MRI, temperature) and patient (CSF pharmacokinetics) models are
not part of the plant yet.
"""

from __future__ import annotations

from .battery import Battery as Battery
from .catheter import Catheter as Catheter
from .mechanism import StrokeStream as StrokeStream
from .pump import PlantColumns as PlantColumns, PlantState as PlantState, PumpPlant as PumpPlant
from .reservoir import Epoch as Epoch, RefillOutcome as RefillOutcome, Reservoir as Reservoir
from .timer import StrokeProgram as StrokeProgram, StrokeTimer as StrokeTimer
