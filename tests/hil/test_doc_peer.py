"""A device under test written from docs/hil-protocol.md alone (tests/hil/doc_peer.py) runs against ``hil serve``.

Also: the document's frames all carry the right CRC, and its generated parts
(verb tables, example sessions answered by the real bench) are up to date.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import pytest
from doc_peer import run_dut

from hil.ports import Pty
from hil.testing import PUMPSIM

pytestmark = [pytest.mark.hil, pytest.mark.timeout(60)]

DOC = Path(__file__).resolve().parents[2] / "docs" / "hil-protocol.md"
#: The built-in scenario "analytic"'s plant, as a DUT would be configured for it.
ANALYTIC = {"STROKE_PL": 250000, "CAL_ERROR": "0.0", "STROKE_CV": "0.0", "SEED": 1, "RESERVOIR_NL": 20000000,
            "FILL_NL": 20000000, "CONC_NG_PER_ML": 500000, "DEAD_NL": 234000, "PRIMED": 1}


def test_a_peer_written_from_the_document_drives_serve(tmp_path: Path) -> None:
    """The peer pumps 100 strokes 10 min apart for 10 h: 60 fire; serve records them and the session."""
    pty = Pty()  # the DUT's port: serve opens the slave, the peer the master (a null-modem cable)
    master = pty.port()
    master.timeout = 0.25
    serve = subprocess.Popen([*PUMPSIM, "hil", "serve", "analytic", "--port", pty.path, "--out", str(tmp_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stderr is not None
        assert "waiting for a device under test" in serve.stderr.readline()
        result: dict[str, object] = {}
        t = threading.Thread(target=lambda: result.update(run_dut(master, ANALYTIC, 100, 600_000, 10)))
        t.start()
        t.join(30)
        _, err = serve.communicate(timeout=30)
    finally:
        if serve.poll() is None:
            serve.kill()
        pty.close()
    assert result["counts"] == [6 * h for h in range(1, 11)]
    assert isinstance(result["damaged"], bytes) and result["damaged"].startswith(b"0 ERR BADCRC")
    assert result["retry_same"] is True
    # 60 strokes x 0.25 uL (250 nL) = 15,000 nL out of the 20 mL reservoir.
    assert result["state"] == {"T_MS": "36000000", "N": "60", "PUMPED_NL": "15000.0",
                               "RESERVOIR_NL": "19985000.0", "EPOCH": "0"}
    assert serve.returncode == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] and summary["strokes"] == 60 and summary["pumped_ml"] == 15_000 / 1_000_000
    assert json.loads((tmp_path / "hil.json").read_text())["peer_role"] == "dut"


def test_every_frame_in_the_document_has_the_right_crc() -> None:
    import binascii
    frames = re.findall(r"^[<>] \$([^*\n]+)\*([0-9A-F]{4})$", DOC.read_text(), re.M)
    frames += re.findall(r"`\$([^*`]+)\*([0-9A-F]{4})`", DOC.read_text())
    assert len(frames) > 20
    for body, check in frames:
        body = body.rpartition("$")[2]  # a frame cut short by a new "$" (an example): the new frame counts
        if "KOUNT" in body:  # the example of a damaged frame
            assert int(check, 16) != binascii.crc_hqx(body.encode(), 0xFFFF)
        else:
            assert int(check, 16) == binascii.crc_hqx(body.encode(), 0xFFFF), body


def test_the_generated_parts_are_up_to_date() -> None:
    from hil.docgen import main
    assert main([str(DOC), "--check"]) == 0, "run: python -m hil.docgen (or ./dev docs)"
