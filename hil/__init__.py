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

The names below are imported when first used (PEP 562), so that ``import
hil.pytest_plugin``, which pytest does in every run of an environment where
pumpsim is installed, costs no numpy, SimPy or pyserial import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Each public name and the module that defines it (imported on first use).
_PUBLIC = {
    "BenchClient": "client", "Hello": "client", "ProtocolMismatch": "client",
    "BenchEmulator": "emulators", "DutEmulator": "emulators",
    "Dispatcher": "endpoint", "Endpoint": "endpoint", "Refusal": "endpoint",
    "FirmwareSession": "firmware_side", "RunOutcome": "firmware_side",
    "Link": "link", "LinkDown": "link", "LinkError": "link", "LinkTimeout": "link", "PeerError": "link",
    "PlantServer": "plant_server",
    "PortError": "ports", "Pty": "ports", "open_url": "ports",
    "VERSION": "protocol",
    "PlantSession": "serve", "ServeOutcome": "serve",
    "WireShape": "shaping",
    "LinkStats": "stats",
    "Role": "verbs",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'hil' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
