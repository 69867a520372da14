"""Every integer the firmware computes fits int64 at the documented extremes ("portable to C").

The controller runs from a copy of ``firmware_model`` whose every arithmetic
result is checked (:func:`firmware_model.testing.int64.int64_checked`): stroke
volumes 1 nL..10 uL, rates up to 100 mL/day and down to 1 pL/day, reservoirs
up to 100 mL, concentrations 1 ng/mL..100 mg/mL, boot times up to 30 years,
patient boluses up to 1 g, 24 a day, drug-library limits up to their extremes,
and telemetry commands both valid and absurd (any int64 value must be refused,
not overflow). The checker itself is shown to catch an overflowing
intermediate whose final result fits.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, strategies as st

from firmware_model import (
    MAX_PTM_PER_DAY,
    MS_PER_DAY,
    MS_PER_H,
    MS_PER_MIN,
    NL_PER_ML,
    NO_LIMITS,
    PL_PER_ML,
    DrugLimits,
    Prescription,
    PrescriptionMode,
    PtmSettings,
    PumpConfig,
    check_ptm,
)
from firmware_model.config import (
    MAX_CONC_NG_PER_ML,
    MAX_DEAD_VOLUME_NL,
    MAX_RATE_PL_PER_DAY,
    MAX_RESERVOIR_NL,
    MAX_RUN_MS,
    MAX_STROKE_VOLUME_PL,
    MIN_STROKE_VOLUME_PL,
)
from firmware_model.ptm import MAX_PTM_BOLUS_NG
from firmware_model.testing.int64 import INT64_MAX, INT64_MIN, Int64Overflow, check_int64, int64_checked
from pumpsim.testing import concentrations, prescriptions

#: Every run lasts this long after boot.
RUN_MS = 4 * MS_PER_DAY


@pytest.fixture(scope="module")
def fm() -> Iterator[ModuleType]:
    """firmware_model with its arithmetic checked (its testing tools come along, unchecked)."""
    with int64_checked() as module:
        yield module


def _edge(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in [lo, hi], often exactly at either end."""
    return st.one_of(st.sampled_from([lo, hi]), st.integers(lo, hi))


