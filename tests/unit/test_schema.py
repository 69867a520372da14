"""The scenario schema: what derives from it (docs, sweep keys, record defaults) and its mechanisms.

The mechanisms the next issues need (a discriminated ``[[fault]]`` array,
``[pump] profile`` defaults) are proven here on a small example schema, so the
real entries will each be one declaration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pumpsim.scenario import CatheterSpec, DrugSpec, PumpSpec, ScenarioError, docgen, load_scenario
from pumpsim.scenario.reader import range_phrase, read
from pumpsim.scenario.schema import (
    DURATION_MS,
    FLOW_PL_PER_DAY,
    SCENARIO,
    VOLUME_NL,
    array_tables,
    unit_families,
    variable_keys,
)
from pumpsim.scenario.spec import (
    BOOLEAN,
    REQUIRED,
    Exclusive,
    Fixed,
    Key,
    Profile,
    Range,
    Ref,
    Requires,
    SameAs,
    Schema,
    Table,
    Unset,
    Variants,
    above,
    between,
    choice,
)

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = 'duration = "30 d"\n[drug]\nconcentration = "500 mcg/mL"\n[prescription]\ndose = "250 mcg/day"\n'

# ------------------------------------------------------------------ docs


def test_committed_docs_match_the_schema() -> None:
    """The generated tables in docs/ are what `python -m pumpsim.scenario.docgen --write` makes now."""
    found: set[str] = set()
    for name in docgen.DOC_FILES:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert docgen.render(text) == text, f"{name} is out of date: python -m pumpsim.scenario.docgen --write"
        found.update(docgen.blocks(text))
    documented = {f"keys:{p}" for p, _ in SCENARIO.tables() if not p.startswith("visit.prescription")}
    assert documented | {"units", "vary"} <= found


def test_the_docs_check_fails_on_a_stale_table(tmp_path: Path) -> None:
    """A hand edit inside a generated block is caught (--check exits 1) and --write restores it."""
    f = tmp_path / "doc.md"
    fresh = docgen.render("# t\n<!-- BEGIN GENERATED keys:drug -->\n<!-- END GENERATED keys:drug -->\nprose\n")
    assert "| `concentration` | concentration | **required** |" in fresh
    f.write_text(fresh.replace("**required**", "optional"))
    assert docgen.main(["--check", str(f)]) == 1
    assert docgen.main(["--write", str(f)]) == 0 and f.read_text() == fresh
    assert docgen.main(["--check", str(f)]) == 0


# ------------------------------------------------------------------ what the sweep uses (drop-in for pumpsim/sweep.py)

#: pumpsim/sweep.py's hand-written VARIABLE_KEYS and _ARRAYS before the schema.
SWEEP_VARIABLE_KEYS = {
    "": {"duration": "duration"},
    "pump": {
        "reservoir": "volume", "fill": "volume", "low_reservoir_alarm": "volume", "empty_floor": "volume",
        "stroke_volume": "volume", "calibration_error": "percent", "stroke_cv": "percent",
        "min_rate": "flow rate", "max_rate": "flow rate", "internal_volume": "volume",
        "unaspirated_volume": "volume", "non_critical_tone_interval": "duration",
        "critical_tone_interval": "duration",
        # added with the device profiles
        "accuracy": "percent", "aliquot_volume": "volume", "fav_volume": "volume", "nominal_rate": "flow rate",
        "propellant_pressure": "pressure", "propellant_pressure_rise": "percent",
    },
    "catheter": {"volume": "volume", "length": "length", "volume_per_cm": "volume per length"},
    "drug": {"concentration": "concentration"},
    "prescription": {"dose": "dose rate", "rate": "flow rate", "bolus": "mass", "bolus_duration": "duration",
                     "bolus_interval": "duration"},
    "prescription.step": {"dose": "dose rate", "rate": "flow rate"},
    "refill_plan": {"every": "duration", "first": "duration", "until": "duration", "refill": "volume"},
    # added with the drug library and patient boluses
    "drug.limits": {"concentration_soft": "concentration", "concentration_hard": "concentration",
                    "daily_dose_soft": "dose rate", "daily_dose_hard": "dose rate", "bolus_soft": "mass",
                    "bolus_hard": "mass", "step_soft": "dose rate", "step_hard": "dose rate",
                    "step_interval": "duration"},
    "ptm": {"bolus": "mass", "duration": "duration", "lockout": "duration"},
    "visit": {"at": "duration", "refill": "volume", "concentration": "concentration", "dose": "dose rate",
              "rate": "flow rate", "low_reservoir_alarm": "volume"},
    "visit.prescription": {"dose": "dose rate", "rate": "flow rate", "bolus": "mass",
                           "bolus_duration": "duration", "bolus_interval": "duration"},
    "visit.prescription.step": {"dose": "dose rate", "rate": "flow rate"},
}


def test_variable_keys_and_arrays_replace_the_sweeps_tables() -> None:
    """variable_keys() and array_tables() equal the sweep's old VARIABLE_KEYS and _ARRAYS."""
    assert variable_keys() == SWEEP_VARIABLE_KEYS
    assert array_tables() == {"visit", "prescription.step", "visit.prescription.step"}


