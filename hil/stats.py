"""Link statistics and timing figures, as hil.json reports them.

:class:`LinkStats` counts what one :class:`~hil.link.Link` sent, received,
retried and refused; :class:`Samples` keeps durations (round trips, real-time
lateness) and reports p50/p99/max. Every counter is declared once here with
the text that documents it; docs/hil-protocol.md's hil.json table is
generated from these declarations (:mod:`hil.docgen`).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np


def _count(doc: str) -> Any:
    return field(default=0, metadata={"doc": doc})


class Samples:
    """Durations in seconds; reported in ms as p50, p99 and max."""

    __slots__ = ("_s",)

    def __init__(self) -> None:
        self._s: array[float] = array("d")

    def add(self, seconds: float) -> None:
        self._s.append(seconds)

    def __len__(self) -> int:
        return len(self._s)

    def percentiles_ms(self, since: int = 0) -> dict[str, float | None]:
        """``{"p50_ms", "p99_ms", "max_ms"}`` of the samples from index *since* on (None without samples),
        rounded to 0.1 µs."""
        if len(self._s) <= since:
            return {"p50_ms": None, "p99_ms": None, "max_ms": None}
        ms = np.frombuffer(self._s, dtype=np.float64)[since:] * 1000
        return {"p50_ms": round(float(np.percentile(ms, 50)), 4), "p99_ms": round(float(np.percentile(ms, 99)), 4),
                "max_ms": round(float(ms.max()), 4)}


@dataclass
class LinkStats:
    """Counters of one link; each field's metadata documents it."""

    frames_tx: int = _count("Frames written (requests, replies, replays, error replies).")
    frames_rx: int = _count("Frames received with a good CRC.")
    bytes_tx: int = _count("Bytes written.")
    bytes_rx: int = _count("Bytes received, noise included.")
    requests_tx: int = _count("Requests sent (each counted once, however often it was re-sent).")
    requests_rx: int = _count("Requests received, retries and duplicates included.")
    retries: int = _count("Re-sends of a request: after a timeout, a NAK from the peer, or a reconnection.")
    timeouts: int = _count("Waits for a reply that expired.")
    failures: int = _count("Requests given up: no reply after every retry, or the port gone for good.")
    crc_errors: int = _count("Frames received with a bad CRC (answered `0 ERR BADCRC`).")
    frame_errors: int = _count("Malformed frames received (answered `0 ERR BADFRAME`).")
    naks_rx: int = _count("`0 ERR BADCRC` / `0 ERR BADFRAME` received: the peer could not read something we sent.")
    skipped_bytes: int = _count("Bytes outside any frame (noise, a peer's boot text).")
    truncated_frames: int = _count("Unfinished frames dropped because a new `$` came first.")
    replays: int = _count("Retried requests answered from the replay cache (not acted on again).")
    stale: int = _count("Late duplicates older than the replay cache, refused `ERR STALE`.")
    unmatched_replies: int = _count("Replies that matched no waiting request (late or duplicated).")
    peer_errors: int = _count("`ERR` replies received to our requests (NAKs not included).")
    handler_errors: int = _count("Requests our side failed on (answered `ERR INTERNAL`).")
    disconnects: int = _count("Times the port was lost (EIO, unplugged).")
    reconnects: int = _count("Times the port was opened again after a loss.")
    #: Round trips of requests sent alone and answered on their first transmission.
    rtt: Samples = field(default_factory=Samples)

    def record(self) -> dict[str, int | float | None]:
        """The counters, then ``rtt_samples`` and ``rtt_p50_ms`` / ``rtt_p99_ms`` / ``rtt_max_ms``."""
        out: dict[str, int | float | None] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rtt"}
        out["rtt_samples"] = len(self.rtt)
        out.update({f"rtt_{k}": v for k, v in self.rtt.percentiles_ms().items()})
        return out

    @staticmethod
    def docs() -> list[tuple[str, str]]:
        """(key, meaning) of every key :meth:`record` writes, in order."""
        out = [(f.name, str(f.metadata["doc"])) for f in fields(LinkStats) if f.name != "rtt"]
        out.append(("rtt_samples", "Round trips measured: requests sent alone (not pipelined) and answered on "
                                   "their first transmission."))
        out += [(f"rtt_{q}_ms", f"Round trip, {what} (ms; null without samples): request written to reply parsed.")
                for q, what in (("p50", "median"), ("p99", "99th percentile"), ("max", "longest"))]
        return out
