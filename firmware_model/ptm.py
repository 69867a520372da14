"""Patient-activated boluses (myPTM, PTC): each press granted or refused, and the bolus a grant starts.

The clinician programs a dose per bolus, the bolus duration, the boluses
allowed in 24 hours and a lockout ([C] Prometra PTC guide pp. 5-6, domain.md
§1.2, §3). A press (:class:`~firmware_model.commands.PatientBolus`, a
patient-role command) is decided in this order:

* **REQ-PTM-003** refused (``REFUSED_STOPPED``) while delivery is stopped or a
  priming bolus runs: nothing more could flow;
* **REQ-PTM-001** refused (``REFUSED_LOCKOUT``) if less than ``lockout`` has
  passed since the start of the last granted bolus;
* **REQ-PTM-002** refused (``REFUSED_MAX``) if ``max_per_day`` boluses were
  granted in the 24 hours before the press. The window is rolling, as the
  PTC's "max in 24 h" says [C]; a calendar day would allow twice the maximum
  within a few hours across midnight;
* otherwise granted: the bolus volume (dose / concentration in force) is
  delivered on top of the therapy over ``duration``, at ``volume / duration``.

A running patient bolus ends after its duration (its wake-up is scheduled
like a bolus edge), or is cut off, undelivered, when delivery stops or a
priming bolus starts (:func:`end_patient_bolus`). The bolus rate on top of
the prescription's highest rate must not exceed the pump's maximum rate: the
settings are refused otherwise (:func:`check_ptm`, at construction and with
every new prescription or concentration). The delivery plan also caps the sum
at the maximum rate, for the one case the check cannot see: a bridge bolus
ending during a patient bolus whose rate was set at the old concentration. Every press is logged
``PATIENT_BOLUS`` (result, dose granted); a granted bolus also logs
``BOLUS_START`` / ``BOLUS_END`` of kind ``PATIENT``.

int64: the 24-hour window keeps at most :data:`MAX_PTM_PER_DAY` grant times
(a fixed array in C); rates are the prescription module's, capped at 10^15
pL/day.
"""

from __future__ import annotations

from typing import Final

from ._record import Record, name_table
from ._units import (
    MS_PER_DAY,
    MS_PER_MIN,
    PL_PER_NL,
    RATE_CEILING_PL_PER_DAY,
    rate_pl_per_day_from_dose,
    scale,
    volume_pl_from_mass,
)
from .boluses import BolusKind
from .config import PumpConfig
from .eventlog import EventCode
from .prescription import Prescription, PrescriptionMode, bolus_rate_pl_per_day
from .rejection import FieldId, Rejection, RejectReason
from .state import FirmwareState

#: Most boluses a patient may be allowed in 24 hours (the grant times the firmware keeps). [U]: the PTC's
#: and myPTM's ranges are not published; 24 allows one an hour.
MAX_PTM_PER_DAY: Final = 24
#: Largest dose per patient bolus, ng (1 g: far above any intrathecal bolus; bounds the arithmetic).
MAX_PTM_BOLUS_NG: Final = 10**9


class PtmResult:
    """What became of a press (logged with PATIENT_BOLUS)."""

    GRANTED: Final = 1
    REFUSED_LOCKOUT: Final = 2
    REFUSED_MAX: Final = 3
    REFUSED_STOPPED: Final = 4


#: Lowercase name of each :class:`PtmResult`.
PTM_RESULT_NAMES: Final = name_table(PtmResult)


class PtmSettings(Record):
    """A patient bolus program: *bolus_ng* per bolus over *duration_ms*, at least *lockout_ms* between bolus
    starts, at most *max_per_day* boluses in any 24 hours.

    Raises ValueError naming the field: the dose must be 1 ng .. 1 g, the
    duration 1 min .. 1 day, the lockout at least the duration and at most a
    day (so two patient boluses never overlap), and 1 .. 24 boluses a day.
    """

    __slots__ = ("bolus_ng", "duration_ms", "lockout_ms", "max_per_day")
    __match_args__ = ("bolus_ng", "duration_ms", "lockout_ms", "max_per_day")

    def __init__(self, bolus_ng: int, duration_ms: int, lockout_ms: int, max_per_day: int) -> None:
        if not 0 < bolus_ng <= MAX_PTM_BOLUS_NG:
            raise ValueError(f"bolus_ng = {bolus_ng}: expected 1..{MAX_PTM_BOLUS_NG} ng")
        if not MS_PER_MIN <= duration_ms <= MS_PER_DAY:
            raise ValueError(f"duration_ms = {duration_ms}: expected {MS_PER_MIN}..{MS_PER_DAY} ms")
        if not duration_ms <= lockout_ms <= MS_PER_DAY:
            raise ValueError(f"lockout_ms = {lockout_ms}: expected duration_ms = {duration_ms} .. {MS_PER_DAY} ms")
        if not 1 <= max_per_day <= MAX_PTM_PER_DAY:
            raise ValueError(f"max_per_day = {max_per_day}: expected 1..{MAX_PTM_PER_DAY}")
        self.bolus_ng: Final = bolus_ng
        self.duration_ms: Final = duration_ms
        self.lockout_ms: Final = lockout_ms
        self.max_per_day: Final = max_per_day


def ptm_volume_pl(ptm: PtmSettings, conc_ng_per_ml: int) -> int:
    """The volume of one patient bolus at *conc_ng_per_ml*, pL."""
    return volume_pl_from_mass(ptm.bolus_ng, conc_ng_per_ml)


