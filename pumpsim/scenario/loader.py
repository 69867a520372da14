"""Strict TOML scenario loading.

Every key is checked against the schema (:mod:`pumpsim.scenario.schema`):
unknown keys (named first, with the nearest known key), missing or wrong units
and impossible values raise :class:`ScenarioError`, whose message names the
key, the value and what was expected. Nothing is silently defaulted that the
user wrote. This module reads files, builds the records, and checks the rules
that span tables (a prescription must be deliverable at the concentration in
force when it takes effect). The format is documented in
docs/scenario-format.md.
"""

from __future__ import annotations

import stat
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from firmware_model import (
    FieldId,
    FlexStep,
    Prescription,
    PrescriptionMode,
    PumpConfig,
    RejectReason,
    check_prescription,
    check_ptm,
    limit_violations,
)
from firmware_model.describe import rejection_field, rejection_message
from firmware_model.druglib import refusal

from ..analysis.drugs import DRUGS, clearance_from_half_life, drug_facts
from ..analysis.pk import CsfModel
from ..analysis.refill_plan import catheter_volume_nl, dose_from_rate
from ..units import MS_PER_DAY, MS_PER_H, MS_PER_MIN, NG_PER_MCG, NL_PER_ML, PL_PER_ML
from . import quantities
from .drug_library import limits_record
from .errors import MISSING, ScenarioError, Shown
from .model import CatheterSpec, DrugSpec, PatientSpec, PtmSpec, PumpSpec, Scenario, TrialSpec, Visit
from .reader import Section, read
from .schema import MAX_CATHETER_VOLUME, MAX_DURATION_MS, PROMETRA_NL_PER_CM, SCENARIO

#: Largest scenario file read, in bytes. A scenario is a few kB; this bounds what
#: ``pumpsim validate /dev/zero`` or a mistaken argument can make pumpsim read.
MAX_SCENARIO_BYTES = 1_000_000

_MODES = {
    "continuous": PrescriptionMode.CONTINUOUS,
    "flex": PrescriptionMode.FLEX,
    "periodic_bolus": PrescriptionMode.PERIODIC_BOLUS,
    "single_bolus": PrescriptionMode.SINGLE_BOLUS,
    "stopped": PrescriptionMode.STOPPED,
}
_MAX_CATHETER_NL = quantities.volume_nl(MAX_CATHETER_VOLUME)


def _ml(nl: int) -> str:
    return f"{nl / NL_PER_ML:g} mL"


