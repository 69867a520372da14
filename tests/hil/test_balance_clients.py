"""Clients we did not write read weights, zero and identity from ``pumpsim hil emulate balance`` over a real pty.

* ``mettler_toledo_device`` 1.5.0 (PyPI, Janelia): an unmodified third-party
  MT-SICS driver, installed by the dev extra;
* InstrumentKit's ``instruments.mettler_toledo.MTSICS``: skipped with the
  reason when it cannot be imported (its PyPI release has no such module);
* ``sics_peer.py``: a client written from shared/reference/anchors.md §3.6
  alone, importing nothing of pumpsim or hil.

The emulator runs as a subprocess (``hil.testing.spawn``), the way a bench
team would start it.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest
from sics_peer import Peer, SicsError

from hil.testing import spawn

pytestmark = [pytest.mark.hil, pytest.mark.timeout(60)]

#: A 3.2109 g weight on the pan (within the 2 % zero range of 220 g); noise 0.015 mg [U]: readings within 0.1 mg.
VESSEL = ["--vessel", "3.2109 g", "--settling", "0.2 s"]
TOL_G = 1e-4


def test_mettler_toledo_device_reads_weights_zero_and_identity() -> None:
    mtd = pytest.importorskip("mettler_toledo_device", reason="the dev extra installs mettler-toledo-device")
    with spawn("hil", "emulate", "balance", *VESSEL) as emu:
        dev = mtd.MettlerToledoDevice(port=emu.path)  # waits 2 s (its reset delay)
        try:
            assert dev.get_serial_number() == "1000000001"
            assert dev.get_balance_data() == ["pumpsim", "SM220", "220.00000", "g"]
            assert dev.get_software_version() == ["1.00", "pumpsim"]
            assert dev.get_software_id() == "PS0001A"
            assert dev.get_mtsics_level()[0] == "01"
            value, unit, status = dev.get_weight()  # SI
            assert (unit, status) == ("g", "S") and value == pytest.approx(3.2109, abs=TOL_G)
            stable = dev.get_weight_stable()  # S; None would mean it swallowed an error
            assert stable is not None and stable[1] == "g" and stable[0] == pytest.approx(3.2109, abs=TOL_G)
            assert dev.zero_stable() is True  # Z -> Z A
            assert dev.get_weight()[0] == pytest.approx(0.0, abs=TOL_G)
            assert dev.zero() == "S"  # ZI on a stable load
            # Last: it reads only the first line of I0's list and leaves the others waiting (its limitation).
            assert dev.get_commands() == ["0", "I0"]
        finally:
            dev.close()


def test_instrumentkit_mtsics_reads_weights_zero_and_identity() -> None:
    ik = pytest.importorskip(
        "instruments.mettler_toledo",
        reason="InstrumentKit's MT-SICS driver is not installable here: the PyPI release (instrumentkit 0.6.0, 2020) "
               "has no mettler_toledo module (the driver exists only in the project's repository) and it needs "
               "ruamel.yaml~=0.15, whose C extension does not build on Python 3.11. Nothing vendored; see "
               "sics_peer.py and mettler_toledo_device for third-party coverage.")
    with spawn("hil", "emulate", "balance", *VESSEL) as emu:
        inst = ik.MTSICS.open_serial(emu.path, 9600)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # it warns on dynamic readings
            assert inst.serial_number == "1000000001"
            assert inst.mt_sics[0] == "01"
            assert inst.weight.magnitude == pytest.approx(3.2109, abs=TOL_G)
            assert inst.weight_immediately.magnitude == pytest.approx(3.2109, abs=TOL_G)
            inst.zero()
            assert inst.weight.magnitude == pytest.approx(0.0, abs=TOL_G)
            inst.tare()
            inst.clear_tare()


def test_the_reference_peer_imports_nothing_of_ours() -> None:
    tree = ast.parse((Path(__file__).parent / "sics_peer.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {x for x in names if x.split(".")[0] in ("hil", "pumpsim", "firmware_model")}


def test_a_client_written_from_the_reference_reads_weights_zero_tare_and_identity() -> None:
    with spawn("hil", "emulate", "balance", *VESSEL) as emu:
        peer = Peer(emu.path)
        try:
            assert peer.serial_number() == "1000000001"
            status, value, unit, field = peer.weight("S")
            assert (status, unit) == ("S", "g") and value == pytest.approx(3.2109, abs=TOL_G)
            assert len(field) == 10 and field == field.rjust(10) and field.strip() == field.lstrip()
            status, value, _, _ = peer.weight("SI")
            assert status in "SD" and value == pytest.approx(3.2109, abs=TOL_G)
            assert peer.zero() == "A"
            assert peer.weight("S")[1] == pytest.approx(0.0, abs=TOL_G)
            tare, unit = peer.tare()
            assert unit == "g" and tare == pytest.approx(0.0, abs=TOL_G)
            with pytest.raises(SicsError, match="ES"):
                peer.ask("XYZZY")
        finally:
            peer.close()


def test_the_reference_peer_fails_on_a_violating_reply() -> None:
    """The peer's checks can fail: an overloaded balance (a 300 g vessel on a 220 g balance) is refused."""
    with spawn("hil", "emulate", "balance", "--vessel", "300 g") as emu:
        peer = Peer(emu.path)
        try:
            with pytest.raises(SicsError, match=r"status \+"):
                peer.weight("SI")
        finally:
            peer.close()
