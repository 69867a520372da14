"""The sweep directory: what is written where and when, and how a sweep is resumed from it.

Files (docs/sweep.md, "Output files"):

* ``sweep.json``: the plan (:class:`~pumpsim.sweep.records.SweepConfig`),
  written first, atomically;
* ``runs.jsonl``: one line per finished run, appended and flushed per chunk;
  when the sweep is complete it is rewritten in index order (atomically), so
  its bytes depend on the plan only;
* ``aggregate.json`` and ``aggregate.csv``: written atomically at the end of
  every session that was not interrupted;
* ``run.json``: what varies from session to session (times, host, versions,
  the runner), one :class:`~pumpsim.sweep.records.SweepSession` per session.

Resuming compares the request with sweep.json and the pumpsim version with
the one that started the sweep, then skips the runs in runs.jsonl (a last line
cut off mid-write is cut off the file; any other damage is an error). A
format-1 directory (sweep.json with pumpsim_version, created and execution) is
converted to format 2 when its resumed session starts; the moved keys are kept
in run.json under ``format_1``.
"""

from __future__ import annotations

import json
import platform
import socket
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from ..fileio import write_json_atomic, write_text_atomic
from ..results.run_info import pumpsim_version, utc_iso
from .errors import SweepError
from .plan import SweepPlan
from .records import (
    FORMAT,
    RESUMABLE_FORMATS,
    Aggregate,
    RunRecord,
    SessionOutcome,
    SweepConfig,
    SweepRunMeta,
    SweepSession,
)
from .report import aggregate_csv

CONFIG_FILE = "sweep.json"
RUNS_FILE = "runs.jsonl"
META_FILE = "run.json"
AGGREGATE_JSON = "aggregate.json"
AGGREGATE_CSV = "aggregate.csv"
#: Every file a sweep directory holds.
FILES = (CONFIG_FILE, RUNS_FILE, AGGREGATE_JSON, AGGREGATE_CSV, META_FILE)
#: The keys of sweep.json that --resume compares with the request (besides the format).
COMPARED = ("scenario", "scenario_source", "runs", "seed", "days", "vary")
#: Keys a format-1 sweep.json had besides the plan (format 2 keeps them in run.json).
_FORMAT_1_EXTRA = ("pumpsim_version", "created", "execution")


def _read_stored(out_dir: Path) -> tuple[SweepConfig, dict[str, Any]]:
    """(the plan in sweep.json, the format-1 extra keys or {}); SweepError if absent, unreadable or unknown."""
    p = out_dir / CONFIG_FILE
    if not p.is_file():
        raise SweepError(f"--out {out_dir}: no {CONFIG_FILE} there, so no sweep to resume")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SweepError(f"--out {out_dir}: cannot read {CONFIG_FILE} ({e})") from None
    if not isinstance(raw, dict) or any(k not in raw for k in ("format", *COMPARED)):
        raise SweepError(f"--out {out_dir}: {CONFIG_FILE} is not a pumpsim sweep configuration")
    if raw["format"] not in RESUMABLE_FORMATS:
        raise SweepError(f"--out {out_dir}: {CONFIG_FILE} has format {raw['format']!r}; this pumpsim reads formats "
                         + ", ".join(map(str, RESUMABLE_FORMATS)))
    extra = {k: raw.get(k) for k in _FORMAT_1_EXTRA} if raw["format"] == 1 else {}
    cfg = cast(SweepConfig, {"format": raw["format"], **{k: raw[k] for k in COMPARED}})
    return cfg, extra


def read_config(out_dir: Path) -> SweepConfig:
    """The plan stored in *out_dir*'s sweep.json (SweepError if absent, unreadable or of an unknown format)."""
    return _read_stored(out_dir)[0]


