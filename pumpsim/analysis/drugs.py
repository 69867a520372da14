"""What pumpsim knows about each intrathecal drug: the unit clinicians write it in, CSF kinetics, withdrawal.

One table, :data:`DRUGS`, said once; the scenario's ``[patient]`` defaults, the
PK model and ``pumpsim refill-plan``'s output all read it. Every value cites
``shared/reference/domain.md`` ([C] confirmed, [C2] secondary source, [U]
unconfirmed, [D] derived).

**Clinician units** ([C] §6.2 and issue 12): morphine, hydromorphone and
bupivacaine are written in mg (mg/mL, mg/day); ziconotide, baclofen,
clonidine, fentanyl and sufentanil in mcg. A drug not in the table follows
its concentration: mg at 1 mg/mL or more, mcg below (:func:`mass_unit`).

**CSF kinetics** (one well-mixed compartment, §7): each drug gives two of
volume, clearance and half-life; the third follows from ``CL = k V`` with
``k = ln 2 / t½``.

* ziconotide: CL 0.38 mL/min [C] (Prialt PI, n = 23) in the 150 mL CSF volume
  [C] (StatPearls); t½ follows as 4.56 h, matching the measured 4.6 ± 0.9 h [C].
* morphine: CL 3 µL/kg/min and V 1 mL/kg [C] (Nordberg 1984: CL 2.81-3.41
  µL/kg/min, Vd 0.88-1.06 mL/kg). Not the 150 mL CSF volume: with 150 mL and
  that clearance t½ would be 8.3 h against the measured 2.9-3.3 h; with
  Nordberg's own volume it is 3.85 h. The steady state depends on CL only, so
  §10.12's 3.3 µg/mL at 1 mg/day (70 kg) holds either way.
* baclofen: t½ 5 h [C2] (continuous infusion; bolus 0.9-5 h [C]) in the
  150 mL CSF volume; CL follows as 20.8 mL/h, inside the measured 13-80 mL/h
  [C]. Baclofen's CSF levels vary widely between patients (Albright 2007: no
  dose-level correlation [C]); treat the curve as an order of magnitude.

**Withdrawal** ([C] §6.3): baclofen, the opioids and clonidine have a
withdrawal syndrome; ziconotide and bupivacaine do not. Severe baclofen
withdrawal progresses over 24-72 h [C2] (neurosurgerywiki); for the other
drugs the timing differs and is not sourced, so the same window is a [U]
placeholder for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..units import NG_PER_MG

#: Adult CSF volume, mL ([C] StatPearls "Physiology, CSF": ~150 mL).
CSF_VOLUME_ML = 150.0
#: Body weight when a scenario gives none, kg ([U]: the "70 kg patient" of domain.md §10.12).
DEFAULT_WEIGHT_KG = 70.0
#: Severe baclofen withdrawal develops from this long after the drug stops ... ([C2] §6.3) ...
WITHDRAWAL_FROM_H = 24.0
#: ... to this long ([C2] §6.3).
WITHDRAWAL_TO_H = 72.0

MassUnit = Literal["mg", "mcg"]


@dataclass(frozen=True)
class DrugFacts:
    """One drug: its clinician unit, CSF kinetics (any two of volume, clearance, half-life) and withdrawal."""

    name: str
    #: The mass unit clinicians write doses and concentrations in.
    mass_unit: MassUnit
    #: Distribution volume: fixed (mL) or per kg of body weight (mL/kg); neither: the CSF volume.
    volume_ml: float | None = None
    volume_ml_per_kg: float | None = None
    #: Clearance from CSF: fixed (mL/min) or per kg (mL/min/kg).
    clearance_ml_per_min: float | None = None
    clearance_ml_per_min_per_kg: float | None = None
    half_life_h: float | None = None
    #: Stopping the drug abruptly causes a withdrawal syndrome.
    withdrawal: bool = False
    #: Where the numbers come from.
    source: str = ""

    @property
    def has_kinetics(self) -> bool:
        """True if the table gives an elimination rate (clearance or half-life) for this drug."""
        return any(v is not None for v in (self.clearance_ml_per_min, self.clearance_ml_per_min_per_kg,
                                           self.half_life_h))

    def volume_for(self, weight_kg: float) -> float:
        """Distribution volume in mL for a patient of *weight_kg*."""
        if self.volume_ml_per_kg is not None:
            return self.volume_ml_per_kg * weight_kg
        return self.volume_ml if self.volume_ml is not None else CSF_VOLUME_ML

    def clearance_for(self, weight_kg: float, volume_ml: float) -> float:
        """Clearance in mL/min for *weight_kg* in a distribution volume of *volume_ml* (ValueError if unknown)."""
        if self.clearance_ml_per_min is not None:
            return self.clearance_ml_per_min
        if self.clearance_ml_per_min_per_kg is not None:
            return self.clearance_ml_per_min_per_kg * weight_kg
        if self.half_life_h is not None:
            return clearance_from_half_life(self.half_life_h, volume_ml)
        raise ValueError(f"no CSF clearance or half-life known for {self.name}")


def clearance_from_half_life(half_life_h: float, volume_ml: float) -> float:
    """CL = ln 2 × V / t½, in mL/min."""
    return math.log(2) * volume_ml / (half_life_h * 60)


def half_life_from_clearance(clearance_ml_per_min: float, volume_ml: float) -> float:
    """t½ = ln 2 × V / CL, in hours."""
    return math.log(2) * volume_ml / clearance_ml_per_min / 60


#: The drugs, by lower-case name. Brand names are in :data:`ALIASES`.
DRUGS: dict[str, DrugFacts] = {d.name: d for d in (
    DrugFacts("morphine", "mg", volume_ml_per_kg=1.0, clearance_ml_per_min_per_kg=0.003, withdrawal=True,
              source="[C] Nordberg 1984 (CL 2.81-3.41 uL/kg/min, Vd 0.88-1.06 mL/kg); §7"),
    DrugFacts("ziconotide", "mcg", clearance_ml_per_min=0.38, withdrawal=False,
              source="[C] Prialt PI (CL 0.38 mL/min, t1/2 4.6 h); CSF volume 150 mL [C]; §7"),
    DrugFacts("baclofen", "mcg", half_life_h=5.0, withdrawal=True,
              source="[C2] t1/2 ~5 h in continuous infusion ([C] 0.9-5 h after a bolus); CSF volume 150 mL [C]; §7"),
    DrugFacts("hydromorphone", "mg", withdrawal=True, source="§6.2, §6.3; no CSF kinetics in the reference"),
    DrugFacts("bupivacaine", "mg", withdrawal=False, source="§6.2, §6.3; no CSF kinetics in the reference"),
    DrugFacts("clonidine", "mcg", withdrawal=True, source="§6.2, §6.3; no CSF kinetics in the reference"),
    DrugFacts("fentanyl", "mcg", withdrawal=True, source="§6.2, §6.3; no CSF kinetics in the reference"),
    DrugFacts("sufentanil", "mcg", withdrawal=True, source="§6.2, §6.3; no CSF kinetics in the reference"),
)}

#: Brand names ([C] §6.1, §6.2).
ALIASES = {"infumorph": "morphine", "prialt": "ziconotide", "lioresal": "baclofen", "gablofen": "baclofen"}


def drug_facts(name: str) -> DrugFacts | None:
    """The table's entry for drug *name* (case-insensitive, brand names accepted), or None."""
    key = name.strip().lower()
    return DRUGS.get(ALIASES.get(key, key))


def mass_unit(name: str, conc_ng_per_ml: int | None = None) -> MassUnit:
    """The unit clinicians write *name*'s doses in: the table's, else mg from 1 mg/mL up and mcg below."""
    facts = drug_facts(name)
    if facts is not None:
        return facts.mass_unit
    return "mg" if conc_ng_per_ml is not None and conc_ng_per_ml >= NG_PER_MG else "mcg"
