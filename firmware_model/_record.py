"""Plain records and integer constant sets: the two shapes firmware data takes.

A C port has structs and ``#define`` sets, not dataclasses and enums, so the
firmware keeps to their Python equivalents:

* a **record** is a class with ``__slots__`` and an explicit ``__init__`` that
  validates its fields; :class:`Record` gives it value equality, a hash and a
  readable repr over the fields named in ``__match_args__`` (the same
  semantics as a frozen dataclass: two records are equal when they are of the
  same class and their fields are equal). Fields are annotated ``Final`` so
  ``mypy`` rejects writes after construction; they are not guarded at run
  time, which keeps records cheap and picklable.
* a **constant set** is a class of upper-case ``int`` attributes used as a
  namespace (``AlarmId.LOW_RESERVOIR == 1``). Values in logs and records are
  plain ints. Each set has one lowercase name table built by
  :func:`name_table` (``ALARM_NAMES[1] == "low_reservoir"``), which hosts use
  to decode log records; the firmware itself never needs the names.
"""

from __future__ import annotations

from typing import ClassVar


class Record:
    """Base of the firmware's slotted records: ``==``, ``hash`` and ``repr`` over ``__match_args__``."""

    __slots__ = ()
    #: The record's fields, in constructor order (subclasses set it).
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({fields})"


def name_table(constants: type) -> dict[int, str]:
    """``{value: lowercase name}`` of the upper-case int attributes of *constants*, by value.

    Raises ValueError if two names share a value (a log record could not be
    decoded).
    """
    pairs = [(v, k.lower()) for k, v in vars(constants).items() if k.isupper() and type(v) is int]
    table = dict(sorted(pairs))
    if len(table) != len(pairs):
        raise ValueError(f"{constants.__name__}: two constants share a value")
    return table
