"""docs/balance.md's generated tables: MT-SICS coverage (from :data:`.mtsics.COMMANDS`) and the emulator's defaults
(from :class:`.weighing.BalanceParams` and :data:`.weighing.PARAM_DOCS`).

``python -m hil.instruments.docgen`` rewrites them in place (``./dev docs`` runs it); ``--check`` exits 1 if
they are stale (tests/hil/test_balance_docs.py).
"""

from __future__ import annotations

import re
import sys
from dataclasses import fields
from pathlib import Path

from .mtsics import COMMANDS
from .weighing import PARAM_DOCS, BalanceParams

DOC = Path(__file__).resolve().parents[2] / "docs" / "balance.md"


def coverage() -> str:
    rows = ["| Command | Level | Meaning | Replies | Source | Emulator | Client |", "|---|---|---|---|---|---|---|"]
    for c in COMMANDS:
        replies = "<br>".join(f"`{r}`" for r in c.replies) or "-"
        client = "no" if c.name in ("SIR", "SR") else "yes"
        rows.append(f"| `{c.name}` | {c.level} | {c.meaning} | {replies} | [{c.tag}] | "
                    f"{'yes' if c.emulated else 'no (`ES`)'} | {client} |")
    rows.append("| `ES`, `ET`, `EL` | - | general errors | `ES`, `ET`, `EL` | [C] | yes | yes (raised) |")
    return "\n".join(rows)


def defaults() -> str:
    d = BalanceParams()
    rows = ["| Parameter | Default | Unit | Meaning | Source |", "|---|---|---|---|---|"]
    for f in fields(BalanceParams):
        unit, meaning, source = PARAM_DOCS[f.name]
        value = getattr(d, f.name)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        rows.append(f"| `{f.name}` | {shown} | {unit} | {meaning} | {source} |")
    return "\n".join(rows)


TABLES = {"balance-coverage": coverage, "balance-defaults": defaults}


def render(text: str) -> str:
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- generated: {name} \(python -m hil.instruments.docgen\) -->\n).*?"
                             rf"(<!-- end generated: {name} -->)", re.S)
        block = r"\g<1>" + "\n" + make().replace("\\", "\\\\") + "\n\n" + r"\g<2>"
        text, n = pattern.subn(block, text)
        assert n == 1, f"docs/balance.md has no block {name}"
    return text


def main(argv: list[str]) -> int:
    text = DOC.read_text()
    new = render(text)
    if "--check" in argv:
        return int(new != text)
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
