"""The generated parts of docs/hil-protocol.md: verb tables, error codes, hil.json, example sessions.

Each sits between two markers::

    <!-- generated: NAME (python -m hil.docgen) -->
    ...
    <!-- end generated: NAME -->

The tables come from :mod:`hil.verbs`, :data:`hil.protocol.ERROR_CODES`,
:class:`hil.report.HilRecord` and :class:`hil.stats.LinkStats`; the example
sessions are real: their requests are sent to an in-process
:class:`~hil.emulators.BenchEmulator` over a pseudo-terminal and the replies
shown are the bytes it answered, CRCs included. ``python -m hil.docgen``
rewrites the blocks; ``--check`` exits 1 if they are stale
(tests/hil/test_docs.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import serial

from pumpsim.results.doctables import record_table

from .emulators import BenchEmulator
from .protocol import ERROR_CODES, FrameParser, frame
from .report import HilRecord
from .stats import LinkStats
from .verbs import INT64_MAX, KIND_DOCS, ROLE_CAPS, VERB_LIST, Arg, Group, Kind, Role, Verb

DEFAULT_DOC = Path(__file__).resolve().parents[1] / "docs" / "hil-protocol.md"

#: Verb groups in the order the document lists them, with a heading each.
GROUPS = {
    Group.SESSION: "Session (every endpoint)",
    Group.PLANT: "Plant set-up and the plant model (bench, plant)",
    Group.CLOCK: "Clock (bench, plant)",
    Group.MOTOR: "Motor (bench, plant)",
    Group.SOUNDER: "Sounder (bench, plant)",
    Group.BATTERY: "Battery (bench, plant)",
    Group.FAULT: "Bench fault injection (bench, plant)",
    Group.REC: "Relays to a recording plant (plant)",
    Group.TELEM: "To the firmware side (host, dut)",
}


def _cell(s: str) -> str:
    return " ".join(s.split()).replace("|", "\\|")


def _kind(a: Arg) -> str:
    """The kind, with the range of an integer when it is narrower than int64."""
    if a.kind not in (Kind.INT, Kind.INT_OR_NONE) or (a.lo == -INT64_MAX - 1 and a.hi == INT64_MAX):
        return a.kind
    return f"{a.kind}, >= {a.lo}" if a.hi >= INT64_MAX else f"{a.kind}, {a.lo}..{a.hi}"


def _args(args: tuple[Arg, ...], *, optional_mark: bool = True) -> str:
    out = []
    for a in args:
        unit = f" {a.unit}" if a.unit else ""
        text = f"`{a.key}=`{unit} ({_kind(a)})"
        out.append(text if a.required or not optional_mark else f"[{text}]")
    return "<br>".join(out) or "none"


def verb_tables() -> str:
    """One table per verb group: arguments, reply, errors, meaning."""
    parts = []
    for group, title in GROUPS.items():
        verbs = [v for v in VERB_LIST if v.group == group]
        rows = [f"#### {title}", "", "| Verb | Arguments | Reply (`OK` ...) | Errors | Meaning |",
                "|---|---|---|---|---|"]
        for v in verbs:
            rows.append(_verb_row(v))
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def _verb_row(v: Verb) -> str:
    errors = ", ".join(v.errors) or "-"
    args = _args(v.args) + ("<br>(any of these, at least one)" if v.any_of else "")
    return f"| `{v.name}` | {args} | {_args(v.reply, optional_mark=False) if v.reply else 'nothing'} | {errors} | " \
           f"{_cell(v.doc)} |"


def caps_table() -> str:
    rows = ["| Role | Who | CAPS |", "|---|---|---|"]
    who = {Role.HOST: "`pumpsim hil run`: the firmware model on a host", Role.DUT: "a device under test, or "
           "`pumpsim hil emulate dut`", Role.BENCH: "a bench, or `pumpsim hil emulate bench`",
           Role.PLANT: "`pumpsim hil serve`: the simulated plant, recording"}
    for role, caps in ROLE_CAPS.items():
        rows.append(f"| `{role}` | {who[role]} | `{','.join(caps)}` |")
    return "\n".join(rows)


def kinds_table() -> str:
    rows = ["| Kind | Written as |", "|---|---|"]
    rows += [f"| {k} | {_cell(text)} |" for k, text in KIND_DOCS.items()]
    return "\n".join(rows)


def error_table() -> str:
    rows = ["| Code | Meaning |", "|---|---|"]
    rows += [f"| `{code}` | {_cell(text)} |" for code, text in ERROR_CODES.items()]
    return "\n".join(rows)


def link_stats_table() -> str:
    rows = ["| Key of `link` | Meaning |", "|---|---|"]
    rows += [f"| `{k}` | {_cell(text)} |" for k, text in LinkStats.docs()]
    return "\n".join(rows)


# ---------------------------------------------------------------- example sessions

#: A bench session by hand: the requests (without SEQ, CRC and framing) a host sends, in order.
BENCH_SESSION = [
    "HELLO VERSION=1 ROLE=host SESSION=5eed0001",
    "CONFIG STROKE_PL=250000 CAL_ERROR=0.0 STROKE_CV=0.0 SEED=7",
    "CONFIG RESERVOIR_NL=20000000 FILL_NL=20000000 CONC_NG_PER_ML=500000 DEAD_NL=234000 PRIMED=1",
    "START",
    "RUN N=5 PERIOD_MS=1000",
    "ADVANCE T_MS=3500",
    "STATE",
    "STOP",
    "BATTERY",
    "END T_MS=3500 COMPLETE=1",
]


def _exchange(path: str, frames: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Send each frame to the bench at *path*; (frame, reply bytes) in order."""
    out = []
    with serial.Serial(path, timeout=2) as port:
        parser = FrameParser()
        for f in frames:
            port.write(f)
            buf = b""
            while True:
                b = port.read(1)
                if not b:
                    raise RuntimeError(f"no reply to {f!r}")
                buf += b
                if parser.feed(b):
                    break
            out.append((f, buf))
    return out


