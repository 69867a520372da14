"""What several commands share: loading the named scenario, choosing a new output folder, parsing quantities."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from ..scenario import SCENARIO, Scenario, load_scenario
from ..scenario.quantities import QuantityError
from ..scenario.spec import Computed, Fixed
from .app import UserError

T = TypeVar("T")


def load(name: str) -> Scenario:
    """The scenario named on the command line: a file or a built-in.

    Files are read by :func:`~pumpsim.scenario.loader.read_scenario_text`: only
    regular files of at most 1 MB; anything else is a ScenarioError.
    """
    return load_scenario(name)


def new_out_dir(prefix: str, name: str, root: Path = Path("runs")) -> Path:
    """A folder that does not exist yet: ``runs/PREFIXNAME-YYYYMMDD-HHMMSS[-N]``.

    The scenario name becomes part of a path, so it is cut down to safe characters.
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "scenario"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = root / f"{prefix}{slug[:60]}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = root / f"{prefix}{slug[:60]}-{stamp}-{n}"
    return out


def quantity(flag: str, text: str, parse: Callable[[object], T]) -> T:
    """Option *flag*'s *text* parsed by a :mod:`~pumpsim.scenario.quantities` parser; UserError if it is not one."""
    try:
        return parse(text)
    except QuantityError as e:
        raise UserError(f"{flag} {text!r}: expected {e.expected}") from None


def schema_default(path: str) -> str:
    """The default of scenario key *path* ("pump.reservoir") as written in a file ("20 mL"); the schema says it."""
    d = SCENARIO.keys()[path].default
    literal = d.literal if isinstance(d, Fixed | Computed) else None
    assert isinstance(literal, str), f"{path} has no literal default"
    return literal
