"""Alarm tones as data.

A tone pattern is a short list of (frequency, on-time, off-time) segments that
the sounder plays once. How often a pattern repeats is the alarm's business
(see :mod:`firmware_model.alarms`), not the pattern's.

SynchroMed II uses two patterns (Medtronic "Product Advisories, July 2011";
medtronic.com "Product Support - SynchroMed"; domain.md section 2.1, [C]):

* non-critical: a 1-second single tone (low reservoir, ERI), repeating about
  once an hour;
* critical: a 3-second dual (two-)tone (empty reservoir, motor stall, end of
  service).

The frequencies below are not published; they are placeholders ([U]) chosen
inside the 150-1000 Hz fundamental range of IEC 60601-1-8 so a rendered tone is
audible and plausible.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Priority(IntEnum):
    """Alarm priority. Higher values win the sounder (REQ-ALM-005)."""

    NON_CRITICAL = 1
    CRITICAL = 2


@dataclass(frozen=True, slots=True)
class ToneSegment:
    """One segment of a tone pattern: *freq_hz* for *on_ms*, then *off_ms* silence."""

    freq_hz: int
    on_ms: int
    off_ms: int = 0

    def __post_init__(self) -> None:
        if self.freq_hz <= 0:
            raise ValueError(f"freq_hz must be > 0 Hz, got {self.freq_hz}")
        if self.on_ms <= 0:
            raise ValueError(f"on_ms must be > 0 ms, got {self.on_ms}")
        if self.off_ms < 0:
            raise ValueError(f"off_ms must be >= 0 ms, got {self.off_ms}")


@dataclass(frozen=True, slots=True)
class TonePattern:
    """A named sequence of tone segments, played once per call to the sounder."""

    name: str
    priority: Priority
    segments: tuple[ToneSegment, ...]

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError(f"tone pattern {self.name!r} has no segments")

    @property
    def duration_ms(self) -> int:
        """Total time the pattern occupies the sounder, silences included."""
        return sum(s.on_ms + s.off_ms for s in self.segments)


#: Non-critical alarm: one 1-second tone ([C] duration; [U] frequency).
NON_CRITICAL_TONE = TonePattern(
    "non_critical", Priority.NON_CRITICAL, (ToneSegment(freq_hz=880, on_ms=1_000),)
)

#: Critical alarm: 3 seconds alternating between two tones ([C] duration and
#: two-tone character; [U] frequencies and the 500 ms alternation).
CRITICAL_TONE = TonePattern(
    "critical",
    Priority.CRITICAL,
    tuple(ToneSegment(freq_hz=f, on_ms=500) for f in (988, 659, 988, 659, 988, 659)),
)
