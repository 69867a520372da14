"""Strict TOML scenario loading.

Every key is checked: unknown keys, missing or wrong units and impossible
values raise :class:`ScenarioError`, whose message names the key, the value and
what was expected. Nothing is silently defaulted that the user wrote.
The format is documented in docs/scenario-format.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from firmware_model import (
    MAX_FLEX_STEPS,
    MS_PER_DAY,
    NL_PER_ML,
    PL_PER_ML,
    FlexStep,
    Prescription,
    PrescriptionMode,
    PumpConfig,
    check_prescription,
)

from . import quantities as units
from .model import CatheterSpec, DrugSpec, PumpSpec, Scenario, Visit

T = TypeVar("T")

#: Longest run a scenario may ask for: 30 years.
MAX_DURATION_MS = 30 * 365 * MS_PER_DAY
#: Prometra catheter internal volume per cm ([C] Prometra II manual p. 33).
PROMETRA_NL_PER_CM = Decimal(2600)

_MODES = {
    "continuous": PrescriptionMode.CONTINUOUS,
    "flex": PrescriptionMode.FLEX,
    "periodic_bolus": PrescriptionMode.PERIODIC_BOLUS,
    "single_bolus": PrescriptionMode.SINGLE_BOLUS,
    "stopped": PrescriptionMode.STOPPED,
}


class ScenarioError(ValueError):
    """A scenario is invalid. ``key`` is the dotted place, ``value`` what was written."""

    def __init__(self, key: str, value: object, expected: str) -> None:
        shown = "(missing)" if value is _MISSING else _show(value)
        super().__init__(f"{key} = {shown}: expected {expected}")
        self.key = key
        self.value = value
        self.expected = expected


_MISSING = object()


def _show(value: object) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{...}"
    return repr(value)


class _Table:
    """A TOML table being read; remembers which keys were used."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(where or "scenario", data, "a table")
        self.data: dict[str, Any] = data
        self.where = where
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"[{self.where}] {name}" if self.where else name

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> Any:
        self.used.add(name)
        return self.data.get(name, _MISSING)

    def get(self, name: str, parse: Callable[[object], T], default: T | None = None) -> T | None:
        v = self.raw(name)
        if v is _MISSING:
            return default
        try:
            return parse(v)
        except units.QuantityError as e:
            raise ScenarioError(self.key(name), v, e.expected) from None

    def need(self, name: str, parse: Callable[[object], T], expected: str) -> T:
        v = self.raw(name)
        if v is _MISSING:
            raise ScenarioError(self.key(name), _MISSING, expected)
        out = self.get(name, parse)
        assert out is not None
        return out

    def boolean(self, name: str, default: bool) -> bool:
        v = self.raw(name)
        if v is _MISSING:
            return default
        if not isinstance(v, bool):
            raise ScenarioError(self.key(name), v, "true or false")
        return v

    def sub(self, name: str) -> _Table | None:
        v = self.raw(name)
        return None if v is _MISSING else _Table(v, f"{self.where}.{name}" if self.where else name)

    def done(self, allowed: str) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ScenarioError(self.key(unknown[0]), self.data[unknown[0]], f"no such key here; known keys: {allowed}")


def _check(cond: bool, key: str, value: object, expected: str) -> None:
    if not cond:
        raise ScenarioError(key, value, expected)


def _ml(nl: int) -> str:
    return f"{nl / NL_PER_ML:g} mL"


