"""The house rules: hil -> pumpsim -> firmware_model, and firmware_model uses the standard library only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


def test_firmware_model_imports_only_the_standard_library() -> None:
    """firmware_model could be ported to C: no simpy, numpy, serial, pumpsim or hil."""
    bad = {(f, m) for f, m in _imports("firmware_model") if m not in sys.stdlib_module_names}
    assert not bad


def test_pumpsim_does_not_import_hil() -> None:
    """The dependency runs hil -> pumpsim -> firmware_model only."""
    assert not {(f, m) for f, m in _imports("pumpsim") if m == "hil"}


def test_importing_pumpsim_does_not_pull_in_test_tools() -> None:
    """`import pumpsim` stays light: no hypothesis, pytest or dask at import time."""
    code = (
        "import sys, pumpsim, pumpsim.cli; "
        "print(sorted(m for m in ('hypothesis', 'pytest', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
