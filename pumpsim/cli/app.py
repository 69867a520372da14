"""The ``pumpsim`` command: the parser, the command registry and the error rule.

Every command is a :class:`Command` (name, help, arguments, handler). The
built-in commands live in this package, one module each; other distributions
add commands through the ``pumpsim.commands`` entry-point group (the ``hil``
package adds ``pumpsim hil ...`` that way), so pumpsim never imports them and
the dependency still points one way: hil -> pumpsim -> firmware_model.

The rule for users: a problem with what they asked for is one line on stderr,
``pumpsim: error: ...``, and exit status 2; an interrupted run exits with 130
after writing what it had.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import NoReturn

from ..scenario import ScenarioError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: Entry-point group through which other distributions add commands (value: a :class:`Command`).
PLUGIN_GROUP = "pumpsim.commands"


class UserError(Exception):
    """A problem with what the user asked for; printed as one line without a traceback (exit status 2)."""


@dataclass(frozen=True)
class Command:
    """One ``pumpsim`` command.

    *add_arguments* fills the command's parser (it may add sub-commands of its
    own); *run* gets the parsed arguments (with ``argv``, the command line as
    typed) and returns the exit status. *run* raises :class:`UserError` or
    :class:`~pumpsim.scenario.ScenarioError` for bad input.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None
    epilog: str | None = None


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line on stderr and exit status 2 (the README's rule).

    argparse would print the whole usage block, then its message; the
    sub-command parsers are of this class too (``add_subparsers`` makes them so).
    """

    def error(self, message: str) -> NoReturn:
        sub = self.prog.removeprefix("pumpsim").strip()
        raise UserError(f"{sub + ': ' if sub else ''}{message} (see '{self.prog} --help')")


def builtin_commands() -> list[Command]:
    """The commands of this package, in the order ``pumpsim --help`` lists them."""
    from . import refill_plan, run, scenarios, sweep, trumpet

    return [run.COMMAND, sweep.COMMAND, scenarios.SCENARIOS, scenarios.VALIDATE, trumpet.COMMAND,
            refill_plan.COMMAND]


def plugin_commands() -> list[Command]:
    """Commands other installed distributions register under :data:`PLUGIN_GROUP`, sorted by name.

    A plugin that fails to load is reported on stderr and left out: one broken
    extra must not take the simulator's own commands down with it.
    """
    out = []
    for ep in metadata.entry_points(group=PLUGIN_GROUP):
        try:
            cmd = ep.load()
        except Exception as e:  # a broken plugin is reported, not fatal
            print(f"pumpsim: warning: command plugin {ep.name!r} ({ep.value}) did not load: {e}", file=sys.stderr)
            continue
        if isinstance(cmd, Command):
            out.append(cmd)
    return sorted(out, key=lambda c: c.name)


def build_parser(commands: Sequence[Command]) -> Parser:
    """The ``pumpsim`` parser with one sub-command per entry of *commands*."""
    p = Parser(prog="pumpsim", description="Simulate an implantable intrathecal drug pump and its firmware.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for c in commands:
        cp = sub.add_parser(c.name, help=c.help, description=c.description or c.help, epilog=c.epilog)
        c.add_arguments(cp)
        cp.set_defaults(_handler=c.run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    commands = builtin_commands() + plugin_commands()
    names = ",".join(c.name for c in commands)
    try:
        args, extra = build_parser(commands).parse_known_args(argv)
        args.argv = ["pumpsim", *(sys.argv[1:] if argv is None else argv)]  # as typed, for run.json
        if extra:
            cmd = f" {args.command}" if args.command else ""
            raise UserError(f"{cmd.strip() + ': ' if cmd else ''}unrecognized arguments: {' '.join(extra)} "
                            f"(see 'pumpsim{cmd} --help')")
        handler: Callable[[argparse.Namespace], int] | None = getattr(args, "_handler", None)
        if handler is None:
            raise UserError(f"no command given; usage: pumpsim {{{names}}} ... "
                            "(for example: pumpsim run analytic; see 'pumpsim --help')")
        return handler(args)
    except ScenarioError as e:
        print(f"pumpsim: error: {e.origin + ': ' if e.origin else ''}{e}", file=sys.stderr)
        return EXIT_USAGE
    except UserError as e:
        print(f"pumpsim: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as e:
        print(f"pumpsim: error: no such file: {e.filename}", file=sys.stderr)
        return EXIT_USAGE
    except FileExistsError as e:
        print(f"pumpsim: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
