"""Scenario loading: strict keys, clear messages naming key, value and expectation."""

from __future__ import annotations

import pytest

import pumpsim
from firmware_model import PrescriptionMode
from pumpsim.scenario import ScenarioError, builtin_names, load_scenario

BASE = """
name = "t"
duration = "10 d"
[pump]
reservoir = "20 mL"
fill = "20 mL"
[catheter]
volume = "0.234 mL"
[drug]
concentration = "500 mcg/mL"
[prescription]
mode = "continuous"
dose = "250 mcg/day"
"""


def _err(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as e:
        load_scenario(text)
    return e.value


@pytest.mark.parametrize("name", builtin_names())
def test_builtins_load(name: str) -> None:
    """Every built-in scenario loads."""
    assert load_scenario(name).name == name


def test_issue_example_keys_work_exactly_as_written() -> None:
    """The key set from the issue, including catheter length x volume_per_cm and a visit with every option."""
    sc = load_scenario("""
name = "x"
duration = "365 d"
seed = 7
[pump]
reservoir = "20 mL"
fill = "20 mL"
low_reservoir_alarm = "2 mL"
stroke_volume = "0.25 uL"
calibration_error = "0 %"
stroke_cv = "0 %"
[catheter]
length = "90 cm"
volume_per_cm = "0.0026 mL/cm"
[drug]
name = "baclofen"
concentration = "500 mcg/mL"
[prescription]
mode = "continuous"
dose = "250 mcg/day"
[[visit]]
at = "30 d"
refill = "18 mL"
concentration = "1000 mcg/mL"
dose = "300 mcg/day"
bridge_bolus = true
""")
    assert sc.catheter.volume_nl == 234_000
    assert sc.pump.stroke_volume_pl == 250_000
    (v,) = sc.visits
    assert v.refill_nl == 18_000_000 and v.conc_ng_per_ml == 1_000_000 and v.bridge_bolus
    assert v.prescription is not None and v.prescription.dose_ng_per_day == 300_000


def test_rate_is_converted_to_dose_at_the_concentration_in_effect() -> None:
    """rate = 0.5 mL/day at 500 mcg/mL is a 250 mcg/day prescription; a visit rate uses the new concentration."""
    sc = load_scenario(BASE.replace('dose = "250 mcg/day"', 'rate = "0.5 mL/day"') + """
[[visit]]
at = "5 d"
refill = "10 mL"
concentration = "1000 mcg/mL"
rate = "0.5 mL/day"
""")
    assert sc.prescription.dose_ng_per_day == 250_000
    assert sc.visits[0].prescription is not None
    assert sc.visits[0].prescription.dose_ng_per_day == 500_000


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"),
    [
        ('fill = "20 mL"', 'fill = "500 mg/day"', "[pump] fill", "a volume"),
        ('fill = "20 mL"', 'fill = "25 mL"', "[pump] fill", "reservoir's 20 mL"),
        ('fill = "20 mL"', 'fill = "-1 mL"', "[pump] fill", "from 0 mL"),
        ('fill = "20 mL"', 'fill = 20', "[pump] fill", "string with its unit"),
        ('fill = "20 mL"', 'fill = "20 mL"\nfil = "1 mL"', "[pump] fil", "no such key"),
        ('dose = "250 mcg/day"', 'dose = "250 mcg"', "[prescription] dose", "a dose rate"),
        ('dose = "250 mcg/day"', 'dose = "100 mg/day"', "[prescription] dose", "maximum rate"),
        ('dose = "250 mcg/day"', 'dose = "1 mcg/day"', "[prescription] dose", "minimum rate"),
        ('mode = "continuous"', 'mode = "turbo"', "[prescription] mode", "one of continuous"),
        ('concentration = "500 mcg/mL"', 'concentration = "0 mcg/mL"', "[drug] concentration", "above 0"),
        ('duration = "10 d"', 'duration = "10 parsecs"', "duration", "a duration"),
        ('duration = "10 d"', 'duration = "100 y"', "duration", "a duration"),
        ('volume = "0.234 mL"', 'volume = "0.234 mL"\nlength = "90 cm"', "[catheter] volume", "not both"),
        ('name = "t"', 'name = "t"\nspeed = 3', "speed", "no such key"),
    ],
)
def test_bad_values_name_key_value_and_expectation(old: str, new: str, key: str, fragment: str) -> None:
    """Each bad input gives one message with the key, the value and what was expected."""
    assert old in BASE
    e = _err(BASE.replace(old, new, 1))
    msg = str(e)
    assert msg.startswith(key + " = "), msg
    assert fragment in msg, msg