def load_scenario(source: str | Path) -> Scenario:
    """Load a scenario from a path, a built-in name, or TOML text.

    A :class:`~pathlib.Path`, or a string naming an existing file, is read as a
    file; a string naming a built-in scenario loads it; any other string is
    parsed as TOML. Raises :class:`ScenarioError` for anything invalid, and
    FileNotFoundError for a path that does not exist.
    """
    from .builtin import builtin_names, builtin_text

    if isinstance(source, Path):
        return parse_scenario(source.read_text(encoding="utf-8"), origin=str(source))
    if "\n" not in source and ("=" not in source or Path(source).exists()):
        if source in builtin_names():
            return parse_scenario(builtin_text(source), origin=f"built-in {source}")
        p = Path(source)
        if p.suffix == ".toml" or p.exists():
            return parse_scenario(p.read_text(encoding="utf-8"), origin=source)
        raise ScenarioError("scenario", source, f"a file path or a built-in scenario ({', '.join(builtin_names())})")
    return parse_scenario(source, origin="text")


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
    top = _Table(data, "")
    name = top.get("name", _string("name"), "unnamed")
    description = top.get("description", _string("description"), "")
    duration = top.need("duration", units.duration_ms, units.DURATION)
    _check(0 < duration <= MAX_DURATION_MS, "duration", top.data["duration"], "a duration from 1 ms to 30 years")
    seed = top.raw("seed")
    if seed is _MISSING:
        seed = 0
    _check(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0, "seed", seed, "an integer >= 0")
    trace = top.get("trace_interval", units.duration_ms, 3_600_000)
    assert trace is not None
    _check(60_000 <= trace <= MS_PER_DAY, "trace_interval", top.data.get("trace_interval"), "1 min to 1 d")

    pump = _pump(top.sub("pump") or _Table({}, "pump"))
    catheter = _catheter(top.sub("catheter") or _Table({}, "catheter"))
    drug = _drug(top.sub("drug") or _Table({}, "drug"))
    cfg = _config(pump, catheter)

    rx_t = top.sub("prescription")
    if rx_t is None:
        raise ScenarioError("[prescription]", _MISSING, "a [prescription] table with at least mode and dose")
    priming = rx_t.boolean("priming_bolus", False)
    rx = _prescription(rx_t, drug.conc_ng_per_ml, cfg, extra="priming_bolus")

    visits = _visits(top, duration, pump, drug.conc_ng_per_ml, rx, cfg)
    top.done("name, description, duration, seed, trace_interval, [pump], [catheter], [drug], "
             "[prescription], [[visit]], [refill_plan]")
    _check(len(str(name)) <= 200 and all(c.isprintable() for c in str(name)), "name", name,
           "at most 200 printable characters")
    return Scenario(
        name=str(name), duration_ms=duration, seed=int(seed), pump=pump, catheter=catheter, drug=drug,
        prescription=rx, visits=visits, priming_bolus=priming, description=str(description),
        trace_interval_ms=trace, source=source,
    )


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
    return replace(longer, seed=sc.seed)


def _string(key: str) -> Callable[[object], str]:
    def parse(v: object) -> str:
        if not isinstance(v, str):
            raise units.QuantityError(v, "a string")
        return v
    return parse


