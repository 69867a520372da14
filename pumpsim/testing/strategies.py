"""Hypothesis strategies for pumps, prescriptions and scenarios.

Every value these strategies produce is *valid*: a :class:`~firmware_model.PumpConfig`
passes its own checks, a :class:`~firmware_model.Prescription` is deliverable
(:func:`firmware_model.check_prescription` accepts it at the given
concentration), and a :class:`~pumpsim.scenario.Scenario` satisfies the range
and consistency rules the TOML loader enforces, so a failure found with them is
a failure of the code under test, not of the input. (Times are drawn to the
millisecond, finer than a TOML file can write a flex step's start, to reach
edge cases.)

Scenarios are kept short (a few simulated days, a bounded number of motor
strokes), so even an exact-mode simulation of one example takes milliseconds::

    from hypothesis import given
    from pumpsim import simulate
    from pumpsim.testing import check_conservation, scenarios

    @given(scenarios(max_days=2))
    def test_balance(sc):
        check_conservation(simulate(sc))
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import assume, strategies as st

from firmware_model import (
    MAX_FLEX_STEPS,
    MODE_NAMES,
    MS_PER_DAY,
    MS_PER_H,
    MS_PER_MIN,
    MS_PER_S,
    NL_PER_ML,
    PL_PER_ML,
    FlexStep,
    Prescription,
    PrescriptionMode,
    PumpConfig,
    check_prescription,
    rate_pl_per_day_from_dose,
)
from firmware_model._units import volume_pl_from_mass
from pumpsim.scenario.model import CatheterSpec, DrugSpec, PumpSpec, Scenario, Visit

__all__ = [
    "ALL_MODES",
    "concentrations",
    "dose_range",
    "prescriptions",
    "pump_configs",
    "scenarios",
]

#: Every prescription mode, in the order :func:`prescriptions` tries them.
ALL_MODES: tuple[int, ...] = tuple(MODE_NAMES)

#: Concentrations seen in practice (ng/mL): baclofen 50/500/2000 mcg/mL,
#: morphine 10/20 mg/mL, ziconotide 25/100 mcg/mL, and the loader's limits.
_TYPICAL_CONC = (1_000, 25_000, 50_000, 100_000, 500_000, 2_000_000, 10_000_000, 20_000_000, 100_000_000)


def concentrations(min_ng_per_ml: int = 1_000, max_ng_per_ml: int = 100_000_000) -> st.SearchStrategy[int]:
    """Drug concentrations in ng/mL (default 1 mcg/mL to 100 mg/mL, the loader's upper limit)."""
    typical = [c for c in _TYPICAL_CONC if min_ng_per_ml <= c <= max_ng_per_ml]
    anything = st.integers(min_ng_per_ml, max_ng_per_ml)
    return st.one_of(st.sampled_from(typical), anything) if typical else anything


def dose_range(conc_ng_per_ml: int, lo_rate_pl_per_day: int, hi_rate_pl_per_day: int) -> tuple[int, int] | None:
    """The (smallest, largest) dose in ng/day whose rate lies in [lo, hi] pL/day, or None.

    Uses the firmware's own rounding (:func:`firmware_model.rate_pl_per_day_from_dose`),
    which is monotone in the dose, so every dose in the range is deliverable.
    """
    if lo_rate_pl_per_day > hi_rate_pl_per_day:
        return None

    def rate(d: int) -> int:
        return rate_pl_per_day_from_dose(d, conc_ng_per_ml)

    d_lo = max(1, lo_rate_pl_per_day * conc_ng_per_ml // PL_PER_ML - 1)
    while rate(d_lo) < lo_rate_pl_per_day:
        d_lo += 1
    while d_lo > 1 and rate(d_lo - 1) >= lo_rate_pl_per_day:
        d_lo -= 1
    d_hi = hi_rate_pl_per_day * conc_ng_per_ml // PL_PER_ML + 1
    while d_hi >= 1 and rate(d_hi) > hi_rate_pl_per_day:
        d_hi -= 1
    return (d_lo, d_hi) if 1 <= d_lo <= d_hi else None


def _bolus_rate(bolus_ng: int, duration_ms: int, conc_ng_per_ml: int) -> int:
    """Extra rate (pL/day) of a bolus, with the firmware's rounding (prescription._bolus_rate)."""
    vol_pl = volume_pl_from_mass(bolus_ng, conc_ng_per_ml)
    return (vol_pl * MS_PER_DAY + duration_ms // 2) // duration_ms


def _max_bolus_ng(headroom_pl_per_day: int, duration_ms: int, conc_ng_per_ml: int) -> int:
    """Largest bolus (ng) whose rate over *duration_ms* fits in *headroom* (0 if none does)."""
    if headroom_pl_per_day <= 0:
        return 0
    ng = headroom_pl_per_day * duration_ms // MS_PER_DAY * conc_ng_per_ml // PL_PER_ML + 1
    while ng > 0 and _bolus_rate(ng, duration_ms, conc_ng_per_ml) > headroom_pl_per_day:
        # Shrink geometrically first, then step: the estimate above is within a few ng.
        over = _bolus_rate(ng, duration_ms, conc_ng_per_ml) - headroom_pl_per_day
        ng -= max(1, over * duration_ms // MS_PER_DAY * conc_ng_per_ml // PL_PER_ML // 2)
    return max(ng, 0)


def _min_bolus_ng(min_rate_pl_per_day: int, duration_ms: int, conc_ng_per_ml: int, max_ng: int) -> int:
    """Smallest bolus (ng, at most *max_ng*) whose rate over *duration_ms* reaches *min_rate* (max_ng + 1 if none)."""
    lo, hi = 1, max_ng + 1
    while lo < hi:  # the bolus rate grows with the dose: bisect
        mid = (lo + hi) // 2
        if _bolus_rate(mid, duration_ms, conc_ng_per_ml) >= min_rate_pl_per_day:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _min_duration_ms(bolus_ng: int, headroom_pl_per_day: int, conc_ng_per_ml: int) -> int:
    """Shortest duration (ms) over which *bolus_ng* fits in *headroom* (headroom > 0)."""
    vol_pl = volume_pl_from_mass(bolus_ng, conc_ng_per_ml)
    dur = max(1, vol_pl * MS_PER_DAY // headroom_pl_per_day)
    while _bolus_rate(bolus_ng, dur, conc_ng_per_ml) > headroom_pl_per_day:
        dur += max(1, dur // 1000)
    return dur


@st.composite
def _continuous(draw: st.DrawFn, conc: int, doses: tuple[int, int]) -> Prescription:
    return Prescription(PrescriptionMode.CONTINUOUS, dose_ng_per_day=draw(st.integers(*doses)))


@st.composite
def _flex(draw: st.DrawFn, conc: int, doses: tuple[int, int], max_steps: int) -> Prescription:
    n = draw(st.integers(1, max_steps))
    minute_grid = draw(st.booleans())
    times = (
        st.integers(1, MS_PER_DAY // MS_PER_MIN - 1).map(lambda m: m * MS_PER_MIN)
        if minute_grid
        else st.integers(1, MS_PER_DAY - 1)
    )
    starts = [0, *sorted(draw(st.sets(times, min_size=n - 1, max_size=n - 1)))]
    steps = tuple(FlexStep(s, draw(st.integers(*doses), label=f"step {i} dose")) for i, s in enumerate(starts))
    return Prescription(PrescriptionMode.FLEX, steps=steps)


@st.composite
def _bolus(
    draw: st.DrawFn,
    conc: int,
    lo: int,
    hi: int,
    doses: tuple[int, int] | None,
    periodic: bool,
    max_bolus_ms: int,
    min_interval_ms: int,
) -> Prescription:
    if periodic:
        assert doses is not None
        basal = draw(st.integers(*doses), label="basal dose")
        headroom = hi - rate_pl_per_day_from_dose(basal, conc)
    else:
        basal = 0
        headroom = hi
    assume(headroom > 0)
    # Choose the bolus first, then a duration long enough to deliver it within the max rate.
    one_ng_dur = _min_duration_ms(1, headroom, conc)
    assume(one_ng_dur <= max_bolus_ms)
    dur = draw(st.integers(max(MS_PER_S, one_ng_dur), max(MS_PER_S, max_bolus_ms)), label="bolus duration")
    max_ng = max(1, _max_bolus_ng(headroom, dur, conc))
    # A single bolus replaces the basal rate, so it must run at least at the minimum rate (REQ-RX-002).
    min_ng = 1 if periodic else _min_bolus_ng(lo, dur, conc, max_ng)
    assume(min_ng <= max_ng)
    bolus_ng = draw(st.integers(min_ng, max_ng), label="bolus dose")
    if periodic:
        lo_interval = max(dur + 1, min_interval_ms)
        interval = draw(st.integers(lo_interval, max(lo_interval, 2 * MS_PER_DAY)), label="bolus interval")
        rx = Prescription(
            PrescriptionMode.PERIODIC_BOLUS,
            dose_ng_per_day=basal,
            bolus_ng=bolus_ng,
            bolus_duration_ms=dur,
            bolus_interval_ms=interval,
            bolus_start_ms=draw(st.integers(0, MS_PER_DAY - 1), label="bolus start"),
        )
    else:
        rx = Prescription(PrescriptionMode.SINGLE_BOLUS, bolus_ng=bolus_ng, bolus_duration_ms=dur)
    return rx


def prescriptions(
    conc_ng_per_ml: int,
    cfg: PumpConfig,
    *,
    modes: Sequence[int] = ALL_MODES,
    max_rate_pl_per_day: int | None = None,
    max_flex_steps: int = MAX_FLEX_STEPS,
    max_bolus_ms: int = 12 * MS_PER_H,
    min_bolus_interval_ms: int = 0,
) -> st.SearchStrategy[Prescription]:
    """Prescriptions of the given *modes* that are deliverable at *conc_ng_per_ml* by *cfg*.

    Every basal rate lies in [min rate, max rate] and basal plus bolus stays at
    or below the max rate (REQ-RX-002), as :func:`firmware_model.check_prescription`
    checks. *max_rate_pl_per_day* lowers the ceiling further (to keep simulations
    short); *max_bolus_ms* bounds bolus durations and *min_bolus_interval_ms*
    the time between periodic boluses (each bolus edge costs the controller a
    wake-up, so a short interval makes long runs slow). Modes that cannot be
    delivered under these limits are left out; ValueError if none can.
    """
    lo = cfg.min_rate_pl_per_day
    hi = cfg.max_rate_pl_per_day if max_rate_pl_per_day is None else min(cfg.max_rate_pl_per_day, max_rate_pl_per_day)
    if not 1 <= max_flex_steps <= MAX_FLEX_STEPS:
        raise ValueError(f"max_flex_steps = {max_flex_steps}: expected 1..{MAX_FLEX_STEPS}")
    doses = dose_range(conc_ng_per_ml, lo, hi)
    options: list[st.SearchStrategy[Prescription]] = []
    for mode in modes:
        if mode == PrescriptionMode.STOPPED and lo <= hi:
            options.append(st.just(Prescription(PrescriptionMode.STOPPED)))
        elif mode == PrescriptionMode.CONTINUOUS and doses:
            options.append(_continuous(conc_ng_per_ml, doses))
        elif mode == PrescriptionMode.FLEX and doses:
            options.append(_flex(conc_ng_per_ml, doses, max_flex_steps))
        elif mode == PrescriptionMode.PERIODIC_BOLUS and doses:
            options.append(_bolus(conc_ng_per_ml, lo, hi, doses, True, max_bolus_ms, min_bolus_interval_ms))
        elif mode == PrescriptionMode.SINGLE_BOLUS and lo <= hi:
            options.append(_bolus(conc_ng_per_ml, lo, hi, None, False, max_bolus_ms, 0))
    if not options:
        raise ValueError(
            f"no deliverable prescription of modes {[MODE_NAMES[m] for m in modes]} at {conc_ng_per_ml} ng/mL "
            f"within {lo}..{hi} pL/day"
        )
    capped = cfg.replace(max_rate_pl_per_day=max(hi, cfg.min_rate_pl_per_day))
    return st.one_of(options).filter(lambda rx: check_prescription(rx, conc_ng_per_ml, capped) is None)


@st.composite
def pump_configs(
    draw: st.DrawFn,
    *,
    min_tone_interval_ms: int = 5 * MS_PER_MIN,
    max_capacity_nl: int = 40 * NL_PER_ML,
) -> PumpConfig:
    """Valid controller configurations around SynchroMed-II-like defaults.

    Tone intervals are at least *min_tone_interval_ms* so a long stretch with an
    alarm active stays cheap to simulate.
    """
    capacity = draw(st.integers(NL_PER_ML, max_capacity_nl), label="capacity")
    low = draw(st.integers(0, capacity), label="low threshold")
    floor = draw(st.integers(0, min(low, capacity // 4)), label="empty floor")
    min_rate = draw(st.integers(PL_PER_ML // 1000, PL_PER_ML // 10), label="min rate")  # 1 uL/day .. 0.1 mL/day
    # At least a decade of range (real pumps have ~500x), so every mode has deliverable doses.
    max_rate = draw(st.integers(max(10 * min_rate, PL_PER_ML // 10), 30 * PL_PER_ML), label="max rate")
    return PumpConfig(
        stroke_volume_pl=draw(st.integers(50_000, 1_000_000), label="stroke volume"),
        reservoir_capacity_nl=capacity,
        low_reservoir_nl=low,
        empty_floor_nl=floor,
        min_rate_pl_per_day=min_rate,
        max_rate_pl_per_day=max_rate,
        dead_volume_nl=draw(st.integers(0, NL_PER_ML), label="dead volume"),
        non_critical_tone_interval_ms=draw(st.integers(min_tone_interval_ms, MS_PER_DAY)),
        critical_tone_interval_ms=draw(st.integers(min_tone_interval_ms, MS_PER_DAY)),
        max_sleep_ms=draw(st.one_of(st.just(MS_PER_DAY), st.integers(MS_PER_MIN, MS_PER_DAY)), label="max sleep"),
    )


def _near(target: int, spread: int, lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in [lo, hi], half the time within *spread* of *target* (to reach thresholds)."""
    near = st.integers(max(lo, target - spread), max(lo, min(hi, target + spread)))
    return st.one_of(near, st.integers(lo, hi))


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_days: float = 3.0,
    max_visits: int = 4,
    max_strokes: int = 20_000,
    mechanism_errors: bool = True,
) -> Scenario:
    """Short, valid :class:`~pumpsim.scenario.Scenario` records (built directly, no TOML).

    At most *max_days* of simulated time and roughly *max_strokes* motor strokes
    (every programmed rate is capped accordingly), with up to *max_visits*
    clinic visits mixing refills, concentration changes with or without a
    bridge bolus, reprogramming, priming boluses and threshold changes. Fills
    and refills are often close to the low-reservoir threshold so alarms and
    an empty reservoir happen within the short run.

    With *mechanism_errors* false the plant is ideal (no calibration error, no
    stroke scatter, full aspiration), so the firmware's estimate tracks the
    actual reservoir to within a stroke.
    """
    duration = draw(st.integers(MS_PER_H, max(MS_PER_H, int(max_days * MS_PER_DAY))), label="duration")
    days = duration / MS_PER_DAY
    stroke_pl = draw(st.integers(50_000, 1_000_000), label="stroke volume")
    # Rate cap: therapy may use half of the stroke budget, priming a quarter.
    cap = max(PL_PER_ML // 1000, int(max_strokes * stroke_pl / (2 * days)))
    reservoir = draw(st.integers(NL_PER_ML, 40 * NL_PER_ML), label="reservoir")
    low = draw(st.integers(0, reservoir - 1), label="low threshold")
    floor = draw(st.integers(0, min(low, reservoir // 4)), label="empty floor")
    budget_nl = int(cap * days) // 1000  # volume the run can pump at the cap, nL
    fill = draw(_near(low, max(budget_nl, 1), 0, reservoir), label="fill")
    min_rate = draw(st.integers(PL_PER_ML // 1000, min(PL_PER_ML // 10, cap)), label="min rate")
    max_rate = draw(st.integers(max(10 * min_rate, PL_PER_ML // 10), 30 * PL_PER_ML), label="max rate")
    dead_budget = max(0, max_strokes * stroke_pl // 8_000)  # nL a priming bolus may push
    internal = draw(st.integers(0, min(100_000, dead_budget)), label="internal volume")
    if mechanism_errors:
        cal = draw(st.floats(-0.2, 0.2, allow_nan=False), label="calibration error")
        cv = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.3, allow_nan=False)), label="stroke cv")
        unasp = draw(st.integers(0, min(reservoir, 500_000)), label="unaspirated")
    else:
        cal, cv, unasp = 0.0, 0.0, 0
    pump = PumpSpec(
        reservoir_nl=reservoir,
        fill_nl=fill,
        low_reservoir_alarm_nl=low,
        empty_floor_nl=floor,
        stroke_volume_pl=stroke_pl,
        calibration_error=cal,
        stroke_cv=cv,
        min_rate_pl_per_day=min_rate,
        max_rate_pl_per_day=max_rate,
        internal_volume_nl=internal,
        unaspirated_nl=unasp,
        non_critical_tone_interval_ms=draw(st.integers(5 * MS_PER_MIN, MS_PER_DAY), label="non-critical tone"),
        critical_tone_interval_ms=draw(st.integers(5 * MS_PER_MIN, MS_PER_DAY), label="critical tone"),
    )
    catheter = CatheterSpec(
        volume_nl=draw(st.integers(0, max(0, min(500_000, dead_budget - internal))), label="catheter volume"),
        primed=draw(st.booleans(), label="primed"),
    )
    conc = draw(concentrations(), label="concentration")
    cfg = Scenario(
        name="", duration_ms=duration, seed=0, pump=pump, catheter=catheter, drug=DrugSpec(), prescription=_STOP
    ).firmware_config()
    budget_cfg = cfg.replace(max_rate_pl_per_day=max(min_rate, min(cap, cfg.max_rate_pl_per_day)))
    rx_at = _RxSource(budget_cfg)
    rx = draw(rx_at(conc), label="prescription")

    prime_at_start = draw(st.booleans(), label="priming at start?")
    primings = int(prime_at_start)
    times = sorted(draw(st.lists(st.integers(0, duration), max_size=max_visits), label="visit times"))
    visits: list[Visit] = []
    cur_conc, cur_rx = conc, rx
    # The concentration before the last bridge bolus, while that bridge may still run (None: no bridge).
    # During a bridge the firmware refuses a reprogram that does not suit the old concentration too
    # (REQ-RX-009), and whether the bridge has ended by the next visit depends on the run: so such a
    # reprogram is not drawn, and the prescription this strategy tracks stays the firmware's.
    bridge_from: int | None = None
    for i, at in enumerate(times):
        refill = draw(st.booleans(), label="refill?")
        v_conc: int | None = None
        v_rx: Prescription | None = None
        bridge = False
        refill_nl: int | None = None
        if refill:
            refill_nl = draw(_near(max(1, low), max(budget_nl, 1), 1, reservoir), label="refill volume")
            if draw(st.booleans(), label="new concentration?"):
                v_conc = draw(concentrations(), label="new concentration")
                bridge = v_conc != cur_conc and draw(st.booleans(), label="bridge?")
            new_conc = cur_conc if v_conc is None else v_conc
            # The kept dose must stay deliverable (and within the stroke budget) at the new concentration.
            if check_prescription(cur_rx, new_conc, budget_cfg) is not None or draw(st.booleans(), label="new rx?"):
                v_rx = draw(rx_at(new_conc), label="refill prescription")
            # REQ-RX-006: a refill without a bridge cancels a running one.
            bridge_from = cur_conc if bridge else None
            cur_conc = new_conc
        elif draw(st.booleans(), label="reprogram?"):
            v_rx = draw(rx_at(cur_conc), label="new prescription")
            if bridge_from is not None and check_prescription(v_rx, bridge_from, budget_cfg) is not None:
                v_rx = None
        if v_rx is not None:
            cur_rx = v_rx
        priming = primings < 2 and draw(st.booleans(), label="priming?")
        primings += priming
        new_low = draw(st.one_of(st.none(), st.integers(floor, reservoir - 1)), label="new threshold")
        visits.append(
            Visit(
                at_ms=at,
                refill_nl=refill_nl,
                conc_ng_per_ml=v_conc,
                aspirate=draw(st.booleans(), label="aspirate?") if mechanism_errors else True,
                prescription=v_rx,
                bridge_bolus=bridge,
                priming_bolus=priming,
                low_reservoir_alarm_nl=new_low,
                origin=f"visit {i + 1}",
            )
        )
    return Scenario(
        name="hypothesis",
        duration_ms=duration,
        seed=draw(st.integers(0, 2**32 - 1), label="seed"),
        pump=pump,
        catheter=catheter,
        drug=DrugSpec(name="drug", conc_ng_per_ml=conc),
        prescription=rx,
        visits=tuple(visits),
        priming_bolus=prime_at_start,
        description="generated by pumpsim.testing.strategies.scenarios",
        trace_interval_ms=draw(st.integers(5 * MS_PER_MIN, MS_PER_DAY), label="trace interval"),
    )


_STOP = Prescription(PrescriptionMode.STOPPED)


class _RxSource:
    """Caches :func:`prescriptions` strategies per concentration (building one costs a few loops)."""

    def __init__(self, cfg: PumpConfig) -> None:
        self._cfg = cfg
        self._cache: dict[int, st.SearchStrategy[Prescription]] = {}

    def __call__(self, conc: int) -> st.SearchStrategy[Prescription]:
        s = self._cache.get(conc)
        if s is None:
            s = self._cache[conc] = prescriptions(
                conc, self._cfg, max_bolus_ms=6 * MS_PER_H, min_bolus_interval_ms=15 * MS_PER_MIN
            )
        return s
