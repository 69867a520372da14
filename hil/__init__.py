"""hil: hardware-in-the-loop sessions over a serial link (protocol: docs/hil-protocol.md).

Two roles, one protocol:

* the firmware model drives a bench (``pumpsim hil run``):
  :class:`FirmwareSession` over a :class:`Link` to a bench, for example a
  :class:`BenchEmulator`;
* a device under test drives the simulated plant (``pumpsim hil serve``):
  :class:`PlantSession` over a :class:`Link` to a DUT, for example a
  :class:`DutEmulator`.

The rooms, from the wire up: :mod:`.protocol` (frames, CRC, the parser),
:mod:`.verbs` (every verb with its units), :mod:`.ports` (pyserial URLs, ptys),
:mod:`.shaping` (a bad wire on purpose), :mod:`.link` (requests and replies,
retries, the replay cache, reconnection), :mod:`.stats`, :mod:`.endpoint`
(session rules), :mod:`.client` (the plant side's verbs as typed calls),
:mod:`.plant_server` and :mod:`.recorder` (the plant side),
:mod:`.remote` and :mod:`.firmware_side` (the firmware side: the engine's
story over a link), :mod:`.clock` (real time), :mod:`.serve`,
:mod:`.emulators`, :mod:`.instruments` (the MT-SICS lab balance, its emulator and
gravimetric recording), :mod:`.report` (hil.json), :mod:`.cli` (``pumpsim hil``,
registered through the ``pumpsim.commands`` entry point), :mod:`.testing`
(emulators as subprocesses, linked endpoints without ports), :mod:`.docgen`.

The dependency direction is fixed: ``hil -> pumpsim -> firmware_model``;
nothing imports hil.
"""

from __future__ import annotations

from .client import BenchClient as BenchClient, Hello as Hello, ProtocolMismatch as ProtocolMismatch
from .emulators import BenchEmulator as BenchEmulator, DutEmulator as DutEmulator
from .endpoint import Dispatcher as Dispatcher, Endpoint as Endpoint, Refusal as Refusal
from .firmware_side import FirmwareSession as FirmwareSession, RunOutcome as RunOutcome
from .link import (
    Link as Link,
    LinkDown as LinkDown,
    LinkError as LinkError,
    LinkTimeout as LinkTimeout,
    PeerError as PeerError,
)
from .plant_server import PlantServer as PlantServer
from .ports import PortError as PortError, Pty as Pty, open_url as open_url
from .protocol import VERSION as VERSION
from .serve import PlantSession as PlantSession, ServeOutcome as ServeOutcome
from .shaping import WireShape as WireShape
from .stats import LinkStats as LinkStats
from .verbs import Role as Role
