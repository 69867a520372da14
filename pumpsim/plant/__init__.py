"""The plant: everything physical the controller drives or cannot see.

* :mod:`.principle` - the pumping principles behind one interface
  (:class:`~.principle.Mechanism`): :mod:`.peristaltic` (motor strokes),
  :mod:`.valve_gated` (aliquots, the flow-activated valve), :mod:`.constant_flow`
  (propellant and restrictor, no controller);
* :mod:`.mechanism` - the stroke stream (true stroke or aliquot volumes);
* :mod:`.environment` - body temperature, ambient pressure, magnetic field;
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

The patient (CSF pharmacokinetics) is not part of the plant yet.
"""

from __future__ import annotations

from .battery import Battery as Battery
from .catheter import Catheter as Catheter
from .constant_flow import ConstantFlow as ConstantFlow, FlowLaw as FlowLaw, UniformStream as UniformStream
from .environment import (
    NOMINAL as NOMINAL,
    Environment as Environment,
    EnvironmentChange as EnvironmentChange,
    timeline as timeline,
)
from .mechanism import StrokeStream as StrokeStream, VolumeStream as VolumeStream
from .peristaltic import Peristaltic as Peristaltic
from .principle import MECHANISMS as MECHANISMS, Mechanism as Mechanism, Response as Response
from .pump import PlantColumns as PlantColumns, PlantState as PlantState, PumpPlant as PumpPlant
from .reservoir import Epoch as Epoch, RefillOutcome as RefillOutcome, Reservoir as Reservoir
from .timer import StrokeProgram as StrokeProgram, StrokeTimer as StrokeTimer
from .valve_gated import ValveGated as ValveGated
