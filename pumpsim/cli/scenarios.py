"""``pumpsim scenarios`` (list or show the built-ins) and ``pumpsim validate`` (check a scenario file)."""

from __future__ import annotations

import argparse
import sys

from firmware_model import MODE_NAMES

from ..scenario import builtin_names, builtin_text
from ..scenario.builtin import builtin_summary
from ..scenario.profiles import describe_margin
from ..scenario.sizing import OUTPUT_LIMIT_BYTES, estimate_output, format_bytes
from ..units import MS_PER_DAY, NG_PER_MCG
from .app import Command, UserError
from .common import load


def _scenarios_arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    s.add_argument("name", nargs="?", help="the scenario to show")


def _validate_arguments(v: argparse.ArgumentParser) -> None:
    v.add_argument("file", help="a scenario file (.toml) or a built-in name")


def scenarios(args: argparse.Namespace) -> int:
    if args.action == "list":
        if args.name:
            raise UserError(f"unexpected argument {args.name!r}; did you mean 'pumpsim scenarios show {args.name}'?")
        for n in builtin_names():
            print(f"{n:<22} {builtin_summary(n)}")
        return 0
    if not args.name:
        raise UserError("scenarios show: name a scenario (one of: " + ", ".join(builtin_names()) + ")")
    if args.name not in builtin_names():
        raise UserError(f"no built-in scenario {args.name!r}; built-ins: " + ", ".join(builtin_names()))
    sys.stdout.write(builtin_text(args.name))
    return 0


def validate(args: argparse.Namespace) -> int:
    sc = load(args.file)
    print(f"{args.file}: OK  scenario {sc.name!r}, {sc.duration_ms / MS_PER_DAY:g} days, "
          f"{sc.drug.name} {sc.drug.conc_ng_per_ml / NG_PER_MCG:g} mcg/mL, {MODE_NAMES[sc.prescription.mode]}, "
          f"{len(sc.visits)} visits")
    print(describe_margin(sc))
    est = estimate_output(sc)
    print(f"a run writes {est.describe()}"
          + ("" if est.bytes <= OUTPUT_LIMIT_BYTES else
             f"; above the {format_bytes(OUTPUT_LIMIT_BYTES)} limit, so 'pumpsim run' needs --force"))
    return 0


SCENARIOS = Command("scenarios", "list built-in scenarios, or show one as TOML", _scenarios_arguments, scenarios)
VALIDATE = Command("validate", "check a scenario file and describe it", _validate_arguments, validate)
