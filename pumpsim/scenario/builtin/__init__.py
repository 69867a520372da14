"""Built-in scenarios, shipped as TOML files next to this module.

``pumpsim scenarios`` lists them and ``pumpsim scenarios show NAME`` prints one
to copy and edit. The first line of each file (a ``#`` comment) is its summary.
"""

from __future__ import annotations

from importlib import resources

DEFAULT = "default"


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, default first."""
    names = sorted(
        p.name[: -len(".toml")] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml")
    )
    return sorted(names, key=lambda n: (n != DEFAULT, n))


def builtin_text(name: str) -> str:
    """The TOML text of built-in scenario *name* (KeyError if there is none)."""
    if name not in builtin_names():
        raise KeyError(name)
    return resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")


def builtin_summary(name: str) -> str:
    """The one-line summary at the top of a built-in scenario."""
    first = builtin_text(name).splitlines()[0]
    return first.lstrip("#").strip()