def test_visit_errors_name_the_visit() -> None:
    """Errors inside [[visit]] tables say which visit."""
    e = _err(BASE + '[[visit]]\nat = "1 d"\nrefill = "1 mL"\n[[visit]]\nat = "2 d"\nrefill = "30 mL"\n')
    assert str(e).startswith('[visit 2] refill = "30 mL": expected')
    e = _err(BASE + '[[visit]]\nat = "20 d"\n')
    assert "[visit 1] at" in str(e) and "to the scenario's duration (10 d)" in str(e)
    e = _err(BASE + '[[visit]]\nat = "2 d"\nconcentration = "1 mg/mL"\n')
    assert "[visit 1] concentration" in str(e) and "refill" in str(e)
    e = _err(BASE + '[[visit]]\nat = "2 d"\nbridge_bolus = "yes"\n')
    assert "[visit 1] bridge_bolus" in str(e) and "true or false" in str(e)


def test_flex_step_errors() -> None:
    """Flex steps must start at 00:00, increase, and be deliverable."""
    flex = BASE.replace('mode = "continuous"\ndose = "250 mcg/day"', 'mode = "flex"\n')
    step = '[[prescription.step]]\nstart = "{}"\ndose = "{}"\n'
    e = _err(flex + step.format("01:00", "300 mcg/day"))
    assert "[prescription.step 1] start" in str(e)
    e = _err(flex + step.format("00:00", "300 mcg/day") + step.format("00:00", "300 mcg/day"))
    assert "[prescription.step 2] start" in str(e)
    e = _err(flex + step.format("00:00", "300 mcg/day") + step.format("12:00", "90 mg/day"))
    assert str(e).startswith('[prescription.step 2] dose = "90 mg/day"') and "maximum rate" in str(e)
    sc = load_scenario(flex + step.format("00:00", "300 mcg/day") + step.format("12:00", "600 mcg/day"))
    assert sc.prescription.mode is PrescriptionMode.FLEX
    assert sc.prescription.daily_dose_ng() == 450_000


def test_invalid_toml_and_unknown_builtin() -> None:
    """Broken TOML and unknown names are ScenarioErrors too."""
    assert "valid TOML" in str(_err("name = \n[pump"))
    with pytest.raises(ScenarioError, match="built-in"):
        load_scenario("no-such-scenario")


