"""firmware_model: the intrathecal pump's controller, written as firmware.

Standard library only, integer units (ms, nL, pL, ng, strokes), tickless, and
all I/O through the HAL in :mod:`firmware_model.hal`, so it could be ported to
C line by line. The simulator (``pumpsim``) and the bench (``hil``) drive the
same :class:`PumpController` through their own HAL implementations;
:mod:`firmware_model.testing` ships an in-memory HAL for users' own tests.

Layering: ``_units`` <- ``tones``, ``config`` <- ``prescription``, ``alarms``,
``eventlog``, ``commands``, ``hal`` <- ``controller``.
"""

from __future__ import annotations

from ._units import (
    MS_PER_DAY as MS_PER_DAY,
)
from ._units import (
    MS_PER_H as MS_PER_H,
)
from ._units import (
    MS_PER_MIN as MS_PER_MIN,
)
from ._units import (
    MS_PER_S as MS_PER_S,
)
from ._units import (
    NG_PER_MCG as NG_PER_MCG,
)
from ._units import (
    NG_PER_MG as NG_PER_MG,
)
from ._units import (
    NL_PER_ML as NL_PER_ML,
)
from ._units import (
    NL_PER_UL as NL_PER_UL,
)
from ._units import (
    PL_PER_ML as PL_PER_ML,
)
from ._units import (
    PL_PER_NL as PL_PER_NL,
)
from ._units import (
    rate_pl_per_day_from_dose as rate_pl_per_day_from_dose,
)
from .alarms import AlarmId as AlarmId
from .commands import (
    Command as Command,
)
from .commands import (
    CommandKind as CommandKind,
)
from .commands import (
    PrimingBolus as PrimingBolus,
)
from .commands import (
    Refill as Refill,
)
from .commands import (
    Reprogram as Reprogram,
)
from .commands import (
    SetLowReservoirThreshold as SetLowReservoirThreshold,
)
from .config import MAX_FLEX_STEPS as MAX_FLEX_STEPS
from .config import PumpConfig as PumpConfig
from .controller import (
    FIRMWARE_VERSION as FIRMWARE_VERSION,
)
from .controller import (
    BolusKind as BolusKind,
)
from .controller import (
    ControllerStatus as ControllerStatus,
)
from .controller import (
    PumpController as PumpController,
)
from .eventlog import EventCode as EventCode
from .eventlog import EventLog as EventLog
from .eventlog import LogRecord as LogRecord
from .hal import (
    BatteryGauge as BatteryGauge,
)
from .hal import (
    Hal as Hal,
)
from .hal import (
    Motor as Motor,
)
from .hal import (
    MotorProgram as MotorProgram,
)
from .hal import (
    Rtc as Rtc,
)
from .hal import (
    Sounder as Sounder,
)
from .hal import (
    TelemetryInbox as TelemetryInbox,
)
from .prescription import (
    FlexStep as FlexStep,
)
from .prescription import (
    Prescription as Prescription,
)
from .prescription import (
    PrescriptionMode as PrescriptionMode,
)
from .prescription import (
    Rejection as Rejection,
)
from .prescription import (
    RejectReason as RejectReason,
)
from .prescription import (
    Therapy as Therapy,
)
from .prescription import (
    check_prescription as check_prescription,
)
from .tones import (
    CRITICAL_TONE as CRITICAL_TONE,
)
from .tones import (
    NON_CRITICAL_TONE as NON_CRITICAL_TONE,
)
from .tones import (
    Priority as Priority,
)
from .tones import (
    TonePattern as TonePattern,
)
from .tones import (
    ToneSegment as ToneSegment,
)
