"""The house rules: hil -> pumpsim -> firmware_model, firmware_model uses the standard library only,
and the plant (pumpsim.plant) knows nothing of the firmware."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The direction of dependency: a package may import only packages of lower or equal rank.
RANK = {"firmware_model": 0, "pumpsim": 1, "hil": 2}


def imports(root: Path, package: str) -> set[tuple[str, str]]:
    """(file, imported module) for every import in *package* under *root*, relative imports made absolute."""
    found = set()
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root)
        here = list(rel.parts[:-1])  # the package the file is in (for __init__.py too)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found |= {(str(rel), a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                mod = ".".join([*base, *([node.module] if node.module else [])])
                found.add((str(rel), mod))
    return found


def backward_imports(root: Path) -> set[tuple[str, str]]:
    """Imports that point against :data:`RANK` (a lower package importing a higher one)."""
    bad = set()
    for package, rank in RANK.items():
        for f, mod in imports(root, package):
            top = mod.split(".")[0]
            if RANK.get(top, -1) > rank:
                bad.add((f, mod))
    return bad


def test_firmware_model_imports_only_the_standard_library() -> None:
    """firmware_model could be ported to C: no simpy, numpy, serial, pumpsim or hil."""
    bad = {(f, m) for f, m in imports(ROOT, "firmware_model")
           if m.split(".")[0] not in sys.stdlib_module_names and not m.startswith("firmware_model")}
    assert not bad


def test_dependencies_point_one_way() -> None:
    """hil -> pumpsim -> firmware_model, nothing backwards (pumpsim never imports hil)."""
    assert not backward_imports(ROOT)


def test_the_plant_does_not_import_the_firmware() -> None:
    """pumpsim.plant is physics: the standard library, numpy and pumpsim.units only.

    (The controller's constants have their own copy in firmware_model._units;
    the plant reads pumpsim.units, and test_units checks the two agree.)
    """
    allowed = {"numpy", "pumpsim.units"}
    bad = {(f, m) for f, m in imports(ROOT, "pumpsim/plant")
           if m.split(".")[0] not in sys.stdlib_module_names and m not in allowed
           and not m.startswith("pumpsim.plant")}
    assert not bad


def test_the_results_do_not_import_the_firmware_or_the_engine() -> None:
    """pumpsim.results (records, trace columns, sinks) is read by bench hosts and tools: it stands alone."""
    bad = {(f, m) for f, m in imports(ROOT, "pumpsim/results")
           if m.startswith(("firmware_model", "pumpsim.engine", "pumpsim.scenario", "pumpsim.plant", "hil"))}
    assert not bad


def test_the_checks_catch_a_backward_import(tmp_path: Path) -> None:
    """A synthetic tree with firmware_model -> pumpsim and a relative import out of the plant: both found."""
    for pkg in ("firmware_model", "pumpsim/plant", "hil"):
        (tmp_path / pkg).mkdir(parents=True)
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "firmware_model" / "bad.py").write_text("from pumpsim import simulate\n")
    (tmp_path / "pumpsim" / "ok.py").write_text("import firmware_model\n")
    (tmp_path / "pumpsim" / "plant" / "bad.py").write_text("from ..engine import x\nfrom .mechanism import y\n")
    assert backward_imports(tmp_path) == {("firmware_model/bad.py", "pumpsim")}
    plant = imports(tmp_path, "pumpsim/plant")
    assert ("pumpsim/plant/bad.py", "pumpsim.engine") in plant
    assert ("pumpsim/plant/bad.py", "pumpsim.plant.mechanism") in plant


def test_importing_pumpsim_does_not_pull_in_test_tools() -> None:
    """`import pumpsim` stays light: no hypothesis, pytest or dask at import time."""
    code = (
        "import sys, pumpsim, pumpsim.cli; "
        "print(sorted(m for m in ('hypothesis', 'pytest', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_analyses_stand_below_the_scenario_and_the_engine() -> None:
    """pumpsim.analysis (accuracy, PK, refill plan) reads results and units only: the loader may use its formulas."""
    bad = {(f, m) for f, m in imports(ROOT, "pumpsim/analysis")
           if m.startswith(("pumpsim.engine", "pumpsim.scenario", "pumpsim.plant", "pumpsim.cli", "pumpsim.sweep",
                            "hil"))}
    assert not bad
