"""Drug-library limits: soft limits a clinician may confirm, hard limits nobody can pass.

The programmer sends the library entry of the drug in the pump as a
:class:`DrugLimits` record; the firmware checks every prescription and
concentration against it, after the deliverability check and before anything
changes:

* **REQ-LIM-001** a value above a *hard* limit refuses the command
  (``HARD_LIMIT``), whatever is confirmed;
* **REQ-LIM-002** a value above a *soft* limit refuses it (``SOFT_LIMIT``)
  unless the command carries the clinician's confirmation, and a confirmed
  one is logged (``LIMIT_OVERRIDDEN``);
* **REQ-LIM-003** a refused command changes nothing (the dispatcher's rule);
  the limits it exceeds are logged (``LIMIT_HARD`` / ``LIMIT_SOFT``).

Limits (each 0 = none): the concentration; the nominal daily dose (with
every patient bolus allowed in a day); a bolus dose (prescribed or patient);
the increase of the daily dose over the prescription in force (a titration
step; decreases are never limited); and, as a soft limit only, the least time
between two increases. The prescription programmed at implant is checked for
the first three (it is a starting dose, not a step).

int64: doses are those of a deliverable prescription (<= 10^10 ng/day per
rate, see :meth:`~firmware_model.prescription.Prescription.daily_dose_ng`)
plus at most 24 patient boluses of at most 1 g.
"""

from __future__ import annotations

from typing import Final

from ._record import Record, name_table
from .eventlog import EventCode
from .prescription import Prescription
from .ptm import PtmSettings
from .rejection import FieldId, Rejection, RejectReason
from .state import FirmwareState


class LimitId:
    """Which drug-library limit (logged with LIMIT_HARD, LIMIT_SOFT, LIMIT_OVERRIDDEN)."""

    CONCENTRATION: Final = 1  # ng/mL
    DAILY_DOSE: Final = 2  # ng/day
    BOLUS: Final = 3  # ng
    DOSE_STEP: Final = 4  # ng/day
    STEP_INTERVAL: Final = 5  # ms since the last increase (a minimum)


#: Lowercase name of each :class:`LimitId`.
LIMIT_NAMES: Final = name_table(LimitId)

#: The rejection field of each limit.
LIMIT_FIELDS: Final = {
    LimitId.CONCENTRATION: FieldId.CONCENTRATION,
    LimitId.DAILY_DOSE: FieldId.DAILY_DOSE,
    LimitId.BOLUS: FieldId.BOLUS_DOSE,
    LimitId.DOSE_STEP: FieldId.DOSE_STEP,
    LimitId.STEP_INTERVAL: FieldId.STEP_INTERVAL,
}

SOFT: Final = 1
HARD: Final = 2


class DrugLimits(Record):
    """One drug's library entry: soft and hard maxima (0 = none) and the least time between dose increases.

    Concentrations in ng/mL, daily doses and steps in ng/day, boluses in ng,
    the interval in ms. Raises ValueError for a negative value, or a soft
    limit above its hard one (it could never apply).
    """

    __slots__ = ("any", "bolus_hard", "bolus_soft", "conc_hard", "conc_soft", "daily_hard", "daily_soft",
                 "step_hard", "step_interval_ms", "step_soft", "steps")
    __match_args__ = ("conc_soft", "conc_hard", "daily_soft", "daily_hard", "bolus_soft", "bolus_hard",
                      "step_soft", "step_hard", "step_interval_ms")

    def __init__(self, conc_soft: int = 0, conc_hard: int = 0, daily_soft: int = 0, daily_hard: int = 0,
                 bolus_soft: int = 0, bolus_hard: int = 0, step_soft: int = 0, step_hard: int = 0,
                 step_interval_ms: int = 0) -> None:
        for name, soft, hard in (("conc", conc_soft, conc_hard), ("daily", daily_soft, daily_hard),
                                 ("bolus", bolus_soft, bolus_hard), ("step", step_soft, step_hard)):
            if soft < 0 or hard < 0:
                raise ValueError(f"{name}: limits must be >= 0 (0 = none), got soft {soft}, hard {hard}")
            if soft and hard and soft > hard:
                raise ValueError(f"{name}_soft = {soft}: expected at most {name}_hard = {hard}")
        if step_interval_ms < 0:
            raise ValueError(f"step_interval_ms = {step_interval_ms}: expected >= 0 ms (0 = none)")
        self.conc_soft: Final = conc_soft
        self.conc_hard: Final = conc_hard
        self.daily_soft: Final = daily_soft
        self.daily_hard: Final = daily_hard
        self.bolus_soft: Final = bolus_soft
        self.bolus_hard: Final = bolus_hard
        self.step_soft: Final = step_soft
        self.step_hard: Final = step_hard
        self.step_interval_ms: Final = step_interval_ms
        #: Whether any limit is set, and any on dose increases (so a command skips what cannot apply).
        self.any: Final = any(getattr(self, name) for name in self.__match_args__)
        self.steps: Final = bool(step_soft or step_hard or step_interval_ms)


#: No limits at all (a drug without a library entry).
NO_LIMITS: Final = DrugLimits()


