"""Check that firmware arithmetic stays within int64: a host-side test tool.

"Portable to C" holds only if every integer the firmware computes fits a
signed 64-bit integer, including intermediates inside one expression
(``a * b // c`` with a product past 2**63 gives a right answer in Python and
garbage in C). A line tracer sees only values bound to variables; this tool
sees every result instead. :func:`int64_checked` imports a fresh copy of a
package with its source rewritten so that the result of every arithmetic
operator, unary minus, augmented assignment and call passes through
:func:`check_int64`, which raises :class:`Int64Overflow` (naming the module and
line) for an int outside [-2**63, 2**63 - 1]::

    with int64_checked() as fm:              # a checked copy of firmware_model
        hal = fm.testing.FakeHal()           # build everything from the copy
        ctl = fm.PumpController(hal, fm.PumpConfig(), rx, conc, fill)
        ...                                  # Int64Overflow on the first bad value

Objects from the copy are distinct from the normal package's (their classes
differ), so a test builds all its firmware objects from the module the context
manager yields. The normal modules are restored on exit. Standard library
only (``ast``, ``importlib``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import CodeType, ModuleType

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: The name the rewritten code calls; injected into each checked module's globals.
_CHECK = "__int64__"


class Int64Overflow(AssertionError):
    """An integer computed by checked code does not fit a signed 64-bit integer."""


def check_int64(value: object, where: str) -> object:
    """Return *value*, or raise Int64Overflow if it is an int (or a tuple holding one) outside int64."""
    if type(value) is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise Int64Overflow(f"{where}: {value} does not fit int64")
    elif type(value) is tuple:
        for item in value:
            if type(item) is int and not INT64_MIN <= item <= INT64_MAX:
                raise Int64Overflow(f"{where}: {item} (in a tuple) does not fit int64")
    return value


class _Instrument(ast.NodeTransformer):
    """Wraps every arithmetic result in a call to the checker; leaves annotations alone."""

    def __init__(self, module: str) -> None:
        self._module = module

    def _wrap(self, node: ast.expr) -> ast.expr:
        where = ast.Constant(f"{self._module}:{getattr(node, 'lineno', 0)}")
        return ast.copy_location(ast.Call(ast.Name(_CHECK, ast.Load()), [node, where], []), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        return self._wrap(self.generic_visit(node))  # type: ignore[arg-type]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        node = self.generic_visit(node)  # type: ignore[assignment]
        return self._wrap(node) if isinstance(node.op, (ast.USub, ast.Invert)) else node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        return self._wrap(self.generic_visit(node))  # type: ignore[arg-type]

    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        # A literal outside int64 fails when it is evaluated.
        out = type(node.value) is int and not INT64_MIN <= node.value <= INT64_MAX
        return self._wrap(node) if out else node

    def visit_AugAssign(self, node: ast.AugAssign) -> list[ast.stmt]:
        node = self.generic_visit(node)  # type: ignore[assignment]
        target = _as_load(node.target)
        check = ast.Expr(self._wrap(ast.copy_location(target, node)))
        return [node, ast.copy_location(check, node)]

    # Annotations are not arithmetic (and are never evaluated here).
    def visit_arg(self, node: ast.arg) -> ast.arg:
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AnnAssign:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        returns, node.returns = node.returns, None
        node = self.generic_visit(node)  # type: ignore[assignment]
        node.returns = returns
        return node


def _as_load(target: ast.expr) -> ast.expr:
    """The augmented-assignment target, re-read after the assignment."""
    if isinstance(target, ast.Name):
        return ast.Name(target.id, ast.Load())
    if isinstance(target, ast.Attribute):
        return ast.Attribute(_as_load(target.value), target.attr, ast.Load())
    if isinstance(target, ast.Subscript):
        return ast.Subscript(_as_load(target.value), target.slice, ast.Load())
    return target


class _CheckedLoader(importlib.machinery.SourceFileLoader):
    """Loads a module from source (never from a cached .pyc) with its arithmetic checked."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        tree = _Instrument(fullname).visit(ast.parse(self.get_data(path), path))
        return compile(ast.fix_missing_locations(tree), path, "exec", dont_inherit=True)

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__[_CHECK] = check_int64
        super().exec_module(module)


class _CheckedFinder(importlib.abc.MetaPathFinder):
    def __init__(self, package: str, exclude: Sequence[str]) -> None:
        self._package = package
        self._exclude = tuple(exclude)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not _within(fullname, (self._package,)) or _within(fullname, self._exclude):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return spec
        spec.loader = _CheckedLoader(fullname, spec.origin)
        return spec


def _within(name: str, packages: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@contextmanager
def int64_checked(
    package: str = "firmware_model",
    exclude: Sequence[str] = ("firmware_model.testing", "firmware_model.describe"),
) -> Iterator[ModuleType]:
    """Import a fresh copy of *package* whose arithmetic is checked, and yield it.

    Modules under *exclude* (host-side tools by default) are imported fresh
    but not rewritten. On exit the package's normal modules are put back.
    """
    saved = {name: mod for name, mod in sys.modules.items() if _within(name, (package,))}
    for name in saved:
        del sys.modules[name]
    finder = _CheckedFinder(package, exclude)
    sys.meta_path.insert(0, finder)
    try:
        yield importlib.import_module(package)
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if _within(n, (package,))]:
            del sys.modules[name]
        sys.modules.update(saved)