@st.composite
def extreme_configs(draw: st.DrawFn) -> PumpConfig:
    capacity = draw(_edge(NL_PER_ML, MAX_RESERVOIR_NL), label="capacity")
    low = draw(_edge(0, capacity), label="low threshold")
    min_rate = draw(_edge(1, PL_PER_ML), label="min rate")
    return PumpConfig(
        stroke_volume_pl=draw(_edge(MIN_STROKE_VOLUME_PL, MAX_STROKE_VOLUME_PL), label="stroke"),
        reservoir_capacity_nl=capacity,
        low_reservoir_nl=low,
        empty_floor_nl=draw(_edge(0, low), label="floor"),
        min_rate_pl_per_day=min_rate,
        max_rate_pl_per_day=draw(_edge(max(min_rate, PL_PER_ML // 10), MAX_RATE_PL_PER_DAY), label="max rate"),
        dead_volume_nl=draw(_edge(0, MAX_DEAD_VOLUME_NL), label="dead volume"),
        # Tones and sleep at least every few minutes keep a run to a few thousand wake-ups.
        non_critical_tone_interval_ms=draw(_edge(10 * MS_PER_MIN, MS_PER_DAY)),
        critical_tone_interval_ms=draw(_edge(10 * MS_PER_MIN, MS_PER_DAY)),
        max_sleep_ms=draw(_edge(MS_PER_H, MS_PER_DAY)),
        log_capacity=64,
    )


def _rx(conc: int, cfg: PumpConfig) -> st.SearchStrategy[Prescription]:
    return prescriptions(conc, cfg, min_bolus_interval_ms=30 * MS_PER_MIN)


#: A prescription no pump can deliver, with every dose near the top of int64.
ABSURD_RX = Prescription(PrescriptionMode.PERIODIC_BOLUS, dose_ng_per_day=INT64_MAX // 2, bolus_ng=INT64_MAX // 2,
                         bolus_duration_ms=1, bolus_interval_ms=7 * MS_PER_DAY)


@st.composite
def extreme_runs(draw: st.DrawFn) -> dict[str, Any]:
    """A configuration, a start state at boot time up to 30 years, and timed telemetry commands."""
    cfg = draw(extreme_configs())
    conc = draw(st.one_of(st.just(MAX_CONC_NG_PER_ML), concentrations(1, MAX_CONC_NG_PER_ML)), label="conc")
    t0 = draw(_edge(0, MAX_RUN_MS - RUN_MS), label="boot time")
    cmds: list[tuple[int, str, tuple[Any, ...]]] = []
    for _ in range(draw(st.integers(0, 4), label="commands")):
        at = t0 + draw(st.integers(0, RUN_MS), label="at")
        what = draw(st.sampled_from(["refill", "reprogram", "priming", "threshold", "absurd", "press"]),
                    label="command")
        if what == "refill":
            new_conc = draw(st.one_of(st.just(conc), concentrations(1, MAX_CONC_NG_PER_ML)), label="new conc")
            rx = draw(st.one_of(st.none(), _rx(new_conc, cfg)), label="refill rx")
            args: tuple[Any, ...] = (draw(_edge(1, cfg.reservoir_capacity_nl)), new_conc, draw(st.booleans()), rx,
                                     draw(st.booleans()))
        elif what == "reprogram":
            args = (draw(_rx(conc, cfg)), draw(st.booleans()))
        elif what == "threshold":
            args = (draw(_edge(cfg.empty_floor_nl, cfg.reservoir_capacity_nl)),)
        elif what == "absurd":
            args = (draw(st.sampled_from([INT64_MIN, -1, 0, INT64_MAX])),)
        else:
            args = ()
        cmds.append((at, what, args))
    rx = draw(_rx(conc, cfg), label="rx")
    ptm = draw(st.one_of(st.none(), extreme_ptm()), label="ptm")
    if ptm is not None and check_ptm(ptm, rx, conc, cfg) is not None:
        ptm = None  # not deliverable on this prescription: the constructor would refuse it
    return {
        "cfg": cfg,
        "rx": rx,
        "conc": conc,
        "fill": draw(_edge(0, cfg.reservoir_capacity_nl), label="fill"),
        "t0": t0,
        "cmds": sorted(cmds, key=lambda c: c[0]),
        "ptm": ptm,
        "limits": draw(st.one_of(st.just(NO_LIMITS), extreme_limits()), label="limits"),
    }


@st.composite
def extreme_ptm(draw: st.DrawFn) -> PtmSettings:
    """Patient bolus settings at their extremes: 1 ng .. 1 g, 1 min .. 1 day, up to 24 a day."""
    duration = draw(_edge(MS_PER_MIN, MS_PER_DAY))
    return PtmSettings(draw(_edge(1, MAX_PTM_BOLUS_NG)), duration, draw(_edge(duration, MS_PER_DAY)),
                       draw(_edge(1, MAX_PTM_PER_DAY)))


@st.composite
def extreme_limits(draw: st.DrawFn) -> DrugLimits:
    """Library entries from none to the extremes (hard limits at or above the soft ones)."""
    def pair(hi: int) -> tuple[int, int]:
        soft = draw(_edge(0, hi))
        return soft, draw(st.one_of(st.just(0), _edge(soft, hi)))

    conc, daily, bolus, step = pair(MAX_CONC_NG_PER_ML), pair(INT64_MAX // 4), pair(MAX_PTM_BOLUS_NG), pair(10**12)
    return DrugLimits(*conc, *daily, *bolus, *step, draw(_edge(0, 30 * MS_PER_DAY)))


def _convert(fm: ModuleType, obj: Any) -> Any:
    """The same record built from the checked copy's classes (so its methods are checked too)."""
    if obj is None or isinstance(obj, int):
        return obj
    if isinstance(obj, tuple):
        return tuple(_convert(fm, x) for x in obj)
    cls = getattr(fm, type(obj).__name__)
    return cls(*(_convert(fm, getattr(obj, name)) for name in type(obj).__match_args__))


def _command(fm: ModuleType, what: str, args: tuple[Any, ...]) -> object:
    if what == "refill":
        volume, conc, bridge, rx, confirm = args
        return fm.Refill(volume, conc, bridge=bridge, rx=_convert(fm, rx), confirm=confirm)
    if what == "reprogram":
        return fm.Reprogram(_convert(fm, args[0]), confirm=args[1])
    if what == "press":
        return fm.PatientBolus()
    if what == "threshold":
        return fm.SetLowReservoirThreshold(args[0])
    if what == "absurd":  # refused, whatever the value
        v = args[0]
        return [fm.Refill(v, v), fm.Refill(1, v), fm.SetLowReservoirThreshold(v), fm.Reprogram(_convert(fm, ABSURD_RX))]
    return fm.PrimingBolus()


#: The longest prediction: 100 mL at 1 pL/day (the minimum rate of a STOPPED
#: prescription) with 1 nL strokes, from a boot at 30 years: the walk skips
#: ~10^11 days of periods and predicts a time near 8.64e18 ms.
SLOWEST = {
    "cfg": PumpConfig(stroke_volume_pl=MIN_STROKE_VOLUME_PL, reservoir_capacity_nl=MAX_RESERVOIR_NL,
                      low_reservoir_nl=0, min_rate_pl_per_day=1, max_rate_pl_per_day=MAX_RATE_PL_PER_DAY),
    "rx": Prescription(PrescriptionMode.STOPPED),
    "conc": MAX_CONC_NG_PER_ML,
    "fill": MAX_RESERVOIR_NL,
    "t0": MAX_RUN_MS - RUN_MS,
    "cmds": [],
    "ptm": None,
    "limits": NO_LIMITS,
}

#: The fastest: 100 mL/day of 100 mg/mL from a full 100 mL reservoir with 10 uL
#: strokes and the longest sleep: a day's stroke-timer credit is 8.64e18.
FASTEST = {
    "cfg": PumpConfig(stroke_volume_pl=MAX_STROKE_VOLUME_PL, reservoir_capacity_nl=MAX_RESERVOIR_NL,
                      low_reservoir_nl=0, max_rate_pl_per_day=MAX_RATE_PL_PER_DAY),
    "rx": Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=MAX_RATE_PL_PER_DAY // 10**9 * MAX_CONC_NG_PER_ML),
    "conc": MAX_CONC_NG_PER_ML,
    "fill": MAX_RESERVOIR_NL,
    "t0": MAX_RUN_MS - RUN_MS,
    "cmds": [(MAX_RUN_MS - RUN_MS + MS_PER_DAY // 2, "refill", (MAX_RESERVOIR_NL, MAX_CONC_NG_PER_ML // 2, True,
              Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=5 * 10**9), True))],
    "ptm": None,
    "limits": DrugLimits(1, 1, 1, 1, 1, 1, 1, 1, MS_PER_DAY),
}

#: The largest patient bolus on a pump at half its maximum rate, pressed as often as it may be, with the
#: library's largest limits.
BIGGEST_BOLUS = {
    "cfg": PumpConfig(stroke_volume_pl=MAX_STROKE_VOLUME_PL, reservoir_capacity_nl=MAX_RESERVOIR_NL,
                      low_reservoir_nl=0, max_rate_pl_per_day=MAX_RATE_PL_PER_DAY),
    "rx": Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=MAX_RATE_PL_PER_DAY // 2 // 10**9
                       * MAX_CONC_NG_PER_ML),
    "conc": MAX_CONC_NG_PER_ML,
    "fill": MAX_RESERVOIR_NL,
    "t0": MAX_RUN_MS - RUN_MS,
    "cmds": [(MAX_RUN_MS - RUN_MS + i * MS_PER_H, "press", ()) for i in range(30)],
    "ptm": PtmSettings(MAX_PTM_BOLUS_NG, MS_PER_DAY, MS_PER_DAY, MAX_PTM_PER_DAY),
    "limits": DrugLimits(MAX_CONC_NG_PER_ML, MAX_CONC_NG_PER_ML, INT64_MAX // 4, INT64_MAX // 4, MAX_PTM_BOLUS_NG,
                         MAX_PTM_BOLUS_NG, 10**12, 10**12, 30 * MS_PER_DAY),
}


@example(run=SLOWEST)
@example(run=FASTEST)
@example(run=BIGGEST_BOLUS)
@given(run=extreme_runs())
def test_firmware_integers_fit_int64_at_the_extremes(fm: ModuleType, run: dict[str, Any]) -> None:
    """Boot, commands and days of wake-ups at the documented extremes never form an integer outside int64."""
    from firmware_model.testing import FakeHal, run_until, wake_now  # the checked copy's (see the fixture)

    cfg = _convert(fm, run["cfg"])
    hal = FakeHal()
    hal.set_time(run["t0"])
    try:
        ctl = fm.PumpController(hal, cfg, _convert(fm, run["rx"]), run["conc"], run["fill"],
                                limits=_convert(fm, run["limits"]), ptm=_convert(fm, run["ptm"]), confirm=True)
    except fm.RejectedError:  # a hard limit below the implant's prescription: run without the library
        ctl = fm.PumpController(hal, cfg, _convert(fm, run["rx"]), run["conc"], run["fill"],
                                ptm=_convert(fm, run["ptm"]))
    run_until(ctl, hal, run["t0"])
    for at, what, args in run["cmds"]:
        run_until(ctl, hal, at, booted=True)
        cmds = _command(fm, what, args)
        for cmd in cmds if isinstance(cmds, list) else [cmds]:
            hal.inbox.send(cmd)
        wake_now(ctl, hal, at)
        ctl.status()
    run_until(ctl, hal, run["t0"] + RUN_MS, booted=True)
    ctl.status()
    assert ctl.log.next_seq > 0


# ------------------------------------------------------- the checker can fail


def test_check_int64_refuses_values_outside_int64() -> None:
    """The bounds are exactly [-2**63, 2**63 - 1]; tuples are looked into; other types pass."""
    for ok in (INT64_MIN, INT64_MAX, 0, (1, INT64_MAX), True, 1.0e30, "x"):
        assert check_int64(ok, "here") == ok
    for bad in (INT64_MAX + 1, INT64_MIN - 1, (0, 2**64)):
        with pytest.raises(Int64Overflow, match="here"):
            check_int64(bad, "here")


OVERFLOWING = '''
def scaled(a, b, c):
    return a * b // c  # the product may overflow although the result fits


def accumulate(x, y):
    x += y
    return 0


def negate(x):
    return -x


def huge_constant():
    return (1 << 126) - (1 << 126)  # the old prediction's trick: the result fits, the operands do not
'''


def test_instrumented_code_catches_overflowing_intermediates(tmp_path: Path) -> None:
    """A product past 2**63 inside one expression fails even though the expression's value fits."""
    pkg = tmp_path / "int64_demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(OVERFLOWING)
    sys.path.insert(0, str(tmp_path))
    try:
        with int64_checked("int64_demo", exclude=()) as demo:
            assert demo.scaled(2**40, 2**20, 2**20) == 2**40
            with pytest.raises(Int64Overflow, match=r"int64_demo:3"):
                demo.scaled(2**62, 4, 4)  # 2**64 // 4 = 2**62 fits; 2**64 does not
            assert demo.accumulate(INT64_MAX - 1, 1) == 0
            with pytest.raises(Int64Overflow, match=r"int64_demo:7"):
                demo.accumulate(INT64_MAX, 1)
            with pytest.raises(Int64Overflow):
                demo.negate(INT64_MIN)
            with pytest.raises(Int64Overflow):
                demo.huge_constant()
        assert "int64_demo" not in sys.modules
    finally:
        sys.path.remove(str(tmp_path))