def test_unit_families_scale_units_as_the_sweep_did() -> None:
    """Every family the sweep names exists; scale() gives base units per unit, None for another family.

    Hand-worked: 1 mL/h = 24 mL/day = 24e9 pL/day; 1 w = 7 x 86,400,000 ms; 1 mg/mL = 1e6 ng/mL.
    """
    fams = unit_families()
    assert {f for keys in SWEEP_VARIABLE_KEYS.values() for f in keys.values()} <= set(fams)
    assert fams["flow rate"].scale("ml/h") == 24 * 10**9
    assert fams["duration"].scale("w") == 7 * 86_400_000
    assert fams["concentration"].scale("mg/ml") == 10**6
    assert fams["volume"].scale("mg") is None and fams["dose rate"].scale("mcg") is None
    assert fams["percent"].expected == "a percentage such as '2 %'"


# ------------------------------------------------------------------ the schema agrees with the records


def test_record_defaults_are_the_schemas() -> None:
    """The minimal scenario takes every default from the schema; they equal the records' own defaults."""
    sc = load_scenario(MINIMAL)
    assert sc.pump == PumpSpec()
    assert sc.catheter == CatheterSpec()
    assert sc.drug == DrugSpec(conc_ng_per_ml=500_000)
    assert (sc.name, sc.seed, sc.trace_interval_ms) == ("unnamed", 0, 3_600_000)


def test_every_key_has_docs_and_every_quantity_default_parses() -> None:
    """No key without a docs text; a vary key is a quantity; constant defaults parse to their kind."""
    for path, k in SCENARIO.keys().items():
        assert k.doc.strip(), path
        assert not k.vary or k.kind.family is not None, path
        if isinstance(k.default, Fixed):
            k.kind.parse(k.default.literal)


def test_range_phrases() -> None:
    """The four shapes of a two-sided range, and one-sided ones, in words."""
    assert range_phrase(between("1", "2"), "1 s", "1 d") == "from 1 s to 1 d"
    assert range_phrase(between("1", "2", lo_open=True), "0 mL", "5 mL") == "above 0 mL and at most 5 mL"
    assert range_phrase(between("1", "2", hi_open=True), "0 mL", "x") == "from 0 mL to below x"
    assert range_phrase(between("1", "2", lo_open=True, hi_open=True), "a", "b") == "above a and below b"
    assert range_phrase(above("0"), "0 mcg", None) == "> 0 mcg"
    assert range_phrase(Range(hi="1", hi_open=True), None, "1 d") == "< 1 d"


# ------------------------------------------------------------------ mechanisms, on an example schema

STALL_AT = Key("at", DURATION_MS, REQUIRED, "When the fault starts.", between("0 ms", Ref("duration")))
FAULTS = Table(
    "fault", "Faults, one table each.", array=True,
    variants=Variants("kind", {
        "stall": (STALL_AT, Key("recovery", DURATION_MS, Fixed("2 h"), "Time to recover.",
                                between("0 ms", "1 d"))),
        "leak": (STALL_AT, Key("rate", FLOW_PL_PER_DAY, REQUIRED, "Leak rate.", above("0 mL/day")),
                 Key("sealed", BOOLEAN, Fixed(False), "Sealed again at the next refill.")),
    }),
    members=(Key("kind", choice(("stall", "leak")), REQUIRED, "The fault."),),
)
PUMP = Table("pump", "The pump.", presence="implicit", members=(
    Key("profile", choice(("small", "large")), Unset("none"), "Device profile."),
    Key("reservoir", VOLUME_NL, Fixed("20 mL"), "Reservoir.", above("0 mL")),
    Key("fill", VOLUME_NL, SameAs("reservoir"), "Fill.", between("0 mL", Ref("reservoir", "the reservoir's {}"))),
    Key("alarm", VOLUME_NL, Fixed("2 mL"), "Alarm.", between("0 mL", Ref("reservoir"), hi_open=True),
        requires=Requires(("fill",), "a fill written next to it")),
    Key("tubing", VOLUME_NL, Unset("none"), "Tubing."),
    Key("segments", VOLUME_NL, Unset("none"), "Segments."),
), exclusive=(Exclusive(("tubing",), ("segments",), "either tubing or segments, not both"),))
EXAMPLE = Schema(
    Table("", "Example.", members=(Key("duration", DURATION_MS, REQUIRED, "Run."), PUMP, FAULTS)),
    profiles={
        "small": Profile("small", "A 10 mL pump.", {"pump.reservoir": "10 mL", "pump.alarm": "1 mL"}),
        "large": Profile("large", "A 40 mL pump.", {"pump.reservoir": "40 mL"}),
    },
    profile_key="pump.profile",
)


