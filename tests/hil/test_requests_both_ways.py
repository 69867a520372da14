"""Requests go both ways: a bench passes a clinician's command on (TELEM) and reports a stall (ALERT)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from hil.emulators import BenchEmulator
from hil.endpoint import Dispatcher
from hil.firmware_side import FirmwareSession, RunOutcome
from hil.link import Link, PeerError
from hil.verbs import Args, Role
from pumpsim.scenario import load_scenario, with_duration
from pumpsim.units import MS_PER_H

pytestmark = [pytest.mark.hil, pytest.mark.timeout(60)]


def test_telemetry_from_the_bench_reaches_the_firmware_and_a_stall_is_reported(tmp_path: Path) -> None:
    """Two simulated hours at 3,600x (2 s): a threshold command and a stall arrive while it runs."""
    sc = with_duration(load_scenario("analytic"), 2 * MS_PER_H)
    with BenchEmulator() as bench:
        link = Link.to_url(bench.path)
        session = FirmwareSession(sc, link, clock="realtime", speed=3600, out_dir=tmp_path)
        link.responder = Dispatcher(Role.HOST, session.endpoint)
        outcome: list[RunOutcome] = []
        with link:
            session.connect()
            t = threading.Thread(target=lambda: outcome.append(session.run()))
            t.start()
            time.sleep(0.5)
            reply = bench.link.call("TELEM", {"CMD": "threshold", "THRESHOLD_NL": 5_000_000})
            assert reply.values()["QUEUED"] == "1"
            with pytest.raises(PeerError, match="BADARG"):
                bench.link.call("TELEM", {"CMD": "reprogram", "MODE": "flex"})
            time.sleep(0.3)
            bench.server.handle("FAULT", Args({"STALL": True}))
            t.join(30)
    (o,) = outcome
    assert o.complete, o.failure
    thresholds = [e for e in o.events if e["kind"] == "threshold"]
    assert [e["low_reservoir_ml"] for e in thresholds] == [5.0]  # type: ignore[typeddict-item]
    hil = json.loads((tmp_path / "hil.json").read_text())
    assert hil["telemetry_commands"] == 1
    assert len(hil["alerts"]) == 1 and hil["alerts"][0].startswith("stall@")
    assert hil["count_mismatches"] >= 1  # the stalled motor stopped counting; the host followed the bench
