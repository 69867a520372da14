"""run.json: what varies from one run of a scenario to the next (wall time, host, versions, command).

Kept apart from summary.json, events.jsonl and trace.csv so that those depend
only on the scenario and the seed. Written by ``pumpsim run``; see
:class:`~pumpsim.results.records.RunInfo` for the fields.
"""

from __future__ import annotations

import platform
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata

import numpy as np

from .records import RunInfo


def pumpsim_version() -> str:
    """The installed distribution's version (one place: pyproject.toml), or ``0+unknown`` if not installed."""
    try:
        return metadata.version("pumpsim")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def utc_iso(t: datetime) -> str:
    """*t* (timezone-aware) as ISO 8601 in UTC to the second: ``2026-11-25T16:04:28Z``."""
    if t.tzinfo is None:
        raise ValueError(f"{t!r}: expected a timezone-aware datetime")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_info(
    *, started: datetime, wall_s: float, argv: Sequence[str], exact: bool, seed_override: int | None
) -> RunInfo:
    """The run.json record of a run that started at *started* (timezone-aware) and took *wall_s*."""
    return {
        "pumpsim_version": pumpsim_version(),
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "started_utc": utc_iso(started),
        "wall_s": round(wall_s, 6),
        "argv": list(argv),
        "mode": "exact" if exact else "bulk",
        "seed_override": seed_override,
    }
