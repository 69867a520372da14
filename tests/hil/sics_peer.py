"""An MT-SICS client written only from the MT-SICS facts in shared/reference/anchors.md §3.6.

It imports nothing of pumpsim or hil (tests/hil/test_balance_clients.py checks
that), so it is an independent reading of the reference: if the emulator
and this client agree, the emulator speaks MT-SICS as the reference states
it, not merely as hil's own client parses it.

The facts used (anchors §3.6): commands are upper-case ASCII ending in CR
LF; ``S`` answers ``S S <value> <unit>``, or ``S I``/``S +``/``S -``; ``SI``
answers ``S S`` or ``S D`` with a value; ``Z`` answers ``Z A``/``Z I``/
``Z +``/``Z -``; ``T`` answers ``T S <tare> <unit>``; ``ES``/``ET``/``EL`` are
general errors; ``I4`` is the serial number; a weight is right-aligned in a
10-character field followed by the unit.
"""

from __future__ import annotations

import serial


class SicsError(Exception):
    pass


class Peer:
    def __init__(self, path: str, timeout_s: float = 3.0) -> None:
        self.port = serial.Serial(path, 9600, timeout=timeout_s)

    def close(self) -> None:
        self.port.close()

    def ask(self, command: str) -> str:
        self.port.reset_input_buffer()
        self.port.write(command.encode("ascii") + b"\r\n")
        line = self.port.read_until(b"\r\n")
        if not line.endswith(b"\r\n"):
            raise SicsError(f"no reply to {command}")
        text = line[:-2].decode("ascii")
        if text in ("ES", "ET", "EL"):
            raise SicsError(f"{command}: {text}")
        return text

    def weight(self, command: str = "S") -> tuple[str, float, str, str]:
        """(status, value, unit, weight field) of an S or SI reply."""
        text = self.ask(command)
        if not text.startswith("S "):
            raise SicsError(f"{command}: {text!r}")
        status = text[2]
        if status in "I+-":
            raise SicsError(f"{command}: status {status}")
        field, unit = text[4:4 + 10], text[4 + 10 + 1:]
        return status, float(field), unit, field

    def zero(self) -> str:
        text = self.ask("Z")
        if not text.startswith("Z "):
            raise SicsError(f"Z: {text!r}")
        return text[2:]

    def tare(self) -> tuple[float, str]:
        text = self.ask("T")
        if not text.startswith("T S "):
            raise SicsError(f"T: {text!r}")
        value, unit = text[4:].split()
        return float(value), unit

    def serial_number(self) -> str:
        text = self.ask("I4")
        if not text.startswith("I4 A "):
            raise SicsError(f"I4: {text!r}")
        return text[5:].strip('"')
