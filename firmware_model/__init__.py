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
    MS_PER_H as MS_PER_H,
    MS_PER_MIN as MS_PER_MIN,
    MS_PER_S as MS_PER_S,
    NG_PER_MCG as NG_PER_MCG,
    NG_PER_MG as NG_PER_MG,
    NL_PER_ML as NL_PER_ML,
    NL_PER_UL as NL_PER_UL,
    PL_PER_ML as PL_PER_ML,
    PL_PER_NL as PL_PER_NL,
    rate_pl_per_day_from_dose as rate_pl_per_day_from_dose,
)
from .alarms import AlarmId as AlarmId
from .commands import (
    Command as Command,
    CommandKind as CommandKind,
    PrimingBolus as PrimingBolus,
    Refill as Refill,
    Reprogram as Reprogram,
    SetLowReservoirThreshold as SetLowReservoirThreshold,
)
from .config import MAX_FLEX_STEPS as MAX_FLEX_STEPS, PumpConfig as PumpConfig
from .controller import (
    FIRMWARE_VERSION as FIRMWARE_VERSION,
    BolusKind as BolusKind,
    ControllerStatus as ControllerStatus,
    PumpController as PumpController,
)
from .eventlog import EventCode as EventCode, EventLog as EventLog, LogRecord as LogRecord
from .hal import (
    BatteryGauge as BatteryGauge,
    Hal as Hal,
    Motor as Motor,
    MotorProgram as MotorProgram,
    Rtc as Rtc,
    Sounder as Sounder,
    TelemetryInbox as TelemetryInbox,
)
from .prescription import (
    FlexStep as FlexStep,
    Prescription as Prescription,
    PrescriptionMode as PrescriptionMode,
    Rejection as Rejection,
    RejectReason as RejectReason,
    Therapy as Therapy,
    check_prescription as check_prescription,
)
from .tones import (
    CRITICAL_TONE as CRITICAL_TONE,
    NON_CRITICAL_TONE as NON_CRITICAL_TONE,
    Priority as Priority,
    TonePattern as TonePattern,
    ToneSegment as ToneSegment,
)