def test_refill_plan_generates_visits() -> None:
    """[refill_plan] every 3 d over 10 d gives visits at 3, 6 and 9 d."""
    sc = load_scenario(BASE + '[refill_plan]\nevery = "3 d"\nrefill = "2 mL"\n')
    assert [v.at_ms // 86_400_000 for v in sc.visits] == [3, 6, 9]
    assert pumpsim.simulate(sc).summary["visits"] == 3


def test_concentration_change_that_makes_the_kept_dose_undeliverable_is_refused() -> None:
    """250 mcg/day at 10 mg/mL needs 0.025 mL/day, below the minimum rate: the visit is refused up front."""
    e = _err(BASE + '[[visit]]\nat = "2 d"\nrefill = "10 mL"\nconcentration = "10000 mcg/mL"\n')
    assert str(e).startswith('[visit 1] concentration = "10000 mcg/mL"') and "minimum rate" in str(e)
    ok = load_scenario(BASE + '[[visit]]\nat = "2 d"\nrefill = "10 mL"\nconcentration = "10000 mcg/mL"\n'
                              'dose = "1000 mcg/day"\n')
    assert ok.visits[0].prescription is not None


def test_small_reservoir_gets_a_valid_default_alarm_and_long_catheters_name_length() -> None:
    """A 2 mL reservoir defaults to a 0.2 mL alarm; a 3 m catheter is reported against its length."""
    sc = load_scenario(BASE.replace('reservoir = "20 mL"\nfill = "20 mL"', 'reservoir = "2 mL"\nfill = "2 mL"')
                       .replace('dose = "250 mcg/day"', 'dose = "25 mcg/day"'))
    assert sc.pump.low_reservoir_alarm_nl == 200_000
    e = _err(BASE.replace('volume = "0.234 mL"', 'length = "190 cm"\nvolume_per_cm = "0.05 mL/cm"'))
    assert str(e).startswith('[catheter] length = "190 cm"')
    e = _err(BASE + '[[visit]]\nat = "2 d"\nrefill = "1 mL"\naspirate = "no"\n')
    assert 'aspirate = "no"' in str(e)
    e = _err(BASE + '[[visit]]\nat = "2 d"\nbridge_bolus = true\n')
    assert "bridge_bolus = true:" in str(e)


def test_with_duration_cuts_or_extends_the_refill_plan() -> None:
    """A longer run keeps the refill plan going; a shorter one is cut off."""
    from pumpsim.scenario import with_duration

    sc = load_scenario(BASE + '[refill_plan]\nevery = "3 d"\nrefill = "2 mL"\n')
    longer = with_duration(sc, 20 * 86_400_000)
    assert [v.at_ms // 86_400_000 for v in longer.visits] == [3, 6, 9, 12, 15, 18]
    assert longer.duration_ms == 20 * 86_400_000 and longer.seed == sc.seed
    shorter = with_duration(sc, 4 * 86_400_000)
    assert shorter.duration_ms == 4 * 86_400_000 and len(shorter.visits) == 3
    assert pumpsim.simulate(shorter).summary["visits"] == 1
    with pytest.raises(ScenarioError):
        with_duration(sc, 0)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('duration = "10 d"', 'duration = "1e999999999 d"', "duration"),
        ('duration = "10 d"', 'duration = "1e999990 d"', "duration"),
        ('concentration = "500 mcg/mL"', 'concentration = "1e-400 mg/mL"', "[drug] concentration"),
        ('duration = "10 d"', 'duration = "١٠ d"', "duration"),
        ('duration = "10 d"', 'duration = "１０ d"', "duration"),
        ('name = "t"', 'name = "a\\u0000b"', "name"),
        ('fill = "20 mL"', 'fill = "20 mL"\nmin_rate = "30 mL/day"', "[pump] min_rate"),
        ('concentration = "500 mcg/mL"\n', 'concentration = "10 ng/mL"\n', "[prescription] rate"),
    ],
)
def test_hostile_numbers_and_names_are_clean_errors(old: str, new: str, key: str) -> None:
    """Huge exponents, non-ASCII digits, control characters and lossy rates are ScenarioErrors, fast."""
    text = BASE.replace(old, new, 1)
    if key == "[prescription] rate":
        text = text.replace('dose = "250 mcg/day"', 'rate = "0.05 mL/day"')
    e = _err(text)
    assert str(e).startswith(key + " = "), str(e)


def test_a_file_whose_name_contains_equals_is_a_file(tmp_path: object) -> None:
    """`x=1.toml` on disk is read as a file, not as TOML text."""
    from pathlib import Path

    p = Path(str(tmp_path)) / "x=1.toml"
    p.write_text(BASE)
    assert load_scenario(str(p)).name == "t"


# ------------------------------------------------------------------ unknown keys first, with a suggestion

FULL = BASE.replace('mode = "continuous"\ndose = "250 mcg/day"', 'mode = "flex"\n') + """
[[prescription.step]]
start = "00:00"
dose = "250 mcg/day"
[[visit]]
at = "2 d"
refill = "10 mL"
[visit.prescription]
mode = "flex"
[[visit.prescription.step]]
start = "00:00"
dose = "300 mcg/day"
[refill_plan]
every = "3 d"
refill = "2 mL"
"""


@pytest.mark.parametrize(
    ("old", "new", "key", "suggestion"),
    [
        ('duration = "10 d"', 'durration = "10 d"', "durration", "duration"),
        ('fill = "20 mL"', 'fil = "20 mL"', "[pump] fil", "fill"),
        ('volume = "0.234 mL"', 'volum = "0.234 mL"', "[catheter] volum", "volume"),
        ('concentration = "500 mcg/mL"', 'concentation = "500 mcg/mL"', "[drug] concentation", "concentration"),
        ('mode = "flex"\n\n', 'mdoe = "flex"\n\n', "[prescription] mdoe", "mode"),
        ('start = "00:00"\ndose = "250', 'strat = "00:00"\ndose = "250', "[prescription.step 1] strat", "start"),
        ('refill = "10 mL"', 'reffil = "10 mL"', "[visit 1] reffil", "refill"),
        ('[visit.prescription]\nmode', '[visit.prescription]\nmoed', "[visit 1.prescription] moed", "mode"),
        ('dose = "300 mcg/day"', 'does = "300 mcg/day"', "[visit 1.prescription.step 1] does", "dose"),
        ('every = "3 d"', 'evry = "3 d"', "[refill_plan] evry", "every"),
        ("[refill_plan]", "[refil_plan]", "refil_plan", "[refill_plan]"),
    ],
)
def test_a_misspelt_key_is_named_first_with_the_nearest_known_key(old: str, new: str, key: str,
                                                                  suggestion: str) -> None:
    """In every table, nested and array ones too, the unknown key is reported (not the required one it hides)."""
    assert load_scenario(FULL).prescription.mode is PrescriptionMode.FLEX
    assert old in FULL
    msg = str(_err(FULL.replace(old, new, 1)))
    assert msg.startswith(key + " = "), msg
    assert "expected no such key " in msg and f" (did you mean {suggestion}?); known keys: " in msg, msg


