"""Telemetry commands the clinician programmer sends to the controller.

Each command is a plain record whose class constant ``kind`` is its
:class:`CommandKind`; the controller dispatches on that number. Constructors
do not validate values: the controller checks a command against its own
state (capacity, deliverable rates) and either applies it or logs
``COMMAND_REJECTED`` with a :class:`~firmware_model.rejection.RejectReason`;
a rejected command changes nothing.
"""

from __future__ import annotations

from typing import ClassVar, Final

from ._record import Record, name_table
from .prescription import Prescription


class CommandKind:
    """Numeric command identifiers (used in the event log)."""

    REFILL: Final = 1
    REPROGRAM: Final = 2
    PRIMING_BOLUS: Final = 3
    SET_LOW_RESERVOIR: Final = 4
    PATIENT_BOLUS: Final = 5


#: Lowercase name of each :class:`CommandKind`.
COMMAND_NAMES: Final = name_table(CommandKind)

#: The commands a patient's device (myPTM, PTC) may send; every other command needs the clinician programmer.
#: Telemetry authentication (roles) checks a command's kind against this set.
PATIENT_ROLE_COMMANDS: Final = (CommandKind.PATIENT_BOLUS,)


class Refill(Record):
    """The reservoir was refilled.

    *reservoir_nl* is the volume now in the reservoir as the clinician enters
    it (the volume injected, plus any residual left in on purpose).
    *conc_ng_per_ml* is the concentration of the new drug. When it differs from
    the current one and *bridge* is true, the controller keeps running the old
    program until the dead volume (pump tubing and catheter, still holding the
    old drug) has been pushed out, so the dose rate at the catheter tip stays
    continuous; *rx*, if given, takes effect with the new concentration.
    *confirm*: the clinician confirmed the drug library's soft limits this
    refill exceeds (without it, a soft limit refuses the command).
    """

    kind: ClassVar[int] = CommandKind.REFILL
    __slots__ = ("bridge", "conc_ng_per_ml", "confirm", "reservoir_nl", "rx")
    __match_args__ = ("reservoir_nl", "conc_ng_per_ml", "bridge", "rx", "confirm")

    def __init__(
        self, reservoir_nl: int, conc_ng_per_ml: int, bridge: bool = False, rx: Prescription | None = None,
        confirm: bool = False,
    ) -> None:
        self.reservoir_nl: Final = reservoir_nl
        self.conc_ng_per_ml: Final = conc_ng_per_ml
        self.bridge: Final = bridge
        self.rx: Final = rx
        self.confirm: Final = confirm


class Reprogram(Record):
    """Replace the prescription (the concentration is unchanged); *confirm* as for :class:`Refill`."""

    kind: ClassVar[int] = CommandKind.REPROGRAM
    __slots__ = ("confirm", "rx")
    __match_args__ = ("rx", "confirm")

    def __init__(self, rx: Prescription, confirm: bool = False) -> None:
        self.rx: Final = rx
        self.confirm: Final = confirm


class PrimingBolus(Record):
    """Push the dead volume through at the maximum rate (after implant or revision)."""

    kind: ClassVar[int] = CommandKind.PRIMING_BOLUS
    __slots__ = ()


class SetLowReservoirThreshold(Record):
    """Change the low-reservoir alarm threshold to *threshold_nl*."""

    kind: ClassVar[int] = CommandKind.SET_LOW_RESERVOIR
    __slots__ = ("threshold_nl",)
    __match_args__ = ("threshold_nl",)

    def __init__(self, threshold_nl: int) -> None:
        self.threshold_nl: Final = threshold_nl


class PatientBolus(Record):
    """The patient pressed for a bolus (a patient-role command: myPTM, PTC). Granted or refused by the firmware's
    patient-bolus settings (:class:`~firmware_model.ptm.PtmSettings`)."""

    kind: ClassVar[int] = CommandKind.PATIENT_BOLUS
    __slots__ = ()


Command = Refill | Reprogram | PrimingBolus | SetLowReservoirThreshold | PatientBolus
