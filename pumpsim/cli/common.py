"""What several commands share: loading the named scenario and choosing a new output folder."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from ..scenario import Scenario, load_scenario


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