def ptm_rate_pl_per_day(ptm: PtmSettings, conc_ng_per_ml: int) -> int:
    """The extra rate that delivers one bolus over its duration, pL/day (``scale``: num x den <= 8.64e7 x
    8.64e7)."""
    return scale(ptm_volume_pl(ptm, conc_ng_per_ml), MS_PER_DAY, ptm.duration_ms, RATE_CEILING_PL_PER_DAY)


def top_rate_pl_per_day(rx: Prescription, conc_ng_per_ml: int, cfg: PumpConfig) -> int:
    """The highest rate *rx* runs at, pL/day: its highest basal or step rate, plus a periodic bolus's rate; a
    single bolus's rate or the minimum rate it runs at otherwise."""
    m = rx.mode
    top = 0
    if m in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS):
        top = rate_pl_per_day_from_dose(rx.dose_ng_per_day, conc_ng_per_ml)
    for step in rx.steps:
        top = max(top, rate_pl_per_day_from_dose(step.dose_ng_per_day, conc_ng_per_ml))
    if m in (PrescriptionMode.STOPPED, PrescriptionMode.SINGLE_BOLUS):
        top = cfg.min_rate_pl_per_day
    if m == PrescriptionMode.PERIODIC_BOLUS:
        top += bolus_rate_pl_per_day(rx, conc_ng_per_ml)
    if m == PrescriptionMode.SINGLE_BOLUS:
        top = max(top, bolus_rate_pl_per_day(rx, conc_ng_per_ml))
    return top


def check_ptm(ptm: PtmSettings | None, rx: Prescription, conc_ng_per_ml: int, cfg: PumpConfig) -> Rejection | None:
    """REQ-PTM-003: a patient bolus on top of *rx*'s highest rate stays within the pump's maximum rate.

    Returns None when it does (or there is no patient bolus), else a
    ``RATE_TOO_HIGH`` rejection of field ``PATIENT_BOLUS`` with the combined
    rate. Call it only for a prescription :func:`check_prescription` accepts.
    """
    if ptm is None:
        return None
    top = top_rate_pl_per_day(rx, conc_ng_per_ml, cfg) + ptm_rate_pl_per_day(ptm, conc_ng_per_ml)
    if top > cfg.max_rate_pl_per_day:
        return Rejection(RejectReason.RATE_TOO_HIGH, FieldId.PATIENT_BOLUS, top, cfg.min_rate_pl_per_day,
                         cfg.max_rate_pl_per_day)
    return None


def press(s: FirmwareState, cmd: object, now_ms: int) -> Rejection | None:
    """Command path: decide a patient's press (REQ-PTM-001..003). A press is always handled (logged with its
    result); it is a rejected command only when no patient bolus is programmed."""
    ptm = s.ptm
    if ptm is None:
        return Rejection(RejectReason.BAD_VALUE, FieldId.PATIENT_BOLUS, 0, 1, 1)
    grants = s.ptm_grants
    last = grants[(s.ptm_next - 1) % ptm.max_per_day]
    oldest = grants[s.ptm_next]  # the grant max_per_day grants ago
    if s.stop_mask or s.prime_left:
        result = PtmResult.REFUSED_STOPPED  # REQ-PTM-003
    elif now_ms - last < ptm.lockout_ms:
        result = PtmResult.REFUSED_LOCKOUT  # REQ-PTM-001
    elif now_ms - oldest < MS_PER_DAY:
        result = PtmResult.REFUSED_MAX  # REQ-PTM-002: max_per_day granted in the rolling 24 h
    else:
        result = PtmResult.GRANTED
    if result != PtmResult.GRANTED:
        s.log.append(now_ms, EventCode.PATIENT_BOLUS, result, 0)
        return None
    grants[s.ptm_next] = now_ms
    s.ptm_next = (s.ptm_next + 1) % ptm.max_per_day
    conc = s.therapy.conc_ng_per_ml
    s.ptm_rate = ptm_rate_pl_per_day(ptm, conc)
    s.ptm_end_ms = now_ms + ptm.duration_ms
    s.ptm_volume_nl = ptm_volume_pl(ptm, conc) // PL_PER_NL
    s.log.append(now_ms, EventCode.PATIENT_BOLUS, result, ptm.bolus_ng)
    s.log.append(now_ms, EventCode.BOLUS_START, BolusKind.PATIENT, s.ptm_volume_nl)
    s.replan = True  # the schedule changed: re-predict the low-reservoir alarm
    return None


def patient_bolus_running(s: FirmwareState, now_ms: int) -> bool:
    """True while a granted patient bolus adds its rate (until its end)."""
    return now_ms < s.ptm_end_ms


def end_patient_bolus(s: FirmwareState, now_ms: int) -> None:
    """Wake-up step (after the delivery gate): end the patient bolus whose time is over, or cut it off
    (REQ-PTM-003) when delivery stopped or a priming bolus took over; BOLUS_END logs the volume (0 if cut)."""
    if s.ptm_volume_nl < 0:
        return
    if s.stop_mask or s.prime_left:
        s.ptm_end_ms = min(s.ptm_end_ms, now_ms)
        s.log.append(now_ms, EventCode.BOLUS_END, BolusKind.PATIENT, 0)
    elif now_ms >= s.ptm_end_ms:
        s.log.append(now_ms, EventCode.BOLUS_END, BolusKind.PATIENT, s.ptm_volume_nl)
    else:
        return
    s.ptm_volume_nl = -1
