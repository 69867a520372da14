"""hil.json: what a HIL session adds to the output files of ``pumpsim run``.

The record is typed here, each field with its unit and text (the table in
docs/hil-protocol.md is generated from it, :mod:`hil.docgen`); the link's
counters are :class:`hil.stats.LinkStats`. Like run.json, hil.json holds what
varies from one session to the next (timings, the wire's faults); summary.json,
events.jsonl and trace.csv do not.
"""

# No `from __future__ import annotations`: the docs generator reads the Annotated metadata at run time.

from pathlib import Path
from typing import Annotated, TypedDict

from pumpsim.fileio import write_json_atomic
from pumpsim.results.records import Doc


class Lateness(TypedDict):
    """Real-time lateness of the stops of a ``--clock realtime`` run (nulls in virtual time)."""

    samples: Annotated[int, Doc("", "Stops measured.")]
    p50_ms: Annotated[float | None, Doc("ms", "Median lateness: wall clock past the stop's scheduled time.")]
    p99_ms: Annotated[float | None, Doc("ms", "99th percentile.")]
    max_ms: Annotated[float | None, Doc("ms", "Worst.")]
    behind_ms: Annotated[float, Doc("ms", "The limit above which a stop counts as late (`--behind-ms`).")]
    late_stops: Annotated[int, Doc("", "Stops later than `behind_ms`.")]
    behind_episodes: Annotated[int, Doc("", "Times the run fell behind (each said once on stderr).")]


class HilRecord(TypedDict):
    """hil.json."""

    role: Annotated[str, Doc("", "This side's role: `host`, `dut` or `plant`.")]
    peer_role: Annotated[str | None, Doc("", "The peer's role from its HELLO, or `null` if none was exchanged.")]
    peer_caps: Annotated[list[str], Doc("", "The peer's capabilities (verb groups).")]
    port: Annotated[str, Doc("", "The port (pyserial URL or pty path).")]
    clock: Annotated[str, Doc("", "`virtual` or `realtime`.")]
    speed: Annotated[float, Doc("x", "Real-time speed factor (1 in virtual time).")]
    complete: Annotated[bool, Doc("", "`true` if the run reached its end.")]
    failure: Annotated[str | None, Doc("", "Why the session stopped early (one line), or `null`.")]
    interrupted: Annotated[bool, Doc("", "`true` after Ctrl-C (SIGINT) or SIGTERM.")]
    simulated_s: Annotated[float, Doc("s", "Simulated time reached.")]
    wall_s: Annotated[float, Doc("s", "Wall-clock time of the session.")]
    link: Annotated[dict[str, int | float | None], Doc(
        "", "Link statistics (the keys are listed below).")]
    lateness: Annotated[Lateness, Doc("", "Real-time lateness.")]
    count_mismatches: Annotated[int, Doc(
        "", "Times the bench's stroke counter differed from the host's mirror of the program (a stall, a fault).")]
    alerts: Annotated[list[str], Doc("", "ALERT requests received, as `KIND@T_MS`.")]
    telemetry_commands: Annotated[int, Doc("", "TELEM commands received and queued for the firmware.")]
    nan_trace_rows: Annotated[int, Doc(
        "", "Trace rows whose plant values could not be read after the link failed (written as `nan`).")]
    stale_plant_state: Annotated[bool, Doc(
        "", "`true` if summary.json's plant values are the last ones read before the link failed.")]
    wire: Annotated[str, Doc("", "Wire shaping applied on this side (`none`, or the options).")]


FILE = "hil.json"


def write(out_dir: Path, record: HilRecord) -> Path:
    """Write *record* as ``out_dir/hil.json`` (atomically)."""
    path = out_dir / FILE
    write_json_atomic(path, record)
    return path