class LimitViolation(Record):
    """*value* (in the limit's unit) exceeds limit *limit* (LimitId) at *severity* (SOFT or HARD), whose value
    is *bound*."""

    __slots__ = ("bound", "limit", "severity", "value")
    __match_args__ = ("limit", "severity", "value", "bound")

    def __init__(self, limit: int, severity: int, value: int, bound: int) -> None:
        self.limit: Final = limit
        self.severity: Final = severity
        self.value: Final = value
        self.bound: Final = bound


def _above(out: list[LimitViolation], limit: int, value: int, soft: int, hard: int) -> None:
    if hard and value > hard:
        out.append(LimitViolation(limit, HARD, value, hard))
    elif soft and value > soft:
        out.append(LimitViolation(limit, SOFT, value, soft))


def daily_with_ptm(rx: Prescription, ptm: PtmSettings | None) -> int:
    """The daily dose a prescription allows: its nominal daily dose plus every patient bolus allowed in a day."""
    extra = 0 if ptm is None else ptm.max_per_day * ptm.bolus_ng
    return rx.daily_dose_ng() + extra


def limit_violations(lim: DrugLimits, rx: Prescription, conc_ng_per_ml: int, ptm: PtmSettings | None,
                     step_from_ng: int, last_step_ms: int, now_ms: int) -> list[LimitViolation]:
    """Every limit *rx* at *conc_ng_per_ml* exceeds, in LimitId order (at most one entry per limit).

    *step_from_ng*: the daily dose of the prescription in force (-1: no step
    is checked, at implant); *last_step_ms*: when the dose was last raised
    (-1: never).
    """
    out: list[LimitViolation] = []
    _above(out, LimitId.CONCENTRATION, conc_ng_per_ml, lim.conc_soft, lim.conc_hard)
    _above(out, LimitId.DAILY_DOSE, daily_with_ptm(rx, ptm), lim.daily_soft, lim.daily_hard)
    bolus = max(rx.bolus_ng, 0 if ptm is None else ptm.bolus_ng)
    _above(out, LimitId.BOLUS, bolus, lim.bolus_soft, lim.bolus_hard)
    if step_from_ng >= 0:
        step = rx.daily_dose_ng() - step_from_ng
        if step > 0:
            _above(out, LimitId.DOSE_STEP, step, lim.step_soft, lim.step_hard)
            since = now_ms - last_step_ms
            if lim.step_interval_ms and last_step_ms >= 0 and since < lim.step_interval_ms:
                out.append(LimitViolation(LimitId.STEP_INTERVAL, SOFT, since, lim.step_interval_ms))
    return out


def refusal(violations: list[LimitViolation], confirm: bool) -> Rejection | None:
    """The rejection the *violations* call for: the first hard one's, else (unconfirmed) the first soft one's;
    None when nothing refuses the command."""
    for severity, reason in ((HARD, RejectReason.HARD_LIMIT), (SOFT, RejectReason.SOFT_LIMIT)):
        if severity == SOFT and confirm:
            return None
        for v in violations:
            if v.severity == severity:
                field = LIMIT_FIELDS[v.limit]
                if v.limit == LimitId.STEP_INTERVAL:  # a minimum: the accepted range starts at the bound
                    return Rejection(reason, field, v.value, v.bound, MAX_INTERVAL_MS)
                return Rejection(reason, field, v.value, 0, v.bound)
    return None


#: The upper end shown for a step-interval rejection's range (the interval itself is a minimum).
MAX_INTERVAL_MS: Final = 365 * 86_400_000


def check_limits(s: FirmwareState, rx: Prescription, conc_ng_per_ml: int, confirm: bool, before: Prescription,
                 now_ms: int) -> Rejection | None:
    """Command path: REQ-LIM-001/002, for *rx* replacing *before*. None if the command may go on (its confirmed
    soft limits logged ``LIMIT_OVERRIDDEN``); else the rejection, the limits that refuse it logged
    ``LIMIT_HARD`` / ``LIMIT_SOFT``."""
    lim = s.limits
    if not lim.any:
        return None
    step_from = before.daily_dose_ng() if lim.steps and rx is not before else -1
    violations = limit_violations(lim, rx, conc_ng_per_ml, s.ptm, step_from, s.last_step_ms, now_ms)
    if not violations:
        return None
    rej = refusal(violations, confirm)
    if rej is None:
        for v in violations:
            s.log.append(now_ms, EventCode.LIMIT_OVERRIDDEN, v.limit, v.value)
        return None
    severity = HARD if rej.reason == RejectReason.HARD_LIMIT else SOFT
    code = EventCode.LIMIT_HARD if severity == HARD else EventCode.LIMIT_SOFT
    for v in violations:
        if v.severity == severity:
            s.log.append(now_ms, code, v.limit, v.value)
    return rej


def note_step(s: FirmwareState, rx: Prescription, before: Prescription, now_ms: int) -> None:
    """After an accepted command (*rx* replacing *before*): remember when the daily dose was last raised (for the
    step interval)."""
    if s.limits.steps and rx is not before and rx.daily_dose_ng() > before.daily_dose_ng():
        s.last_step_ms = now_ms