def _read(data: dict[str, Any]) -> Any:
    return read(EXAMPLE, {"duration": "10 d", **data})


def _fails(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as e:
        _read(data)
    return str(e.value)


def test_a_discriminated_array_reads_each_kind_with_its_own_keys() -> None:
    """[[fault]] kind = "stall" takes at and recovery; kind = "leak" takes at, rate and sealed."""
    top = _read({"fault": [{"kind": "stall", "at": "1 d"}, {"kind": "leak", "at": "2 d", "rate": "1 mL/day"}]})
    stall, leak = top.array("fault")
    assert stall.case == "stall" and stall.values == {"kind": "stall", "at": 86_400_000, "recovery": 7_200_000}
    assert leak.values == {"kind": "leak", "at": 172_800_000, "rate": 10**9, "sealed": False}


def test_a_key_that_does_not_belong_to_the_kind_is_named_with_its_table_and_kind() -> None:
    """rate in a stall: the error names the entry, the key, its kind and the kinds it belongs to."""
    msg = _fails({"fault": [{"kind": "leak", "at": "1 d", "rate": "1 mL/day"},
                            {"kind": "stall", "at": "1 d", "rate": "1 mL/day"}]})
    assert msg == ('[fault 2] rate = "1 mL/day": expected no such key for kind = "stall" (rate belongs to kind = '
                   '"leak"); known keys: kind, at, recovery')
    msg = _fails({"fault": [{"kind": "stall", "at": "1 d", "recovry": "1 h"}]})
    assert msg.startswith('[fault 1] recovry = "1 h": expected no such key for kind = "stall" (did you mean '
                          "recovery?)")
    assert _fails({"fault": [{"at": "1 d"}]}).startswith("[fault 1] kind = (missing): expected one of stall, leak")
    assert _fails({"fault": [{"kind": "melt"}]}).startswith('[fault 1] kind = "melt": expected one of stall, leak')
    assert _fails({"fault": {"kind": "stall"}}).startswith("fault = {...}: expected [[fault]] tables")
    assert _fails({"fault": [{"kind": "stall", "at": "11 d"}]}).startswith(
        '[fault 1] at = "11 d": expected a duration from 0 ms to duration (10 d)')


def test_a_profile_supplies_defaults_that_any_key_still_overrides() -> None:
    """profile = "small": reservoir 10 mL and alarm 1 mL from the profile, fill follows; a written key wins."""
    pump = _read({"pump": {"profile": "small"}}).sub("pump")
    assert (pump["reservoir"], pump["fill"], pump["alarm"]) == (10_000_000, 10_000_000, 1_000_000)
    pump = _read({"pump": {"profile": "small", "reservoir": "12 mL", "fill": "5 mL"}}).sub("pump")
    assert (pump["reservoir"], pump["fill"], pump["alarm"]) == (12_000_000, 5_000_000, 1_000_000)
    pump = _read({"pump": {}}).sub("pump")
    assert (pump["reservoir"], pump["alarm"]) == (20_000_000, 2_000_000)
    assert _fails({"pump": {"profile": "huge"}}).startswith('[pump] profile = "huge": expected one of small, large')
    # A profile default out of range for what the scenario wrote is named as such.
    msg = _fails({"pump": {"profile": "small", "reservoir": "0.5 mL", "fill": "0.5 mL"}})
    assert msg.startswith("[pump] alarm = (default 1 mL of profile small): expected a volume from 0 mL to below "
                          "reservoir (0.5 mL)"), msg


def test_requires_exclusive_and_ranges_between_keys() -> None:
    """alarm needs fill; tubing excludes segments; fill at most the reservoir (a default is shown as one)."""
    assert _fails({"pump": {"alarm": "1 mL"}}) == '[pump] alarm = "1 mL": expected a fill written next to it'
    assert _fails({"pump": {"tubing": "1 mL", "segments": "1 mL"}}) == (
        '[pump] tubing = "1 mL": expected either tubing or segments, not both')
    assert _fails({"pump": {"fill": "25 mL"}}) == (
        "[pump] fill = \"25 mL\": expected a volume from 0 mL to the reservoir's 20 mL")
    assert _fails({"pump": {"reservoir": "1 mL"}}) == (
        "[pump] alarm = (default 2 mL): expected a volume from 0 mL to below reservoir (1 mL)")
    assert _fails({"pump": {"reservoir": 20}}) == (
        "[pump] reservoir = 20: expected a volume such as '20 mL' (units mL, uL, nL) written as a string with its "
        "unit")
