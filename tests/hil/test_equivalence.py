"""The bridge is lossless: HIL sessions over a pty write what ``pumpsim run`` writes, for every built-in scenario.

Role 1: ``pumpsim hil run S --clock virtual`` against ``pumpsim hil emulate bench``.
Role 2: ``pumpsim hil serve S`` against ``pumpsim hil emulate dut S --out D``.
Each is the real command in its own process, talking over a pseudo-terminal,
at the scenario's full length (the longest, ``default``, is a year: about
12,000 requests each way, a few seconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.firmware_side import unsupported
from hil.testing import Spawned, pumpsim_cli, spawn
from pumpsim.engine import Simulation
from pumpsim.results import DirectorySink
from pumpsim.scenario import load_scenario
from pumpsim.scenario.builtin import builtin_names

pytestmark = [pytest.mark.hil, pytest.mark.timeout(120)]

FILES = ("events.jsonl", "summary.json", "trace.csv")
#: Written only for a scenario with a [patient] table (the CSF model, an analysis of the trace).
PATIENT_FILES = ("pk.csv", "trial.csv")


def _files(ref: Path) -> tuple[str, ...]:
    """The result files pumpsim run wrote in *ref* that a HIL session must write identically."""
    return FILES + tuple(f for f in PATIENT_FILES if (ref / f).exists())


#: The built-ins protocol v1 can carry (programmable peristaltic pumps; see hil.firmware_side.unsupported).
HIL_BUILTINS = [n for n in builtin_names() if unsupported(load_scenario(n)) is None]
#: The others: a HIL session refuses them with one line.
OTHER_BUILTINS = [n for n in builtin_names() if n not in HIL_BUILTINS]
#: The plant's truth in summary.json (serve must agree with pumpsim run on these).
PLANT_TRUTH = ("strokes", "pumped_ml", "delivered_ml", "delivered_mg", "reservoir_actual_ml", "catheter_content_mg",
               "dry_t_s", "dry_count", "dry_total_s", "balance")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``pumpsim run`` outputs of every built-in scenario (the engine itself, in this process)."""
    root = tmp_path_factory.mktemp("reference")
    out = {}
    for name in HIL_BUILTINS:
        out[name] = root / name
        Simulation(load_scenario(name), sink=DirectorySink(out[name])).run()
    return out


@pytest.fixture(scope="module")
def bench() -> Iterator[Spawned]:
    """One ``pumpsim hil emulate bench`` process for all role-1 sessions (it serves them one after another)."""
    with spawn("hil", "emulate", "bench") as b:
        yield b


def _summary(d: Path) -> dict[str, object]:
    s: dict[str, object] = json.loads((d / "summary.json").read_text())
    return s


@pytest.mark.parametrize("name", HIL_BUILTINS)
def test_role1_hil_run_writes_pumpsim_runs_events(name: str, bench: Spawned, reference: dict[str, Path],
                                                  tmp_path: Path) -> None:
    r = pumpsim_cli(["hil", "run", name, "--port", bench.path, "--out", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    ref = reference[name]
    assert (tmp_path / "events.jsonl").read_text().splitlines() == (ref / "events.jsonl").read_text().splitlines()
    for f in _files(ref):  # over a lossless link the summary and trace are the same bytes too
        assert (tmp_path / f).read_bytes() == (ref / f).read_bytes(), f
    hil = json.loads((tmp_path / "hil.json").read_text())
    assert hil["complete"] and hil["role"] == "host" and hil["peer_role"] == "bench"
    assert hil["link"]["requests_tx"] > 0 and hil["link"]["failures"] == 0 and hil["link"]["rtt_p50_ms"] > 0
    assert "RTT p50" in r.stdout


@pytest.mark.parametrize("name", HIL_BUILTINS)
def test_role2_serve_records_the_plant_truth_and_the_dut_writes_pumpsim_runs_events(
        name: str, reference: dict[str, Path], tmp_path: Path) -> None:
    dut_out, serve_out = tmp_path / "dut", tmp_path / "serve"
    with spawn("hil", "emulate", "dut", name, "--out", str(dut_out)) as dut:
        r = pumpsim_cli(["hil", "serve", name, "--port", dut.path, "--out", str(serve_out)])
        assert r.returncode == 0, r.stderr
    ref = reference[name]
    truth = {k: _summary(serve_out)[k] for k in PLANT_TRUTH}
    assert truth == {k: _summary(ref)[k] for k in PLANT_TRUTH}
    assert (dut_out / "events.jsonl").read_text().splitlines() == (ref / "events.jsonl").read_text().splitlines()
    for f in _files(ref):  # with the DUT's relays, serve's record is pumpsim run's, byte for byte
        assert (serve_out / f).read_bytes() == (ref / f).read_bytes(), f"serve {f}"
        assert (dut_out / f).read_bytes() == (ref / f).read_bytes(), f"dut {f}"
    for d, role in ((serve_out, "plant"), (dut_out, "dut")):
        assert json.loads((d / "hil.json").read_text())["role"] == role


@pytest.mark.parametrize("name", OTHER_BUILTINS)
def test_scenarios_protocol_v1_cannot_carry_are_refused_with_one_line(name: str, tmp_path: Path) -> None:
    """A constant-flow pump (no firmware), a valve-gated pump, environment changes and patient-bolus presses
    have no verbs in protocol v1: every HIL command refuses them before opening a port, exit 2, one line."""
    for args in (["hil", "run", name, "--port", "/dev/null"], ["hil", "serve", name, "--port", "/dev/null"]):
        r = pumpsim_cli([*args, "--out", str(tmp_path / args[1])])
        assert r.returncode == 2, r.stderr
        line = r.stderr.strip()
        assert "\n" not in line and "pumpsim hil cannot run" in line and name in line, line
