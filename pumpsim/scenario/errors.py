"""The one error a scenario can raise, and how it shows what was written."""

from __future__ import annotations


class Shown:
    """A value that was not written as such, shown in messages as *text*.

    Used for a key left out (``(missing)``), a default that is out of range
    because it follows another key (``first`` defaults to ``every``, which may
    be longer than the run: ``(default 30 d)``), or a count (``(25 tables)``).
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


#: Stands for a key that is not in the file.
MISSING = Shown("(missing)")


class ScenarioError(ValueError):
    """A scenario is invalid: ``str(e)`` is ``KEY = VALUE: expected WHAT``.

    ``key`` is the place in the file (``duration``, ``[pump] fill``,
    ``[visit 2] refill``), ``value`` what was written there (or
    :data:`MISSING`), ``expected`` what would have been accepted. ``origin``
    names the file, when the scenario came from one (the command line puts it
    in front of the message).
    """

    def __init__(self, key: str, value: object, expected: str) -> None:
        super().__init__(f"{key} = {show(value)}: expected {expected}")
        self.key = key
        self.value = value
        self.expected = expected
        self.origin: str | None = None


def show(value: object) -> str:
    """*value* as it was written in TOML (strings quoted, tables as ``{...}``)."""
    if isinstance(value, Shown):
        return repr(value)
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return "[{...}, ...]"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)