def read_scenario_text(path: Path) -> str:
    """The text of scenario file *path*: a regular file of at most :data:`MAX_SCENARIO_BYTES`, in UTF-8.

    Raises FileNotFoundError if there is no such file, and ScenarioError
    (key ``scenario``, value the path) for a directory, a device, pipe or
    socket, a file that is too large, unreadable, or not UTF-8 text. Devices
    and pipes are refused before they are opened, and at most one byte more
    than the limit is read, so ``/dev/zero`` or a FIFO cannot hang or fill
    memory.
    """
    name = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ScenarioError("scenario", name, f"a readable scenario file ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError("scenario", name, "a scenario file (.toml), not a directory")
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError("scenario", name, f"a regular scenario file (.toml), not a {_file_type(st.st_mode)}")
    too_big = f"a scenario file of at most {MAX_SCENARIO_BYTES:,} bytes (1 MB; a scenario is a few kB)"
    if st.st_size > MAX_SCENARIO_BYTES:
        raise ScenarioError("scenario", name, f"{too_big}; this one has {st.st_size:,} bytes")
    try:
        with open(path, "rb") as f:
            # Bounded even where st_size says 0 (/proc files) or the file grows meanwhile.
            data = f.read(MAX_SCENARIO_BYTES + 1)
    except OSError as e:
        raise ScenarioError("scenario", name, f"a readable scenario file ({e.strerror or e})") from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError("scenario", name, too_big)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError("scenario", name, f"a text (UTF-8) TOML file; byte {e.start} is not UTF-8") from None


def _file_type(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def load_scenario(source: str | Path) -> Scenario:
    """Load a scenario from a path, a built-in name, or TOML text.

    A :class:`~pathlib.Path`, or a string naming an existing file, is read as a
    file (see :func:`read_scenario_text`); a string naming a built-in scenario
    loads it; any other string is parsed as TOML. Raises :class:`ScenarioError`
    for anything invalid (with ``origin`` naming the file or built-in), and
    FileNotFoundError for a path that does not exist.
    """
    from .builtin import builtin_names, builtin_text

    if isinstance(source, Path):
        return _parse_named(read_scenario_text(source), str(source))
    if "\n" not in source and ("=" not in source or Path(source).exists()):
        if source in builtin_names():
            return _parse_named(builtin_text(source), f"built-in {source}")
        p = Path(source)
        if p.suffix == ".toml" or p.exists():
            return _parse_named(read_scenario_text(p), source)
        raise ScenarioError("scenario", source, f"a file path or a built-in scenario ({', '.join(builtin_names())})")
    return parse_scenario(source, origin="text")


def _parse_named(text: str, origin: str) -> Scenario:
    try:
        return parse_scenario(text, origin=origin)
    except ScenarioError as e:
        if e.key != "scenario":  # a TOML syntax error names the file already
            e.origin = origin
        raise


def parse_scenario(text: str, origin: str = "text") -> Scenario:
    """Parse TOML *text* into a validated :class:`Scenario`."""
    return scenario_from_data(parse_toml(text, origin), source=text)


def parse_toml(text: str, origin: str = "text") -> dict[str, Any]:
    """TOML *text* as plain data (ScenarioError if it is not valid TOML)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError("scenario", origin, f"valid TOML ({e})") from None


def scenario_from_data(data: dict[str, Any], source: str = "") -> Scenario:
    """Validate already-parsed TOML *data* (as :func:`tomllib.loads` returns it).

    This is how programs build variants of a scenario (``pumpsim sweep``
    rewrites values in the data, then validates the result like a file).
    """
    top = read(SCENARIO, data)
    pump_s, cath_s, drug_s, rx_s = (top.sub(n) for n in ("pump", "catheter", "drug", "prescription"))
    assert pump_s is not None and cath_s is not None and drug_s is not None
    pump = PumpSpec(**pump_s.fields())
    catheter = _catheter(cath_s)
    limits_s = drug_s.sub("limits")
    assert limits_s is not None
    drug = DrugSpec(**drug_s.fields(), limits=limits_record(limits_s.fields()))
    duration = top["duration"]
    ptm = _ptm(top.sub("ptm"), duration)
    if not pump.has_firmware:
        return _constant_flow(top, pump, catheter, drug, rx_s, source)
    if rx_s is None:
        raise ScenarioError("[prescription]", MISSING, "a [prescription] table with at least mode and dose")
    cfg = _config(pump, catheter)
    rx = _prescription(rx_s, drug.conc_ng_per_ml, cfg)
    _check_start(rx_s, drug_s, top.sub("ptm"), rx, drug, ptm, cfg)
    _check_mechanism_keys(pump, top)
    visits = _visits(top, duration, drug.conc_ng_per_ml, rx, cfg)
    return Scenario(
        name=top["name"], duration_ms=duration, seed=top["seed"], pump=pump, catheter=catheter, drug=drug,
        prescription=rx, visits=visits, priming_bolus=rx_s["priming_bolus"], description=top["description"],
        trace_interval_ms=top["trace_interval"], confirm=rx_s["confirm"], ptm=ptm,
        patient=_patient(top.sub("patient"), drug, rx), source=source,
    )


def _ptm(sec: Section | None, duration: int) -> PtmSpec | None:
    """The ``[ptm]`` table's program and presses; every press within the run."""
    if sec is None:
        return None
    presses = sec["presses"]
    late = [p for p in presses if p >= duration]
    if late:
        raise sec.error("presses", f"presses within the run (before its duration, {duration / MS_PER_DAY:g} d): "
                                   f"one is at {late[0] / MS_PER_DAY:g} d")
    return PtmSpec(sec["bolus"], sec["duration"], sec["lockout"], sec["max_per_day"], presses)


def _check_start(rx_s: Section, drug_s: Section, ptm_s: Section | None, rx: Prescription, drug: DrugSpec,
                 ptm: PtmSpec | None, cfg: PumpConfig) -> None:
    """What the firmware checks at implant, with the keys named: the patient bolus fits on the prescription
    (REQ-PTM-003), and the drug library accepts the prescription (REQ-LIM-001/002; soft limits with
    ``[prescription] confirm = true``)."""
    settings = ptm.settings() if ptm is not None else None
    conc = drug.conc_ng_per_ml
    rej = check_ptm(settings, rx, conc, cfg)
    if rej is not None:
        assert ptm_s is not None
        raise ptm_s.error("bolus", f"a patient bolus the pump can deliver on top of the prescription: "
                                   f"{rejection_message(rej)}")
    violations = limit_violations(drug.limits, rx, conc, settings, -1, -1, 0)
    rej = refusal(violations, rx_s["confirm"])
    if rej is None:
        return
    what = f"a value within the drug library ([drug.limits]): {rejection_message(rej)}"
    if rej.reason == RejectReason.SOFT_LIMIT:
        what += "; or confirm = true in [prescription]"
    if rej.field == FieldId.CONCENTRATION:
        raise drug_s.error("concentration", what)
    if rej.field == FieldId.BOLUS_DOSE and (ptm_s is not None and rx.bolus_ng < rej.value):
        raise ptm_s.error("bolus", what)
    key = next((k for k in ("dose", "rate", "bolus") if rx_s.given(k)), "mode")
    raise rx_s.error(key, what, rx_s.data.get(key, Shown("(derived)")))


#: Visit keys that program the pump: a constant-flow pump has nothing to program.
_PROGRAMMING_KEYS = ("dose", "rate", "prescription", "bridge_bolus", "priming_bolus", "low_reservoir_alarm",
                     "confirm")


def _constant_flow(top: Section, pump: PumpSpec, catheter: CatheterSpec, drug: DrugSpec, rx_s: Section | None,
                   source: str) -> Scenario:
    """A constant-flow pump's scenario: no prescription, visits that only refill.

    Its ``prescription`` is the continuous dose its label promises: the
    nominal rate at the starting concentration (what ``prescribed_mg`` counts).
    """
    if top.sub("ptm") is not None:
        raise ScenarioError("[ptm]", Shown("(a table)"), "no [ptm]: a constant-flow pump has no patient bolus")
    if rx_s is not None:
        raise ScenarioError("[prescription]", Shown("(a table)"),
                            "no [prescription]: a constant-flow pump cannot be programmed (its rate is [pump] "
                            "nominal_rate; change the dose by the concentration at a refill)")
    for sec in top.array("visit"):
        for key in _PROGRAMMING_KEYS:
            if sec.given(key):
                raise sec.error(key, f"no {key}: a constant-flow pump cannot be programmed (a visit refills it, "
                                     "possibly with a new concentration)", sec.data[key])
    _check_mechanism_keys(pump, top)
    visits = _visits(top, top["duration"], drug.conc_ng_per_ml, None, None)
    dose = max(1, (pump.nominal_rate_pl_per_day * drug.conc_ng_per_ml + PL_PER_ML // 2) // PL_PER_ML)
    rx = Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=dose)
    return Scenario(
        name=top["name"], duration_ms=top["duration"], seed=top["seed"], pump=pump, catheter=catheter, drug=drug,
        prescription=rx, visits=visits, description=top["description"], trace_interval_ms=top["trace_interval"],
        patient=_patient(top.sub("patient"), drug, rx), source=source,
    )


def _check_mechanism_keys(pump: PumpSpec, top: Section) -> None:
    """Keys that apply to one mechanism only: ``reset_valve`` (valve-gated)."""
    if pump.mechanism == "valve_gated":
        return
    for sec in top.array("visit"):
        if sec.given("reset_valve"):
            raise sec.error("reset_valve", f'no reset_valve: only a valve-gated pump has a flow-activated valve '
                                           f'(this pump is {pump.mechanism})', sec.data["reset_valve"])


def with_duration(sc: Scenario, duration_ms: int) -> Scenario:
    """*sc* run for *duration_ms* instead of its own duration.

    Shorter: the same scenario, cut off (visits after the end never happen).
    Longer: the scenario is re-read from its TOML source with the new duration,
    so a ``[refill_plan]`` keeps refilling to the new end. Raises ScenarioError
    if *duration_ms* is not within 1 ms .. 30 years.
    """
    if not 0 < duration_ms <= MAX_DURATION_MS:
        raise ScenarioError("duration", f"{duration_ms} ms", "a duration from 1 ms to 30 years")
    if duration_ms <= sc.duration_ms or not sc.source:
        return replace(sc, duration_ms=duration_ms)
    data = parse_toml(sc.source)
    data["duration"] = f"{duration_ms} ms"
    longer = scenario_from_data(data, source=sc.source)
    # An environment set in Python (not from the file) is kept.
    return replace(longer, seed=sc.seed, environment=longer.environment or sc.environment)


# ------------------------------------------------------------------ records and cross-table rules


def _catheter(sec: Section) -> CatheterSpec:
    vol = sec["volume"]
    if vol is None:
        vol = catheter_volume_nl(sec["length"], sec["volume_per_cm"])
        if vol > _MAX_CATHETER_NL:
            raise sec.error("length", f"a length that keeps the catheter volume (length x volume_per_cm = "
                                      f"{_ml(vol)}) at most {MAX_CATHETER_VOLUME}")
    return CatheterSpec(volume_nl=vol, primed=sec["primed"])


def _config(pump: PumpSpec, cath: CatheterSpec) -> PumpConfig:
    # Every field was range-checked by the schema; this cannot fail for a parsed scenario.
    return Scenario(
        name="", duration_ms=1, seed=0, pump=pump, catheter=cath, drug=DrugSpec(),
        prescription=Prescription(PrescriptionMode.STOPPED),
    ).firmware_config()


def _dose(sec: Section, conc: int) -> int:
    """The dose rate of *sec*: its ``dose``, or its ``rate`` (pL/day) at *conc*, in ng/day."""
    rate = sec["rate"]
    if rate is None:
        dose: int = sec["dose"]
        return dose
    dose = dose_from_rate(rate, conc)
    # The pump is programmed in whole ng/day; refuse a rate that rounding would change by > 0.1 %.
    if not (dose > 0 and abs(dose * PL_PER_ML - rate * conc) * 1000 <= rate * conc):
        raise sec.error("rate", "a rate the pump can program in whole ng/day at this concentration "
                                "(write a dose instead)")
    return dose


def _prescription(sec: Section, conc: int, cfg: PumpConfig) -> Prescription:
    """The prescription of a ``[prescription]`` table, or of a visit's ``dose``/``rate`` shorthand, at *conc*."""
    mode = _MODES[sec.values.get("mode", "continuous")]
    kw: dict[str, Any] = {}
    if mode in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS):
        kw["dose_ng_per_day"] = _dose(sec, conc)
    if mode == PrescriptionMode.FLEX:
        kw["steps"] = _steps(sec.array("step"), conc)
    if mode in (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS):
        kw.update(bolus_ng=sec["bolus"], bolus_duration_ms=sec["bolus_duration"])
    if mode == PrescriptionMode.PERIODIC_BOLUS:
        kw.update(bolus_interval_ms=sec["bolus_interval"], bolus_start_ms=sec["bolus_start"])
    rx = Prescription(mode, **kw)
    rej = check_prescription(rx, conc, cfg)  # REQ-RX-002: deliverable at load time, as the firmware checks
    if rej is not None:
        raise _rejection_error(sec, rejection_field(rej), rejection_message(rej))
    return rx


def _steps(steps: list[Section], conc: int) -> tuple[FlexStep, ...]:
    out = tuple(FlexStep(s["start"], _dose(s, conc)) for s in steps)
    if out[0].start_ms != 0:
        raise steps[0].error("start", '"00:00" for the first step')
    for i in range(1, len(out)):
        if out[i].start_ms <= out[i - 1].start_ms:
            raise steps[i].error("start", "a time later than the previous step's")
    return out


def _rejection_error(sec: Section, field: str, message: str) -> ScenarioError:
    """Map a firmware rejection ("dose", "steps[2].dose", "bolus") onto the TOML key."""
    expected = f"a deliverable prescription: {message}"
    if field.startswith("steps["):
        step = sec.array("step")[int(field[len("steps["):field.index("]")])]
        return step.error("rate" if step.given("rate") else "dose", expected)
    key = "rate" if field == "dose" and sec.given("rate") else field
    return sec.error(key, expected, sec.data.get(key, Shown("(derived)")))


def _patient(sec: Section | None, drug: DrugSpec, rx: Prescription) -> PatientSpec | None:
    """The ``[patient]`` table's CSF model, or None without one (or with ``pk = false``)."""
    if sec is None:
        return None
    trial = sec.sub("trial")
    if not sec["pk"]:
        if trial is not None:
            raise sec.error("pk", "true with a [patient.trial] table (the trial's CSF curve is the model's)")
        return None
    facts = drug_facts(drug.name)
    weight = float(sec["weight"])
    volume_ml = sec["volume"] / NL_PER_ML
    if sec["clearance"] is not None:
        clearance = sec["clearance"] / PL_PER_ML / (MS_PER_DAY / MS_PER_MIN)  # pL/day -> mL/min
    elif sec["half_life"] is not None:
        clearance = clearance_from_half_life(sec["half_life"] / MS_PER_H, volume_ml)
    elif facts is not None and facts.has_kinetics:
        clearance = facts.clearance_for(weight, volume_ml)
    else:
        known = ", ".join(sorted(n for n, f in DRUGS.items() if f.has_kinetics))
        raise sec.error("clearance", f"a clearance or half_life: pumpsim has no CSF kinetics for drug "
                                     f"{drug.name!r} (it has them for {known})", Shown("(missing)"))
    low, high = sec["band_low"], sec["band_high"]
    if low is not None and high is not None and high <= low:
        raise sec.error("band_high", f"a concentration above band_low ({low:g} ng/mL)")
    withdrawal = sec["withdrawal_below"]
    if facts is not None and not facts.withdrawal:
        if withdrawal is not None:
            raise sec.error("withdrawal_below", f"no value: {facts.name} has no withdrawal syndrome "
                                                "([C] domain.md §6.3)")
    elif withdrawal is None:
        # Unknown drugs are assumed to have one (the safe side).
        css = CsfModel(volume_ml, clearance).steady_state_ng_per_ml(rx.daily_dose_ng())
        withdrawal = low if low is not None else (css / 2 if css > 0 else None)
    return PatientSpec(
        volume_nl=sec["volume"], clearance_ml_per_min=clearance, weight_kg=weight, start=sec["start"],
        band_low_ng_per_ml=low, band_high_ng_per_ml=high, withdrawal_below_ng_per_ml=withdrawal,
        withdrawal_from_ms=sec["withdrawal_from"], withdrawal_to_ms=sec["withdrawal_to"],
        trial=_trial(trial) if trial is not None else None,
    )


def _trial(sec: Section) -> TrialSpec:
    if sec.case == "bolus":
        amount, duration = sec["bolus"], sec["bolus_duration"]
    else:
        duration = sec["duration"]
        amount = sec["dose"] * duration // MS_PER_DAY
    return TrialSpec(kind=sec.case or "bolus", amount_ng=amount, duration_ms=duration, observe_ms=sec["observe"],
                     relief=sec["relief"], threshold=sec["threshold"])


def _visits(top: Section, duration: int, conc0: int, rx0: Prescription | None,
            cfg: PumpConfig | None) -> tuple[Visit, ...]:
    """The visits in time order; each prescription checked at the concentration in effect (*cfg* None: a pump
    without firmware, nothing to check)."""
    visits: list[tuple[Visit, Section | None]] = [_visit(v) for v in top.array("visit")]
    plan = top.sub("refill_plan")
    if plan is not None:
        visits.extend((v, None) for v in _plan(plan, duration))
    visits.sort(key=lambda pair: pair[0].at_ms)
    # Second pass: a visit's prescription needs the concentration in effect then.
    out = []
    conc = conc0
    rx = rx0
    for v, rx_sec in visits:
        if v.conc_ng_per_ml is not None:
            conc = v.conc_ng_per_ml
        if cfg is None or rx is None:
            pass
        elif rx_sec is not None:
            v = replace(v, prescription=_prescription(rx_sec, conc, cfg))
            assert v.prescription is not None
            rx = v.prescription
        elif v.conc_ng_per_ml is not None:
            # The dose is kept and the rate follows the concentration: that rate
            # must be deliverable too, or the pump would refuse the refill.
            rej = check_prescription(rx, conc, cfg)
            if rej is not None:
                raise ScenarioError(
                    f"[{v.origin}] concentration", f"{conc / NG_PER_MCG:g} mcg/mL",
                    f"a concentration at which the current prescription stays deliverable ({rejection_message(rej)}); "
                    "or reprogram the dose in the same visit",
                )
        out.append(v)
    return tuple(out)


def _visit(sec: Section) -> tuple[Visit, Section | None]:
    """A visit record, and the section its new prescription comes from (its own dose/rate shorthand) if any."""
    rx = sec.sub("prescription")
    if rx is None and (sec.given("dose") or sec.given("rate")):
        rx = sec
    visit = Visit(at_ms=sec["at"], refill_nl=sec["refill"], conc_ng_per_ml=sec["concentration"],
                  aspirate=sec["aspirate"], bridge_bolus=sec["bridge_bolus"], priming_bolus=sec["priming_bolus"],
                  low_reservoir_alarm_nl=sec["low_reservoir_alarm"], confirm=sec["confirm"],
                  reset_valve=sec["reset_valve"], origin=sec.where)
    return visit, rx


def _plan(sec: Section, duration: int) -> list[Visit]:
    out = []
    at = sec["first"]
    while at < min(sec["until"], duration):
        out.append(Visit(at_ms=at, refill_nl=sec["refill"], aspirate=sec["aspirate"], origin="refill_plan"))
        at += sec["every"]
    return out


__all__ = [
    "MAX_DURATION_MS",
    "MAX_SCENARIO_BYTES",
    "PROMETRA_NL_PER_CM",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
    "parse_toml",
    "read_scenario_text",
    "scenario_from_data",
    "with_duration",
]