def _pump(t: _Table) -> PumpSpec:
    d = PumpSpec()
    reservoir = t.get("reservoir", units.volume_nl, d.reservoir_nl)
    assert reservoir is not None
    _check(0 < reservoir <= 100 * NL_PER_ML, t.key("reservoir"), t.data.get("reservoir"), "0 < reservoir <= 100 mL")
    fill = t.get("fill", units.volume_nl, reservoir)
    assert fill is not None
    _check(0 <= fill <= reservoir, t.key("fill"), t.data.get("fill"),
           f"a volume from 0 mL to the reservoir's {_ml(reservoir)}")
    # 2 mL by default; a reservoir that small gets a tenth of its volume instead.
    low_default = d.low_reservoir_alarm_nl if reservoir > d.low_reservoir_alarm_nl else reservoir // 10
    low = t.get("low_reservoir_alarm", units.volume_nl, low_default)
    assert low is not None
    _check(0 <= low < reservoir, t.key("low_reservoir_alarm"), t.data.get("low_reservoir_alarm"),
           f"a volume from 0 mL to below the reservoir's {_ml(reservoir)}")
    floor = t.get("empty_floor", units.volume_nl, d.empty_floor_nl)
    assert floor is not None
    _check(0 <= floor <= low, t.key("empty_floor"), t.data.get("empty_floor"),
           f"a volume from 0 mL to the low-reservoir alarm's {_ml(low)}")
    stroke = t.get("stroke_volume", units.volume_pl, d.stroke_volume_pl)
    assert stroke is not None
    _check(1_000 <= stroke <= 10_000_000, t.key("stroke_volume"), t.data.get("stroke_volume"), "1 nL to 10 uL")
    cal = t.get("calibration_error", units.percent, 0.0)
    assert cal is not None
    _check(-0.5 <= cal <= 0.5, t.key("calibration_error"), t.data.get("calibration_error"), "-50 % to +50 %")
    cv = t.get("stroke_cv", units.percent, 0.0)
    assert cv is not None
    _check(0.0 <= cv <= 1.0, t.key("stroke_cv"), t.data.get("stroke_cv"), "0 % to 100 %")
    min_rate = t.get("min_rate", units.rate_pl_per_day, d.min_rate_pl_per_day)
    max_rate = t.get("max_rate", units.rate_pl_per_day, d.max_rate_pl_per_day)
    assert min_rate is not None and max_rate is not None
    _check(min_rate > 0, t.key("min_rate"), t.data.get("min_rate"), "a flow rate > 0 mL/day")
    if "max_rate" in t.data:
        _check(min_rate <= max_rate <= 100 * PL_PER_ML, t.key("max_rate"), t.data["max_rate"],
               "a flow rate from min_rate to 100 mL/day")
    else:
        _check(min_rate <= max_rate, t.key("min_rate"), t.data.get("min_rate"),
               f"a flow rate at most max_rate ({max_rate / PL_PER_ML:g} mL/day by default)")
    internal = t.get("internal_volume", units.volume_nl, d.internal_volume_nl)
    unasp = t.get("unaspirated_volume", units.volume_nl, d.unaspirated_nl)
    assert internal is not None and unasp is not None
    _check(0 <= internal <= 5 * NL_PER_ML, t.key("internal_volume"), t.data.get("internal_volume"), "0 to 5 mL")
    _check(0 <= unasp <= reservoir, t.key("unaspirated_volume"), t.data.get("unaspirated_volume"),
           "0 mL to the reservoir volume")
    nct = t.get("non_critical_tone_interval", units.duration_ms, d.non_critical_tone_interval_ms)
    ct = t.get("critical_tone_interval", units.duration_ms, d.critical_tone_interval_ms)
    assert nct is not None and ct is not None
    _check(1000 <= nct <= MS_PER_DAY, t.key("non_critical_tone_interval"), t.data.get("non_critical_tone_interval"),
           "1 s to 1 d")
    _check(1000 <= ct <= MS_PER_DAY, t.key("critical_tone_interval"), t.data.get("critical_tone_interval"),
           "1 s to 1 d")
    t.done("reservoir, fill, low_reservoir_alarm, empty_floor, stroke_volume, calibration_error, stroke_cv, "
           "min_rate, max_rate, internal_volume, unaspirated_volume, non_critical_tone_interval, "
           "critical_tone_interval")
    return PumpSpec(
        reservoir_nl=reservoir, fill_nl=fill, low_reservoir_alarm_nl=low, empty_floor_nl=floor,
        stroke_volume_pl=stroke, calibration_error=cal, stroke_cv=cv, min_rate_pl_per_day=min_rate,
        max_rate_pl_per_day=max_rate, internal_volume_nl=internal, unaspirated_nl=unasp,
        non_critical_tone_interval_ms=nct, critical_tone_interval_ms=ct,
    )


def _catheter(t: _Table) -> CatheterSpec:
    primed = t.boolean("primed", True)
    if t.has("volume"):
        if t.has("length") or t.has("volume_per_cm"):
            raise ScenarioError(t.key("volume"), t.data["volume"],
                                "either volume, or length with volume_per_cm, not both")
        vol = t.get("volume", units.volume_nl)
        assert vol is not None
    else:
        length = t.get("length", units.length_cm, Decimal(90))
        per_cm = t.get("volume_per_cm", units.volume_nl_per_cm, PROMETRA_NL_PER_CM)
        assert length is not None and per_cm is not None
        _check(0 < length <= 200, t.key("length"), t.data.get("length"), "a length from 0 to 200 cm")
        _check(0 < per_cm <= 100_000, t.key("volume_per_cm"), t.data.get("volume_per_cm"),
               "0 to 0.1 mL/cm")
        vol = int((length * per_cm).to_integral_value())
    if "volume" in t.data:
        _check(0 <= vol <= 5 * NL_PER_ML, t.key("volume"), t.data["volume"], "a volume from 0 to 5 mL")
    else:
        _check(vol <= 5 * NL_PER_ML, t.key("length"), t.data.get("length", "90 cm"),
               f"a length that keeps the catheter volume (length x volume_per_cm = {_ml(vol)}) at most 5 mL")
    t.done("volume, length, volume_per_cm, primed")
    return CatheterSpec(volume_nl=vol, primed=primed)


