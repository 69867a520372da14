"""The plant: everything physical the controller drives or cannot see.

* :mod:`.mechanism` - the peristaltic stroke stream (true stroke volumes);
* :mod:`.reservoir` - the actual reservoir, refills and mixing;
* :mod:`.catheter` - the plug-flow dead volume between pump and CSF;
* :mod:`.battery` - the fuel gauge the firmware reads.

Environment (MRI, temperature) and patient (CSF pharmacokinetics) models are
not part of the plant yet.
"""

from __future__ import annotations

from .battery import Battery as Battery
from .catheter import Catheter as Catheter
from .mechanism import StrokeStream as StrokeStream
from .reservoir import Epoch as Epoch, RefillOutcome as RefillOutcome, Reservoir as Reservoir