def config_mismatch(plan: SweepPlan, cfg: Mapping[str, object]) -> str | None:
    """The first field in which *plan* differs from a stored configuration, as a message, or None."""
    mine: Mapping[str, object] = plan.config()
    for k in COMPARED:
        if mine[k] != cfg.get(k):
            if k == "scenario_source":
                return "the scenario's TOML differs from the one the sweep started with"
            return f"{k} = {json.dumps(mine[k])} here, but {json.dumps(cfg.get(k))} in the sweep"
    return None


def run_line(rec: RunRecord) -> str:
    """A record as its runs.jsonl line (compact JSON, keys in record order, a newline)."""
    return json.dumps(rec, separators=(",", ":")) + "\n"


def read_runs(path: Path, runs: int) -> dict[int, RunRecord]:
    """Finished runs from runs.jsonl by index (the first record of an index counts).

    A last line cut off mid-write (an interrupted write) is cut off the file.
    Any other line that is not a record of a run 0 .. runs-1 raises
    :class:`SweepError` naming the line: the file is left as it is.
    """
    done: dict[int, RunRecord] = {}
    if not path.exists():
        return done
    raw = path.read_bytes()
    good_end = 0
    pos = 0
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        end = len(raw) if nl < 0 else nl + 1
        line = raw[pos:end].strip()
        pos = end
        if not line:
            good_end = end
            continue
        try:
            rec = json.loads(line)
            ok = (isinstance(rec, dict) and isinstance(rec.get("index"), int) and isinstance(rec.get("ok"), bool)
                  and nl >= 0)
        except ValueError:
            ok = False
        if not ok:
            if end < len(raw):
                line_no = raw[:end].count(b"\n")
                raise SweepError(f"{path}: line {line_no} is not a run record; the file is damaged "
                                 "(only a cut-off last line is tolerated)")
            break  # the last line was cut off mid-write: drop it
        if not 0 <= rec["index"] < runs:
            line_no = raw[:end].count(b"\n")
            raise SweepError(f"{path}: line {line_no} is the record of run {rec['index']}, not one of runs 0 to "
                             f"{runs - 1}; the file is damaged")
        good_end = end
        done.setdefault(rec["index"], cast(RunRecord, rec))
    if good_end < len(raw):
        with open(path, "r+b") as f:
            f.truncate(good_end)
    return done


