"""Bench instruments: a lab balance speaking MT-SICS, its emulator, and gravimetric recording (docs/balance.md).

Rooms: :mod:`.mtsics` (the wire format and command table, said once),
:mod:`.balance` (the client), :mod:`.weighing` (the emulated cell's physics),
:mod:`.sics_server` (the emulated balance's interpreter), :mod:`.pan` (what a
scenario delivers onto the pan), :mod:`.emulator` (the pty and its faults),
:mod:`.gravimetric` (recording to ``t_s,mass_g,status``), :mod:`.commands`
(``pumpsim hil emulate balance``, ``pumpsim hil gravimetric``),
:mod:`.docgen` (docs/balance.md's generated tables).

A bench phase takes any :class:`WeighingInstrument` (a :class:`Balance` is
one, and is usable as an OpenHTF plug: it has ``tearDown``) and records with
:class:`GravimetricRecorder`.
"""

from __future__ import annotations

from .balance import (
    Balance as Balance,
    BalanceError as BalanceError,
    BalanceGarbage as BalanceGarbage,
    BalanceNotReady as BalanceNotReady,
    BalancePortLost as BalancePortLost,
    BalanceRangeError as BalanceRangeError,
    BalanceRefused as BalanceRefused,
    BalanceTimeout as BalanceTimeout,
    Identity as Identity,
    Reading as Reading,
)
from .emulator import BalanceEmulator as BalanceEmulator
from .gravimetric import (
    GravimetricRecorder as GravimetricRecorder,
    RecordOutcome as RecordOutcome,
    WeighingInstrument as WeighingInstrument,
)
from .pan import DeliveryCurve as DeliveryCurve
from .weighing import BalanceParams as BalanceParams
