"""Analyses of pump runs and bench data, and the clinic's arithmetic.

* :mod:`.refill_plan` - days to the alarm and to empty, refill day, dose/rate, dead volume, bridge bolus
  (domain.md §10 items 1-5; ``pumpsim refill-plan``);
* :mod:`.drugs` - each drug's clinician unit, CSF kinetics and withdrawal (domain.md §6-7);
* :mod:`.series`, :mod:`.accuracy` - a delivered mass or volume series and its mean flow error and trumpet
  curve (IEC 60601-2-24, time-scaled; docs/accuracy.md; ``pumpsim trumpet``);
* :mod:`.pk` - the patient's one-compartment CSF model, band times, withdrawal episodes, trial curves (fed by
  the engine from the trace rows of a scenario with a ``[patient]`` table; :mod:`pumpsim.engine.patient`).

Layering: this package depends on :mod:`pumpsim.units`, :mod:`pumpsim.results`
and :mod:`firmware_model` only, so the scenario loader can use its formulas.
"""

from __future__ import annotations

from .accuracy import (
    AccuracyError as AccuracyError,
    TrumpetParams as TrumpetParams,
    TrumpetPoint as TrumpetPoint,
    TrumpetResult as TrumpetResult,
    trumpet as trumpet,
)
from .drugs import DRUGS as DRUGS, DrugFacts as DrugFacts, drug_facts as drug_facts, mass_unit as mass_unit
from .pk import (
    CsfModel as CsfModel,
    CsfTracker as CsfTracker,
    WithdrawalRule as WithdrawalRule,
    csf_curve as csf_curve,
    trial_curve as trial_curve,
)
from .refill_plan import (
    ConcentrationChange as ConcentrationChange,
    RefillPlan as RefillPlan,
    Span as Span,
    catheter_volume_nl as catheter_volume_nl,
    concentration_change as concentration_change,
    dose_from_rate as dose_from_rate,
    plan_refill as plan_refill,
    rate_from_dose as rate_from_dose,
    time_to_threshold as time_to_threshold,
)
from .series import Series as Series, SeriesError as SeriesError, read_series as read_series
