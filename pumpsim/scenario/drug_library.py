"""The built-in drug library: soft and hard limits per drug, from the reference.

The programmer holds the library and sends the entry of the drug in the pump
to the firmware (``firmware_model.DrugLimits``), which enforces it
(``firmware_model.druglib``). A scenario's ``[drug] name`` picks the entry
(brand names too); ``[drug.limits]`` overrides it key by key. A drug without
an entry has no limits. Each limit carries its source (domain.md section);
docs/scenario-format.md's library table is generated from :data:`LIBRARY`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from firmware_model import DrugLimits

from . import quantities as q

#: Each ``[drug.limits]`` key: the ``DrugLimits`` field it fills, and how its value is read.
LIMIT_FIELDS: Final[dict[str, tuple[str, Callable[[object], int]]]] = {
    "concentration_soft": ("conc_soft", q.concentration_ng_per_ml),
    "concentration_hard": ("conc_hard", q.concentration_ng_per_ml),
    "daily_dose_soft": ("daily_soft", q.dose_ng_per_day),
    "daily_dose_hard": ("daily_hard", q.dose_ng_per_day),
    "bolus_soft": ("bolus_soft", q.mass_ng),
    "bolus_hard": ("bolus_hard", q.mass_ng),
    "step_soft": ("step_soft", q.dose_ng_per_day),
    "step_hard": ("step_hard", q.dose_ng_per_day),
    "step_interval": ("step_interval_ms", q.duration_ms),
}

#: The entries by drug: ``[drug.limits]`` key -> (value as a scenario writes it, source).
LIBRARY: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "morphine": {
        "concentration_hard": ("25 mg/mL", "[C] §6.2 Infumorph strengths 10 and 25 mg/mL"),
        "daily_dose_soft": ("20 mg/day", "[C] §6.2 Infumorph: \"caution with doses > 20 mg/day\""),
        "bolus_soft": ("1 mg", "[C] §6.2 a trial bolus is usually 0.5-1.0 mg"),
    },
    "ziconotide": {
        "concentration_hard": ("100 mcg/mL", "[C] §6.2 Prialt 25 and 100 mcg/mL"),
        "daily_dose_hard": ("19.2 mcg/day", "[C] §6.2, §10.10 at most 19.2 mcg/day (0.8 mcg/h)"),
        "step_hard": ("2.4 mcg/day", "[C] §6.2, §10.10 raise by at most 2.4 mcg/day"),
        "step_interval": ("2 d", "[C] §6.2, §10.10 up to 2-3 times a week (monograph; one practice source "
                                 "says weekly)"),
    },
    "baclofen": {
        "concentration_hard": ("2000 mcg/mL", "[C] §6.2 Lioresal / Gablofen 50, 500, 2000 mcg/mL"),
        "daily_dose_soft": ("2000 mcg/day", "[U] §6.2 the top of the label's maintenance range, 12-2003 mcg/day"),
        "bolus_soft": ("100 mcg", "[C] §6.2 screening boluses of 50, 75 and 100 mcg"),
    },
}

#: Other names of the drugs (brands), lower case.
ALIASES: Final[dict[str, str]] = {
    "infumorph": "morphine", "duramorph": "morphine", "prialt": "ziconotide", "lioresal": "baclofen",
    "gablofen": "baclofen",
}


def entry(drug_name: str) -> dict[str, str]:
    """The library entry for *drug_name* (case and brand names do not matter), key -> value; empty if none."""
    key = drug_name.strip().lower()
    return {k: value for k, (value, _) in LIBRARY.get(ALIASES.get(key, key), {}).items()}


def limits_record(fields: Mapping[str, int | None]) -> DrugLimits:
    """The firmware's record from ``DrugLimits`` field values (None: no limit)."""
    return DrugLimits(**{name: value or 0 for name, value in fields.items()})


def library_limits(drug_name: str) -> DrugLimits:
    """The built-in entry for *drug_name* as the firmware's record (no limits if there is none)."""
    e = entry(drug_name)
    return limits_record({name: parse(e[key]) if key in e else None for key, (name, parse) in LIMIT_FIELDS.items()})
