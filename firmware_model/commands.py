"""Telemetry commands the clinician programmer sends to the controller.

Each command is a frozen record. The controller validates it against its own
state (capacity, deliverable rates) and either applies it or logs
``COMMAND_REJECTED`` with a :class:`~firmware_model.prescription.RejectReason`;
a rejected command changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from .prescription import Prescription


class CommandKind(IntEnum):
    """Numeric command identifiers (used in the event log)."""

    REFILL = 1
    REPROGRAM = 2
    PRIMING_BOLUS = 3
    SET_LOW_RESERVOIR = 4


@dataclass(frozen=True, slots=True)
class Refill:
    """The reservoir was refilled.

    *reservoir_nl* is the volume now in the reservoir as the clinician enters
    it (the volume injected, plus any residual left in on purpose).
    *conc_ng_per_ml* is the concentration of the new drug. When it differs from
    the current one and *bridge* is true, the controller keeps running the old
    program until the dead volume (pump tubing and catheter, still holding the
    old drug) has been pushed out, so the dose rate at the catheter tip stays
    continuous; *rx*, if given, takes effect with the new concentration.
    """

    reservoir_nl: int
    conc_ng_per_ml: int
    bridge: bool = False
    rx: Prescription | None = None

    kind: ClassVar[CommandKind] = CommandKind.REFILL


@dataclass(frozen=True, slots=True)
class Reprogram:
    """Replace the prescription (the concentration is unchanged)."""

    rx: Prescription

    kind: ClassVar[CommandKind] = CommandKind.REPROGRAM


@dataclass(frozen=True, slots=True)
class PrimingBolus:
    """Push the dead volume through at the maximum rate (after implant or revision)."""

    kind: ClassVar[CommandKind] = CommandKind.PRIMING_BOLUS


@dataclass(frozen=True, slots=True)
class SetLowReservoirThreshold:
    """Change the low-reservoir alarm threshold to *threshold_nl*."""

    threshold_nl: int

    kind: ClassVar[CommandKind] = CommandKind.SET_LOW_RESERVOIR


Command = Refill | Reprogram | PrimingBolus | SetLowReservoirThreshold
