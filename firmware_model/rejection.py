"""Structured rejections: why the controller refused a command, as integers only.

A :class:`Rejection` is what a C port would return from a validation function:
a reason code, the field at fault, the offending value and the accepted range,
all integers in the field's stated unit. The firmware logs the reason with
``COMMAND_REJECTED``; the English text a host shows is made from the record by
:mod:`firmware_model.describe` (host side, not part of the port).
"""

from __future__ import annotations

from typing import Final

from ._record import Record, name_table


class RejectReason:
    """Why the controller refused a command (logged with COMMAND_REJECTED)."""

    RATE_TOO_HIGH: Final = 1
    RATE_TOO_LOW: Final = 2
    VOLUME_ABOVE_CAPACITY: Final = 3
    BAD_CONCENTRATION: Final = 4
    BAD_VALUE: Final = 5
    HARD_LIMIT: Final = 6  # a drug-library hard limit: refused, whatever the clinician confirms
    SOFT_LIMIT: Final = 7  # a drug-library soft limit, not confirmed


#: Lowercase name of each :class:`RejectReason`.
REJECT_NAMES: Final = name_table(RejectReason)


class FieldId:
    """The field a rejection is about, and the unit of its value and range."""

    CONCENTRATION: Final = 1  # drug concentration, ng/mL
    DOSE: Final = 2  # the basal dose, as the rate it needs: pL/day
    STEP_DOSE: Final = 3  # flex step `index`'s dose, as the rate it needs: pL/day
    BOLUS: Final = 4  # the bolus (plus basal for its top rate), as a rate: pL/day
    RESERVOIR: Final = 5  # volume entered at a refill, nL
    LOW_RESERVOIR_ALARM: Final = 6  # low-reservoir threshold, nL
    PRIMING_BOLUS: Final = 7  # reservoir estimate, nL; it must be above `lo` (the empty floor)
    COMMAND: Final = 8  # the command's kind (CommandKind), 0 if it has none
    DAILY_DOSE: Final = 9  # the prescription's nominal daily dose (with the patient boluses allowed), ng/day
    BOLUS_DOSE: Final = 10  # a bolus dose (prescribed or patient), ng
    DOSE_STEP: Final = 11  # the daily dose's increase over the prescription in force, ng/day
    STEP_INTERVAL: Final = 12  # time since the last dose increase, ms (the limit is a minimum: `lo`)
    PATIENT_BOLUS: Final = 13  # a patient bolus's top rate on the prescription's (as BOLUS), pL/day


#: Lowercase name of each :class:`FieldId`.
FIELD_NAMES: Final = name_table(FieldId)


class Rejection(Record):
    """A refused command: *reason* (:class:`RejectReason`) and *field* (:class:`FieldId`).

    *value* is what the command asked for and ``lo..hi`` the accepted range,
    in the unit :class:`FieldId` states for the field; *index* is the flex step
    for ``STEP_DOSE`` and -1 otherwise.
    """

    __slots__ = ("field", "hi", "index", "lo", "reason", "value")
    __match_args__ = ("reason", "field", "value", "lo", "hi", "index")

    def __init__(self, reason: int, field: int, value: int, lo: int, hi: int, index: int = -1) -> None:
        self.reason: Final = reason
        self.field: Final = field
        self.value: Final = value
        self.lo: Final = lo
        self.hi: Final = hi
        self.index: Final = index


class RejectedError(ValueError):
    """Raised where a refused setup cannot be logged (the controller's constructor).

    Carries the :class:`Rejection` as *rejection*; ``str()`` describes it in
    English through :mod:`firmware_model.describe` (host side).
    """

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection)
        self.rejection = rejection

    def __str__(self) -> str:
        from .describe import describe_rejection  # host-side text, loaded only when shown

        return describe_rejection(self.rejection)
