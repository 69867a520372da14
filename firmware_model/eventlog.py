"""The controller's event log: a fixed-capacity ring buffer of integer records.

Real pump firmware keeps a small log in RAM or flash that the clinician
programmer reads back at interrogation; when it is full the oldest entries are
overwritten. Each record here is four integers (time, code, two arguments), so
a C port is a static array of structs and two indices.

Readers that must not miss anything (the simulator's engine, a bench host)
poll :meth:`EventLog.since` with the sequence number they last saw; if the
writer lapped them, :meth:`since` reports how many records were lost.
"""

from __future__ import annotations

from typing import Final

from ._record import Record, name_table


class EventCode:
    """What a log record means. The meaning of ``a`` and ``b`` is given per code."""

    BOOT: Final = 1  # a = firmware version, b = 0
    ALARM_RAISED: Final = 2  # a = AlarmId, b = reservoir estimate (nL)
    ALARM_CLEARED: Final = 3  # a = AlarmId, b = reservoir estimate (nL)
    TONE: Final = 4  # a = AlarmId that owns the tone, b = Priority
    REFILL: Final = 5  # a = new reservoir estimate (nL), b = new concentration (ng/mL)
    REPROGRAM: Final = 6  # a = mode (PrescriptionMode), b = daily dose (ng/day)
    BOLUS_START: Final = 7  # a = BolusKind, b = volume (nL)
    BOLUS_END: Final = 8  # a = BolusKind, b = volume delivered (nL)
    LOW_ALARM_PREDICTION: Final = 9  # a = predicted low-reservoir alarm time (s), -1 if never
    COMMAND_REJECTED: Final = 10  # a = RejectReason, b = command kind (CommandKind)
    ALARM_THRESHOLD_SET: Final = 11  # a = threshold (nL), b = 0
    DELIVERY_STOPPED: Final = 12  # a = AlarmId that stopped delivery, b = 0
    PATIENT_BOLUS: Final = 13  # a = PtmResult of a press, b = bolus dose (ng) if granted, else 0
    LIMIT_HARD: Final = 14  # a = LimitId a refused command exceeds (hard), b = its value in the limit's unit
    LIMIT_SOFT: Final = 15  # a = LimitId a refused command exceeds (soft, not confirmed), b = the value
    LIMIT_OVERRIDDEN: Final = 16  # a = LimitId of a soft limit the clinician confirmed, b = the value


#: Lowercase name of each :class:`EventCode`.
EVENT_NAMES: Final = name_table(EventCode)


class LogRecord(Record):
    """One log entry: *seq* numbers records from 0 since boot; *code* is an :class:`EventCode`."""

    __slots__ = ("a", "b", "code", "seq", "t_ms")
    __match_args__ = ("seq", "t_ms", "code", "a", "b")

    def __init__(self, seq: int, t_ms: int, code: int, a: int, b: int) -> None:
        self.seq: Final = seq
        self.t_ms: Final = t_ms
        self.code: Final = code
        self.a: Final = a
        self.b: Final = b


class EventLog:
    """Ring buffer of :class:`LogRecord` with a fixed *capacity* (>= 1)."""

    def __init__(self, capacity: int = 256) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 record, got {capacity}")
        self._capacity = capacity
        self._slots: list[LogRecord | None] = [None] * capacity
        self._next_seq = 0

    @property
    def capacity(self) -> int:
        """Number of records kept before the oldest is overwritten."""
        return self._capacity

    @property
    def next_seq(self) -> int:
        """Sequence number the next record will get (= records written so far)."""
        return self._next_seq

    def append(self, t_ms: int, code: int, a: int = 0, b: int = 0) -> None:
        """Write a record (*code* an :class:`EventCode`), overwriting the oldest one when full."""
        self._slots[self._next_seq % self._capacity] = LogRecord(self._next_seq, t_ms, code, a, b)
        self._next_seq += 1

    def since(self, seq: int) -> tuple[list[LogRecord], int]:
        """Records with sequence number >= *seq*, oldest first, and how many were lost.

        Records older than the buffer's reach are gone; their count is returned
        as the second item so a reader can report the gap instead of hiding it.
        """
        n, cap = self._next_seq, self._capacity
        oldest = n - cap if n > cap else 0
        lost = oldest - seq if seq < oldest else 0
        start = seq if seq > oldest else oldest
        if start >= n:
            return [], lost
        i, j = start % cap, n % cap
        # Slices of the ring: one if the range does not wrap, two if it does.
        slots = self._slots[i:j] if i < j else self._slots[i:] + self._slots[:j]
        out = [rec for rec in slots if rec is not None]  # slots below next_seq are always written
        return out, lost

    def records(self) -> list[LogRecord]:
        """All records still held, oldest first."""
        return self.since(0)[0]
