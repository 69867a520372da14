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

from typing import Final

from ._record import Record, name_table


class Priority:
    """Alarm priority. Higher values win the sounder (REQ-ALM-005)."""

    NON_CRITICAL: Final = 1
    CRITICAL: Final = 2


#: Lowercase name of each :class:`Priority`.
PRIORITY_NAMES: Final = name_table(Priority)


class ToneSegment(Record):
    """One segment of a tone pattern: *freq_hz* for *on_ms*, then *off_ms* silence.

    Raises ValueError for a frequency or on-time <= 0 or a negative off-time.
    """

    __slots__ = ("freq_hz", "off_ms", "on_ms")
    __match_args__ = ("freq_hz", "on_ms", "off_ms")

    def __init__(self, freq_hz: int, on_ms: int, off_ms: int = 0) -> None:
        if freq_hz <= 0:
            raise ValueError(f"freq_hz must be > 0 Hz, got {freq_hz}")
        if on_ms <= 0:
            raise ValueError(f"on_ms must be > 0 ms, got {on_ms}")
        if off_ms < 0:
            raise ValueError(f"off_ms must be >= 0 ms, got {off_ms}")
        self.freq_hz: Final = freq_hz
        self.on_ms: Final = on_ms
        self.off_ms: Final = off_ms


class TonePattern(Record):
    """A named sequence of tone segments, played once per call to the sounder.

    *priority* is a :class:`Priority`. Raises ValueError for an empty pattern.
    """

    __slots__ = ("name", "priority", "segments")
    __match_args__ = ("name", "priority", "segments")

    def __init__(self, name: str, priority: int, segments: tuple[ToneSegment, ...]) -> None:
        if not segments:
            raise ValueError(f"tone pattern {name!r} has no segments")
        self.name: Final = name
        self.priority: Final = priority
        self.segments: Final = segments

    @property
    def duration_ms(self) -> int:
        """Total time the pattern occupies the sounder, silences included."""
        total = 0
        for s in self.segments:
            total += s.on_ms + s.off_ms
        return total


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