def _shown(pairs: list[tuple[bytes, bytes]]) -> str:
    lines = []
    for request, reply in pairs:
        lines.append("> " + request.decode("ascii").rstrip("\r\n"))
        lines.append("< " + reply.decode("ascii").rstrip("\r\n"))
    return "```text\n" + "\n".join(lines) + "\n```"


def example_bench_session() -> str:
    """The session of :data:`BENCH_SESSION`, as it happens against the emulated bench."""
    frames = [frame(f"{i} {body}".encode("ascii")) for i, body in enumerate(BENCH_SESSION, start=1)]
    with BenchEmulator() as bench:
        return _shown(_exchange(bench.path, frames))


def example_faults() -> str:
    """A corrupted frame, a frame cut short, a retry and a late duplicate, against the emulated bench."""
    hello = frame(b"1 HELLO VERSION=1 ROLE=host SESSION=5eed0002")
    good = frame(b"2 PING")
    corrupt = bytearray(frame(b"3 COUNT"))
    corrupt[3] = ord("K")  # "3 KOUNT" under COUNT's CRC
    start = [hello, good, bytes(corrupt), b"$4 STA" + frame(b"4 STATUS")]
    with BenchEmulator() as bench:
        pairs = _exchange(bench.path, start)
        pairs += _exchange(bench.path, [good])  # a retry of SEQ 2: the same reply again
    return _shown(pairs)


#: Generated blocks by marker name.
BLOCKS: dict[str, Callable[[], str]] = {
    "hil-caps": caps_table,
    "hil-kinds": kinds_table,
    "hil-errors": error_table,
    "hil-verbs": verb_tables,
    "hil-example-bench": example_bench_session,
    "hil-example-faults": example_faults,
    "hil-json": lambda: record_table(HilRecord),
    "hil-link-stats": link_stats_table,
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated: {re.escape(name)} [^>]*-->\n)(.*?)(<!-- end generated: {re.escape(name)} -->)", re.S)


def render(text: str, blocks: dict[str, Callable[[], str]] | None = None) -> str:
    """*text* with every generated block (of *blocks*, default this document's) replaced by its current content.

    Raises ValueError for a missing block.
    """
    for name, make in (BLOCKS if blocks is None else blocks).items():
        m = _block(name).search(text)
        if m is None:
            raise ValueError(f"no generated block {name!r} in the document")
        text = text[: m.start(2)] + "\n" + make() + "\n\n" + text[m.end(2):]
    return text


def main(argv: list[str] | None = None, *, prog: str = "hil.docgen", doc: Path = DEFAULT_DOC,
         blocks: dict[str, Callable[[], str]] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=f"python -m {prog}", description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", type=Path, default=doc)
    ap.add_argument("--check", action="store_true", help="exit 1 if the file is out of date; change nothing")
    args = ap.parse_args(argv)
    old = args.file.read_text(encoding="utf-8")
    new = render(old, blocks)
    if args.check:
        if new != old:
            print(f"{args.file}: generated parts are out of date; run python -m {prog}", file=sys.stderr)
            return 1
        return 0
    if new != old:
        args.file.write_text(new, encoding="utf-8")
        print(f"{args.file}: generated parts updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())

