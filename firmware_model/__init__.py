"""firmware_model: the intrathecal pump's controller, written as firmware.

Standard library only, integer units (ms, nL, pL, ng, strokes), tickless, and
all I/O through the HAL in :mod:`firmware_model.hal`, so it could be ported to
C line by line: records are slotted classes (C structs), enumerations are
classes of int constants (``#define`` sets), rejections are integer records,
and every integer stays within int64 at the documented extremes
(:mod:`firmware_model.config`). The simulator (``pumpsim``) and the bench
(``hil``) drive the same :class:`PumpController` through their own HAL
implementations.

Rooms (one job each; the controller is a facade over them):

* ``controller`` -- :class:`PumpController`: boot, the wake-up pipeline, read-back.
* ``state`` -- :class:`~firmware_model.state.FirmwareState`, everything the controller remembers.
* ``dispatch`` -- the command path: validate, apply or refuse telemetry commands.
* ``boluses`` -- bridge and priming boluses, logged bolus windows.
* ``alarms`` -- alarm ids and priorities, raising and clearing, tone arbitration.
* ``gate`` -- the delivery gate: which alarms stop delivery.
* ``delivery`` -- reading the motor, stroke limits, programming the stroke timer and RTC.
* ``prediction`` -- when the low-reservoir alarm will sound.
* ``ptm`` -- patient-activated boluses: presses granted or refused (lockout, 24-hour maximum), the bolus.
* ``druglib`` -- drug-library limits: hard limits refuse, soft ones need the clinician's confirmation.
* ``prescription``, ``therapy`` -- prescriptions, their check, their rate schedule.
* ``commands``, ``eventlog``, ``rejection``, ``tones``, ``config``, ``hal``, ``_units`` -- the data.
* Host side, not part of the C port: ``describe`` (English text for rejections
  and log records) and ``testing`` (an in-memory HAL, drivers, the int64 checker).

Where the coming features plug in (each its own module, no stubs yet):

* motor stall -- a wake-up step reading ``hal.motor.stalled()`` that raises a
  stall alarm; the alarm joins ``gate.STOPPING_ALARMS``.
* battery states -- a wake-up step reading ``hal.battery``: ERI raises a
  non-critical alarm, end of service a stopping one; a battery-fault minimum
  rate is a rate cap held by the delivery gate.
* telemetry authentication (HMAC + counter, roles) -- a check in
  ``dispatch.handle_commands`` before a command reaches its handler.

docs/architecture.md ("Firmware rooms") has the same map.
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
    dose_ng_per_day_from_rate as dose_ng_per_day_from_rate,
    rate_pl_per_day_from_dose as rate_pl_per_day_from_dose,
)
from .alarms import ALARM_NAMES as ALARM_NAMES, AlarmId as AlarmId
from .boluses import BOLUS_NAMES as BOLUS_NAMES, BolusKind as BolusKind
from .commands import (
    COMMAND_NAMES as COMMAND_NAMES,
    PATIENT_ROLE_COMMANDS as PATIENT_ROLE_COMMANDS,
    Command as Command,
    CommandKind as CommandKind,
    PatientBolus as PatientBolus,
    PrimingBolus as PrimingBolus,
    Refill as Refill,
    Reprogram as Reprogram,
    SetLowReservoirThreshold as SetLowReservoirThreshold,
)
from .config import MAX_FLEX_STEPS as MAX_FLEX_STEPS, PumpConfig as PumpConfig
from .controller import (
    FIRMWARE_VERSION as FIRMWARE_VERSION,
    ControllerStatus as ControllerStatus,
    PumpController as PumpController,
)
from .druglib import (
    LIMIT_NAMES as LIMIT_NAMES,
    NO_LIMITS as NO_LIMITS,
    DrugLimits as DrugLimits,
    LimitId as LimitId,
    LimitViolation as LimitViolation,
    limit_violations as limit_violations,
)
from .eventlog import EVENT_NAMES as EVENT_NAMES, EventCode as EventCode, EventLog as EventLog, LogRecord as LogRecord
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
    MODE_NAMES as MODE_NAMES,
    FlexStep as FlexStep,
    Prescription as Prescription,
    PrescriptionMode as PrescriptionMode,
    check_prescription as check_prescription,
)
from .ptm import (
    MAX_PTM_PER_DAY as MAX_PTM_PER_DAY,
    PTM_RESULT_NAMES as PTM_RESULT_NAMES,
    PtmResult as PtmResult,
    PtmSettings as PtmSettings,
    check_ptm as check_ptm,
)
from .rejection import (
    FIELD_NAMES as FIELD_NAMES,
    REJECT_NAMES as REJECT_NAMES,
    FieldId as FieldId,
    RejectedError as RejectedError,
    Rejection as Rejection,
    RejectReason as RejectReason,
)
from .therapy import Therapy as Therapy
from .tones import (
    CRITICAL_TONE as CRITICAL_TONE,
    NON_CRITICAL_TONE as NON_CRITICAL_TONE,
    PRIORITY_NAMES as PRIORITY_NAMES,
    Priority as Priority,
    TonePattern as TonePattern,
    ToneSegment as ToneSegment,
)
