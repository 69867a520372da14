"""The ``pumpsim`` command line: one module per command, a registry in :mod:`pumpsim.cli.app`.

Commands: ``run`` (simulate a scenario and write its outputs), ``sweep``
(Monte Carlo over seeds and parameter distributions), ``scenarios`` (list or
show built-ins), ``validate`` (check a scenario file), plus any command another
installed distribution registers in the ``pumpsim.commands`` entry-point group
(``pumpsim hil ...`` from the ``hil`` package).
"""

from __future__ import annotations

from .app import (
    EXIT_INTERRUPTED as EXIT_INTERRUPTED,
    EXIT_USAGE as EXIT_USAGE,
    PLUGIN_GROUP as PLUGIN_GROUP,
    Command as Command,
    Parser as Parser,
    UserError as UserError,
    entry as entry,
    main as main,
)
from .run import format_summary as format_summary