def test_an_unknown_key_is_reported_before_any_other_error() -> None:
    """A bad value in [pump] and a misspelt key in a later [[visit]]: the misspelt key comes first."""
    text = BASE.replace('fill = "20 mL"', 'fill = "25 mL"') + '[[visit]]\nat = "1 d"\nrefil = "1 mL"\n'
    assert str(_err(text)).startswith('[visit 1] refil = "1 mL": expected no such key here (did you mean refill?)')
    e = _err(BASE + 'colour = "red"\n')  # nothing close: no suggestion
    assert "did you mean" not in str(e) and str(e).startswith('[prescription] colour = "red": expected no such key')


def test_a_key_of_another_mode_names_the_modes_it_belongs_to() -> None:
    """bolus in a continuous prescription: 'bolus belongs to mode = "periodic_bolus", "single_bolus"'."""
    e = _err(BASE.replace('dose = "250 mcg/day"', 'dose = "250 mcg/day"\nbolus = "1 mg"'))
    assert str(e).startswith('[prescription] bolus = "1 mg": expected no such key for mode = "continuous" '
                             '(bolus belongs to mode = "periodic_bolus", "single_bolus"); known keys: mode, '
                             "priming_bolus, confirm, dose, rate"), str(e)


def test_defaults_that_follow_other_keys_are_checked_and_shown_as_defaults() -> None:
    """first defaults to every: every = 30 d in a 10-day run puts the default first out of range."""
    e = _err(BASE + '[refill_plan]\nevery = "30 d"\nrefill = "2 mL"\n')
    assert str(e).startswith("[refill_plan] first = (default 30 d): expected a duration from 0 ms to the "
                             "scenario's duration (10 d)"), str(e)
    e = _err(BASE.replace('fill = "20 mL"', 'fill = "20 mL"\nmax_rate = "0.01 mL/day"'))
    assert str(e).startswith('[pump] max_rate = "0.01 mL/day": expected a flow rate from min_rate '
                             "(0.048 mL/day) to 100 mL/day"), str(e)  # the key written is blamed


def test_file_errors_carry_the_file_name(tmp_path: object) -> None:
    """load_scenario sets ScenarioError.origin to the file (the command line prints it first)."""
    from pathlib import Path

    f = Path(str(tmp_path)) / "s.toml"
    f.write_text(BASE.replace('fill = "20 mL"', 'fill = "25 mL"'))
    with pytest.raises(ScenarioError) as e:
        load_scenario(str(f))
    assert e.value.origin == str(f) and e.value.key == "[pump] fill"
    with pytest.raises(ScenarioError) as e:
        load_scenario(BASE.replace('fill = "20 mL"', 'fill = "25 mL"'))
    assert e.value.origin is None


def test_read_scenario_text_refuses_what_is_not_a_small_regular_text_file(tmp_path: object) -> None:
    """A directory, a file of 1 MB + 1 byte and non-UTF-8 bytes are ScenarioErrors; a missing file is not."""
    from pathlib import Path

    from pumpsim.scenario.loader import MAX_SCENARIO_BYTES, read_scenario_text

    d = Path(str(tmp_path))
    big = d / "big.toml"
    big.write_bytes(b"#" * (MAX_SCENARIO_BYTES + 1))
    bad = d / "bad.toml"
    bad.write_bytes(b"\xfe\xff")
    for path, fragment in ((d, "not a directory"), (big, "at most 1,000,000 bytes"), (bad, "UTF-8")):
        with pytest.raises(ScenarioError, match=fragment):
            read_scenario_text(path)
    with pytest.raises(FileNotFoundError):
        read_scenario_text(d / "missing.toml")
    ok = d / "ok.toml"
    ok.write_text(BASE)
    assert read_scenario_text(ok) == BASE