def _drug(t: _Table) -> DrugSpec:
    d = DrugSpec()
    name = t.get("name", _string("name"), d.name)
    conc = t.need("concentration", units.concentration_ng_per_ml, units.CONCENTRATION)
    _check(0 < conc <= 100 * 10**6, t.key("concentration"), t.data["concentration"], "above 0 and at most 100 mg/mL")
    t.done("name, concentration")
    assert name is not None
    return DrugSpec(name=name, conc_ng_per_ml=conc)


def _config(pump: PumpSpec, cath: CatheterSpec) -> PumpConfig:
    # Every field was range-checked above; this cannot fail for a parsed scenario.
    return Scenario(
        name="", duration_ms=1, seed=0, pump=pump, catheter=cath, drug=DrugSpec(),
        prescription=Prescription(PrescriptionMode.STOPPED),
    ).firmware_config()


def _dose(t: _Table, conc: int, what: str) -> int:
    """A dose rate from 'dose' (mass/time) or 'rate' (volume/time at *conc*), ng/day."""
    if t.has("dose") and t.has("rate"):
        raise ScenarioError(t.key("rate"), t.data["rate"], "either dose or rate, not both")
    if t.has("rate"):
        rate = t.get("rate", units.rate_pl_per_day)
        assert rate is not None
        _check(rate > 0, t.key("rate"), t.data["rate"], "a flow rate > 0")
        dose = (rate * conc + PL_PER_ML // 2) // PL_PER_ML
        # The pump is programmed in whole ng/day; refuse a rate that rounding would change by > 0.1 %.
        _check(dose > 0 and abs(dose * PL_PER_ML - rate * conc) * 1000 <= rate * conc, t.key("rate"), t.data["rate"],
               "a rate the pump can program in whole ng/day at this concentration (write a dose instead)")
        return dose
    dose = t.need("dose", units.dose_ng_per_day, f"{what}: {units.DOSE_RATE}, or rate = {units.VOLUME_RATE}")
    _check(dose > 0, t.key("dose"), t.data["dose"], "a dose rate > 0")
    return dose


def _prescription(t: _Table, conc: int, cfg: PumpConfig, extra: str = "") -> Prescription:
    mode_s = t.get("mode", _string("mode"), "continuous")
    if mode_s not in _MODES:
        raise ScenarioError(t.key("mode"), mode_s, "one of " + ", ".join(_MODES))
    mode = _MODES[str(mode_s)]
    kw: dict[str, Any] = {}
    if mode in (PrescriptionMode.CONTINUOUS, PrescriptionMode.PERIODIC_BOLUS):
        kw["dose_ng_per_day"] = _dose(t, conc, "the basal dose rate")
    if mode is PrescriptionMode.FLEX:
        raw = t.raw("step")
        if not isinstance(raw, list) or not raw:
            raise ScenarioError(t.key("step"), raw, f"1..{MAX_FLEX_STEPS} [[{t.where}.step]] tables")
        if len(raw) > MAX_FLEX_STEPS:
            raise ScenarioError(t.key("step"), f"{len(raw)} steps", f"at most {MAX_FLEX_STEPS} steps")
        steps = []
        for i, s in enumerate(raw):
            st = _Table(s, f"{t.where}.step {i + 1}")
            start = st.need("start", units.time_of_day_ms, units.TIME_OF_DAY)
            steps.append(FlexStep(start, _dose(st, conc, "the step's dose rate")))
            st.done("start, dose, rate")
        if steps[0].start_ms != 0:
            raise ScenarioError(f"[{t.where}.step 1] start", raw[0].get("start"), '"00:00" for the first step')
        for i in range(1, len(steps)):
            if steps[i].start_ms <= steps[i - 1].start_ms:
                raise ScenarioError(f"[{t.where}.step {i + 1}] start", raw[i].get("start"),
                                    "a time later than the previous step's")
        kw["steps"] = tuple(steps)
    if mode in (PrescriptionMode.PERIODIC_BOLUS, PrescriptionMode.SINGLE_BOLUS):
        bolus = t.need("bolus", units.mass_ng, units.MASS)
        _check(bolus > 0, t.key("bolus"), t.data["bolus"], "a drug mass > 0")
        dur = t.need("bolus_duration", units.duration_ms, units.DURATION)
        _check(60_000 <= dur <= MS_PER_DAY, t.key("bolus_duration"), t.data["bolus_duration"], "1 min to 1 d")
        kw.update(bolus_ng=bolus, bolus_duration_ms=dur)
    if mode is PrescriptionMode.PERIODIC_BOLUS:
        interval = t.need("bolus_interval", units.duration_ms, units.DURATION)
        _check(kw["bolus_duration_ms"] < interval <= 7 * MS_PER_DAY, t.key("bolus_interval"),
               t.data["bolus_interval"], "longer than bolus_duration and at most 7 d")
        bolus_start = t.get("bolus_start", units.time_of_day_ms, 0)
        kw.update(bolus_interval_ms=interval, bolus_start_ms=bolus_start)
    allowed = {
        PrescriptionMode.CONTINUOUS: "mode, dose, rate",
        PrescriptionMode.FLEX: "mode, step",
        PrescriptionMode.PERIODIC_BOLUS: "mode, dose, rate, bolus, bolus_duration, bolus_interval, bolus_start",
        PrescriptionMode.SINGLE_BOLUS: "mode, bolus, bolus_duration",
        PrescriptionMode.STOPPED: "mode",
    }[mode]
    t.done(allowed + (", " + extra if extra else "") + f" (for mode = \"{mode_s}\")")
    rx = Prescription(mode, **kw)
    rej = check_prescription(rx, conc, cfg)
    if rej is not None:
        raise _rejection_error(t, rej.field, rej.message)
    return rx


def _rejection_error(t: _Table, field: str, message: str) -> ScenarioError:
    """Map a firmware rejection ("dose", "steps[2].dose", "bolus") onto the TOML key."""
    expected = f"a deliverable prescription: {message}"
    if field.startswith("steps["):
        i = int(field[len("steps["):field.index("]")])
        step = t.data["step"][i]
        key = "rate" if "rate" in step else "dose"
        return ScenarioError(f"[{t.where}.step {i + 1}] {key}", step.get(key), expected)
    key = "rate" if field == "dose" and "rate" in t.data else field
    return ScenarioError(t.key(key), t.data.get(key, "(derived)"), expected)


def _visits(
    top: _Table, duration: int, pump: PumpSpec, conc0: int, rx0: Prescription, cfg: PumpConfig
) -> tuple[Visit, ...]:
    raw = top.raw("visit")
    visits: list[tuple[Visit, _Table | None]] = []
    if raw is not _MISSING:
        if not isinstance(raw, list):
            raise ScenarioError("visit", raw, "[[visit]] tables (an array of tables)")
        for i, v in enumerate(raw):
            visits.append(_visit(_Table(v, f"visit {i + 1}"), duration, pump))
    plan = top.sub("refill_plan")
    if plan is not None:
        visits.extend((v, None) for v in _plan(plan, duration, pump))
    visits.sort(key=lambda pair: pair[0].at_ms)
    # Second pass: a visit's prescription needs the concentration in effect then.
    out = []
    conc = conc0
    rx = rx0
    for v, rx_table in visits:
        if v.conc_ng_per_ml is not None:
            conc = v.conc_ng_per_ml
        if rx_table is not None:
            v = replace(v, prescription=_prescription(rx_table, conc, cfg))
            assert v.prescription is not None
            rx = v.prescription
        elif v.conc_ng_per_ml is not None:
            # The dose is kept and the rate follows the concentration: that rate
            # must be deliverable too, or the pump would refuse the refill.
            rej = check_prescription(rx, conc, cfg)
            if rej is not None:
                raise ScenarioError(
                    f"[{v.origin}] concentration", f"{conc / 1000:g} mcg/mL",
                    f"a concentration at which the current prescription stays deliverable ({rej.message}); "
                    "or reprogram the dose in the same visit",
                )
        out.append(v)
    return tuple(out)


def _visit(t: _Table, duration: int, pump: PumpSpec) -> tuple[Visit, _Table | None]:
    at = t.need("at", units.duration_ms, units.DURATION)
    _check(0 <= at <= duration, t.key("at"), t.data["at"], "a time within the scenario's duration")
    refill = t.get("refill", units.volume_nl)
    if refill is not None:
        _check(0 < refill <= pump.reservoir_nl, t.key("refill"), t.data["refill"],
               f"a volume above 0 and at most the reservoir's {_ml(pump.reservoir_nl)}")
    conc = t.get("concentration", units.concentration_ng_per_ml)
    if conc is not None:
        _check(refill is not None, t.key("concentration"), t.data["concentration"],
               "a refill in the same visit (the concentration changes only with a refill)")
        _check(0 < conc <= 100 * 10**6, t.key("concentration"), t.data["concentration"],
               "above 0 and at most 100 mg/mL")
    aspirate = t.boolean("aspirate", True)
    bridge = t.boolean("bridge_bolus", False)
    if bridge:
        _check(conc is not None, t.key("bridge_bolus"), True, "a concentration change in the same visit")
    priming = t.boolean("priming_bolus", False)
    low = t.get("low_reservoir_alarm", units.volume_nl)
    if low is not None:
        _check(pump.empty_floor_nl <= low < pump.reservoir_nl, t.key("low_reservoir_alarm"),
               t.data["low_reservoir_alarm"],
               f"a volume from the empty floor ({_ml(pump.empty_floor_nl)}) to below the reservoir's "
               f"{_ml(pump.reservoir_nl)}")
    rx: _Table | None = None
    sub = t.sub("prescription")
    if sub is not None:
        if t.has("dose") or t.has("rate"):
            raise ScenarioError(t.key("dose"), t.data.get("dose", t.data.get("rate")),
                                "either dose/rate or a [visit.prescription] table, not both")
        rx = sub
    elif t.has("dose") or t.has("rate"):
        shorthand: dict[str, Any] = {k: t.data[k] for k in ("dose", "rate") if k in t.data}
        t.used.update(shorthand)
        rx = _Table({"mode": "continuous", **shorthand}, t.where)
    t.done("at, refill, concentration, aspirate, dose, rate, prescription, bridge_bolus, priming_bolus, "
           "low_reservoir_alarm")
    visit = Visit(at_ms=at, refill_nl=refill, conc_ng_per_ml=conc, aspirate=aspirate, bridge_bolus=bridge,
                  priming_bolus=priming, low_reservoir_alarm_nl=low, origin=t.where)
    return visit, rx


def _plan(t: _Table, duration: int, pump: PumpSpec) -> list[Visit]:
    every = t.need("every", units.duration_ms, units.DURATION)
    _check(MS_PER_DAY <= every <= 365 * MS_PER_DAY, t.key("every"), t.data["every"], "1 d to 365 d")
    first = t.get("first", units.duration_ms, every)
    assert first is not None
    _check(0 <= first <= duration, t.key("first"), t.data.get("first"), "a time within the scenario's duration")
    refill = t.need("refill", units.volume_nl, units.VOLUME)
    _check(0 < refill <= pump.reservoir_nl, t.key("refill"), t.data["refill"],
           f"a volume above 0 and at most the reservoir's {_ml(pump.reservoir_nl)}")
    aspirate = t.boolean("aspirate", True)
    until = t.get("until", units.duration_ms, duration)
    assert until is not None
    _check(until > 0, t.key("until"), t.data.get("until"), "a time after the start")
    t.done("every, first, refill, aspirate, until")
    out = []
    at = first
    while at < min(until, duration):
        out.append(Visit(at_ms=at, refill_nl=refill, aspirate=aspirate, origin="refill_plan"))
        at += every
    return out
