"""Writing result files so that a reader never sees half of one.

One helper for the whole package: the run outputs, the sweep store and the HIL
records all write their final files through it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_text_atomic(path: Path, text: str) -> None:
    """Write *text* to *path* through a temporary file and a rename (never half-written)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def json_text(obj: Any) -> str:
    """The project's JSON file layout: 2-space indent, keys in insertion order, a final newline."""
    return json.dumps(obj, indent=2) + "\n"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write *obj* as JSON (see :func:`json_text`) to *path* atomically."""
    write_text_atomic(path, json_text(obj))