def read_meta(out_dir: Path) -> SweepRunMeta | None:
    """run.json of a sweep directory, or None if there is none (SweepError if it is damaged)."""
    p = out_dir / META_FILE
    if not p.exists():
        return None
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SweepError(f"{p}: cannot read it ({e})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("sessions"), list):
        raise SweepError(f"{p}: not the run.json of a pumpsim sweep (no \"sessions\" list)")
    return cast(SweepRunMeta, meta)


def _started_by(meta: SweepRunMeta | None, format_1: Mapping[str, Any]) -> str | None:
    """The pumpsim version that started the sweep, if known."""
    if format_1:
        return str(format_1.get("pumpsim_version"))
    if meta is not None:
        if "format_1" in meta:
            return str(meta["format_1"].get("pumpsim_version"))
        if meta["sessions"]:
            return str(meta["sessions"][0].get("pumpsim_version"))
    return None


def new_session(*, runner: str, workers: int | None, scheduler: str | None, chunk: int | None,
                argv: Sequence[str] | None = None) -> SweepSession:
    """The run.json entry of a session starting now (``outcome`` "running" until :meth:`SweepStore.end_session`)."""
    return {
        "started_utc": utc_iso(datetime.now(UTC)),
        "wall_s": None,
        "host": socket.gethostname(),
        "pumpsim_version": pumpsim_version(),
        "python_version": platform.python_version(),
        "argv": list(sys.argv if argv is None else argv),
        "runner": runner,
        "workers": workers,
        "scheduler": scheduler,
        "chunk": chunk,
        "ran": 0,
        "outcome": "running",
    }


class SweepStore:
    """The files of one sweep directory, written in an order that survives Ctrl-C and crashes."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.runs_path = out_dir / RUNS_FILE
        self._format_1: dict[str, Any] = {}
        self._meta: SweepRunMeta | None = None

    def check(self, plan: SweepPlan, *, resume: bool) -> dict[int, RunRecord]:
        """Check the directory for *plan*; return the runs already done there (none for a new sweep).

        Writes nothing except cutting off a cut-off last line of runs.jsonl.
        Raises :class:`SweepError` if --out is not a directory, a new sweep
        would overwrite one (or another command's run.json), or (resuming)
        there is no sweep, it differs from *plan*, it was started by another
        pumpsim version, or its runs.jsonl or run.json is damaged.
        """
        d = self.out_dir
        if d.exists() and not d.is_dir():
            raise SweepError(f"--out {d}: exists and is not a directory")
        if not resume:
            clash = [f for f in (CONFIG_FILE, RUNS_FILE) if (d / f).exists()]
            if clash:
                raise SweepError(f"--out {d}: already holds a sweep ({clash[0]}); add --resume to continue it, "
                                 "or choose another directory")
            if (d / META_FILE).exists():
                raise SweepError(f"--out {d}: already holds a {META_FILE} (of another pumpsim command); "
                                 "choose another directory")
            return {}
        cfg, self._format_1 = _read_stored(d)
        why = config_mismatch(plan, cfg)
        self._meta = read_meta(d)
        started_by = _started_by(self._meta, self._format_1)
        if why is None and started_by is not None and started_by != pumpsim_version():
            why = f"pumpsim_version = {json.dumps(pumpsim_version())} here, but {json.dumps(started_by)} in the sweep"
        if why is not None:
            raise SweepError(f"--resume: the request does not match the sweep in {d}: {why}")
        return read_runs(self.runs_path, plan.runs)

    def create(self, plan: SweepPlan) -> None:
        """Start a new sweep directory: sweep.json first, then an empty runs.jsonl (SweepError if unwritable)."""
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.out_dir / CONFIG_FILE, plan.config())
            self.runs_path.touch()
        except OSError as e:
            raise SweepError(f"--out {self.out_dir}: cannot write there ({e.strerror or e})") from None
        self._meta = None

    def begin_session(self, plan: SweepPlan, session: SweepSession) -> None:
        """Record *session* in run.json (converting a format-1 directory to format 2 first)."""
        meta = self._meta
        if self._format_1:
            write_json_atomic(self.out_dir / CONFIG_FILE, plan.config())
            meta = {"format": FORMAT, "sessions": [], "format_1": self._format_1}
            self._format_1 = {}
        if meta is None:
            meta = {"format": FORMAT, "sessions": []}
        meta["sessions"].append(session)
        self._meta = meta
        write_json_atomic(self.out_dir / META_FILE, meta)

    def end_session(self, *, outcome: SessionOutcome, wall_s: float, ran: int) -> None:
        """Complete the current session's entry in run.json."""
        if self._meta is None:
            raise RuntimeError("end_session() without begin_session()")
        session = self._meta["sessions"][-1]
        session["outcome"], session["wall_s"], session["ran"] = outcome, wall_s, ran
        write_json_atomic(self.out_dir / META_FILE, self._meta)

    def append(self, records: Sequence[RunRecord]) -> None:
        """Append *records* to runs.jsonl and flush them (an interrupted sweep keeps every finished run)."""
        with open(self.runs_path, "a", encoding="utf-8") as f:
            f.write("".join(run_line(r) for r in records))

    def write_results(self, records: Mapping[int, RunRecord], agg: Aggregate) -> None:
        """The complete sweep: runs.jsonl in index order, aggregate.json and aggregate.csv, each atomically."""
        write_text_atomic(self.runs_path, "".join(run_line(records[i]) for i in sorted(records)))
        write_json_atomic(self.out_dir / AGGREGATE_JSON, agg)
        write_text_atomic(self.out_dir / AGGREGATE_CSV, aggregate_csv(agg))
