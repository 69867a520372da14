"""docs/balance.md's generated tables (MT-SICS coverage, emulator defaults) are up to date; the check can fail."""

from __future__ import annotations

from hil.instruments import docgen


def test_generated_tables_are_current() -> None:
    assert docgen.render(docgen.DOC.read_text()) == docgen.DOC.read_text(), "run ./dev docs"


def test_a_stale_table_is_noticed() -> None:
    stale = docgen.DOC.read_text().replace("| `I5` |", "| `I5x` |")
    assert docgen.render(stale) != stale
