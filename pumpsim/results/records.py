"""The records a run writes, typed: summary.json, each kind of event in events.jsonl, run.json.

Each field is declared once, here, with its type, its unit and the text that
documents it (``Annotated[type, Doc(unit, text)]``); the field tables of
docs/output-format.md are generated from these declarations
(:mod:`pumpsim.results.doctables`, checked by tests/unit/test_records.py). The
order of the declarations is the order of the keys in the files.

At run time the records are plain dicts (JSON-ready); the types are for
``mypy`` and for readers.
"""

# No `from __future__ import annotations` here: TypedDict reads NotRequired[...]
# from evaluated annotations only (Python 3.11), and the docs generator reads the
# Annotated metadata at run time.

from dataclasses import dataclass
from typing import Annotated, Literal, NotRequired, TypedDict


@dataclass(frozen=True, slots=True)
class Doc:
    """Unit (empty if none) and documentation text of one record field."""

    unit: str
    text: str


# ------------------------------------------------------------------ summary.json


class AlarmEpisode(TypedDict):
    """One alarm from raising to clearing."""

    alarm: Annotated[str, Doc("", "The alarm's name (`low_reservoir`, `empty_reservoir`).")]
    t_s: Annotated[float, Doc("s", "Raised.")]
    cleared_t_s: Annotated[float | None, Doc("s", "Cleared, or `null` if still active at the end.")]


class Balance(TypedDict):
    """Mass balance: what was put in against where it is now."""

    in_ml: Annotated[float, Doc(
        "mL", "Volume put in: the initial fill, the initial content of the dead volume, and every refill injection.")]
    out_ml: Annotated[float, Doc(
        "mL", "Where it is now: reservoir + dead volume + delivered + aspirated + overflowed. Equal to `in_ml` up "
              "to float rounding.")]
    in_mg: Annotated[float, Doc(
        "mg", "Drug mass put in: fill, initial dead-volume content (0 if `primed = false`), refills.")]
    out_mg: Annotated[float, Doc(
        "mg", "Reservoir + dead volume content + delivered + aspirated + overflowed mass. Equal to `in_mg` up to "
              "float rounding.")]
    aspirated_ml: Annotated[float, Doc("mL", "Volume drawn out at refills.")]
    aspirated_mg: Annotated[float, Doc("mg", "Drug mass drawn out at refills.")]
    overflow_ml: Annotated[float, Doc("mL", "Injected volume that did not fit under the reservoir capacity.")]
    catheter_ml: Annotated[float, Doc("mL", "The dead volume: catheter volume + pump `internal_volume`.")]


class WithdrawalEpisode(TypedDict):
    """A time the CSF concentration fell below the withdrawal level (after having been at or above it)."""

    below_t_s: Annotated[float, Doc("s", "When the concentration fell below the level.")]
    onset_from_t_s: Annotated[float, Doc(
        "s", "From here severe withdrawal may develop if the drug is not restored (below + `withdrawal_from`; "
             "baclofen 24 h [C2]).")]
    onset_to_t_s: Annotated[float, Doc("s", "Until here (below + `withdrawal_to`; baclofen 72 h [C2]).")]
    recovered_t_s: Annotated[float | None, Doc(
        "s", "When the concentration was back at the level, or `null` if it was not by the end.")]


class TrialSummary(TypedDict):
    """The screening trial before the implant: the dose, its CSF curve's peak, and the relief decision."""

    kind: Annotated[str, Doc("", "`bolus` or `infusion`.")]
    amount_mg: Annotated[float, Doc("mg", "Drug mass given in the trial (an infusion: dose rate × duration).")]
    duration_s: Annotated[float, Doc("s", "Over how long it was given.")]
    observe_s: Annotated[float, Doc("s", "Observation after the dose ended; `trial.csv` covers both.")]
    peak_ng_per_ml: Annotated[float, Doc("ng/mL", "Highest CSF concentration (at the end of the dose).")]
    peak_t_s: Annotated[float, Doc("s", "When, from the start of the trial dose.")]
    relief_pct: Annotated[float, Doc("%", "The relief the patient reported (a scenario input, not computed).")]
    threshold_pct: Annotated[float, Doc("%", "The relief the trial needs (default 50 %).")]
    passed: Annotated[bool, Doc(
        "", "`relief_pct >= threshold_pct`: the implant is indicated. The run simulates the implant either way.")]


class PatientSummary(TypedDict):
    """The patient's CSF model over the run (present only with a `[patient]` table, `pk = true`)."""

    drug: Annotated[str, Doc("", "The `[drug]` name.")]
    volume_ml: Annotated[float, Doc("mL", "Distribution volume V.")]
    clearance_ml_per_min: Annotated[float, Doc("mL/min", "Clearance CL.")]
    half_life_h: Annotated[float, Doc("h", "Half-life ln 2 × V / CL.")]
    start_ng_per_ml: Annotated[float, Doc("ng/mL", "CSF concentration at t = 0 (`start`).")]
    steady_state_ng_per_ml: Annotated[float, Doc(
        "ng/mL", "Css = daily dose / CL of the prescription at t = 0.")]
    csf_min_ng_per_ml: Annotated[float, Doc("ng/mL", "Lowest CSF concentration over the run.")]
    csf_max_ng_per_ml: Annotated[float, Doc("ng/mL", "Highest.")]
    csf_end_ng_per_ml: Annotated[float, Doc("ng/mL", "At the last trace row.")]
    band_low_ng_per_ml: Annotated[float | None, Doc("ng/mL", "The therapeutic band's lower edge, or `null`.")]
    band_high_ng_per_ml: Annotated[float | None, Doc("ng/mL", "Its upper edge, or `null`.")]
    below_band_s: Annotated[float, Doc("s", "Time below `band_low` (0 without one).")]
    in_band_s: Annotated[float, Doc("s", "Time inside the band (all the time without one).")]
    above_band_s: Annotated[float, Doc("s", "Time above `band_high` (0 without one).")]
    withdrawal_ng_per_ml: Annotated[float | None, Doc(
        "ng/mL", "The withdrawal level, or `null` for a drug without withdrawal (ziconotide, bupivacaine).")]
    withdrawal_at_risk_s: Annotated[float, Doc(
        "s", "Time spent in withdrawal episodes beyond their `onset_from_t_s`.")]
    withdrawal_episodes: Annotated[list[WithdrawalEpisode], Doc("", "Withdrawal episodes in time order.")]
    trial: NotRequired[Annotated[TrialSummary, Doc("", "The screening trial, with a `[patient.trial]` table.")]]

class PtmCounts(TypedDict):
    """The patient's presses, counted by result (= the `ptm` events)."""

    presses: Annotated[int, Doc("", "Presses that reached the firmware.")]
    granted: Annotated[int, Doc("", "Boluses granted.")]
    refused_lockout: Annotated[int, Doc("", "Presses within the lockout after a granted bolus.")]
    refused_max: Annotated[int, Doc("", "Presses beyond `max_per_day` boluses in the 24 hours before.")]
    refused_stopped: Annotated[int, Doc("", "Presses while delivery was stopped or a priming bolus ran.")]


class Summary(TypedDict):
    """summary.json: the run's totals. Identical for the same scenario and seed, bulk or exact mode."""

    scenario: Annotated[str, Doc("", "Scenario `name`.")]
    seed: Annotated[int, Doc("", "Seed actually used (the scenario's, or the `--seed` / `seed=` override).")]
    complete: Annotated[bool, Doc("", "`true` if the run reached its end; `false` after an interruption.")]
    duration_s: Annotated[float, Doc("s", "Requested run length (the scenario's `duration`, or `--days`).")]
    simulated_s: Annotated[float, Doc("s", "Simulated time reached. Equal to `duration_s` when `complete`.")]
    strokes: Annotated[int, Doc(
        "strokes", "Motor strokes (valve-gated pump: aliquots) since t = 0, including strokes that moved nothing "
                   "because the real reservoir was dry or the outlet was shut. 0 for a constant-flow pump.")]
    pumped_ml: Annotated[float, Doc(
        "mL", "Volume pumped into the catheter since t = 0 (the position on the pumped-volume axis).")]
    delivered_ml: Annotated[float, Doc(
        "mL", "Volume that left the catheter tip. Equal to `pumped_ml`: in plug flow every nL pumped in pushes one "
              "nL out of the tip. What differs is the drug it carries.")]
    delivered_mg: Annotated[float, Doc("mg", "Drug mass that left the catheter tip, into the patient.")]
    prescribed_mg: Annotated[float, Doc(
        "mg", "Time integral of the firmware's programmed dose rate: the motor program's rate × the concentration "
              "the firmware believes the reservoir holds. It includes priming and bridge boluses; while delivery is "
              "stopped at the empty floor it keeps counting what the prescription in force calls for (the patient "
              "was prescribed that drug, and did not get it). Compare with `delivered_mg` to see the effect of "
              "calibration error, a dry reservoir, an unprimed catheter or a concentration change.")]
    reservoir_actual_ml: Annotated[float, Doc("mL", "Real reservoir volume at the end.")]
    reservoir_estimated_ml: Annotated[float | None, Doc(
        "mL", "Firmware's estimate at the end (1 nL resolution, rounded down); `null` for a constant-flow pump, "
              "which has no firmware.")]
    catheter_content_mg: Annotated[float, Doc(
        "mg", "Drug mass inside the dead volume (catheter plus pump `internal_volume`) at the end.")]
    alarms: Annotated[list[AlarmEpisode], Doc("", "Alarm episodes in order of raising.")]
    dry_t_s: Annotated[float | None, Doc("s", "First time the real reservoir ran dry, or `null`.")]
    dry_count: Annotated[int, Doc("", "How many times it ran dry (each refill ends a dry period).")]
    dry_total_s: Annotated[float, Doc("s", "Total time the real reservoir was dry, up to the end.")]
    predicted_low_reservoir_t_s: Annotated[float | None, Doc(
        "s", "The firmware's latest prediction of when the low-reservoir alarm will be raised, in whole seconds "
             "from t = 0; `null` if the alarm was already active, delivery was stopped, or the threshold is never "
             "reached. Updated at boot and whenever a command changed the schedule.")]
    tones: Annotated[int, Doc("", "Number of alarm tones played (= number of `tone` events).")]
    visits: Annotated[int, Doc("", "Number of visits handled (= number of `visit` events).")]
    events: Annotated[int, Doc("", "Number of lines in `events.jsonl`.")]
    log_records_lost: Annotated[int, Doc(
        "records", "Firmware event-log records overwritten (ring buffer of 256) before the engine read them. 0 in "
                   "normal runs; above 0 means `events.jsonl` has gaps.")]
    balance: Annotated[Balance, Doc("", "Mass balance.")]
    ptm: NotRequired[Annotated[PtmCounts, Doc(
        "", "Patient boluses, when the scenario has a `[ptm]` table: its presses and what became of them.")]]
    patient: NotRequired[Annotated[PatientSummary, Doc(
        "", "The CSF model (`pk.csv`), band and withdrawal analysis and the trial; only with a `[patient]` table "
            "(docs/scenario-format.md). Without one summary.json is exactly as before.")]]


# ------------------------------------------------------------------ events.jsonl


class EventBase(TypedDict):
    """Fields every event starts with (then `kind`)."""

    t_s: Annotated[float, Doc("s", "Time (= `t_ms / 1000`).")]
    t_ms: Annotated[int, Doc("ms", "Time, exact integer.")]


class BootEvent(EventBase):
    """The controller started (t = 0)."""

    kind: Literal["boot"]
    firmware_version: Annotated[int, Doc("", "The controller's firmware version.")]


class ReprogramEvent(EventBase):
    """A prescription was programmed: at boot, by a visit's prescription, or with a refill."""

    kind: Literal["reprogram"]
    mode: Annotated[str, Doc("", "`continuous`, `flex`, `periodic_bolus`, `single_bolus` or `stopped`.")]
    daily_dose_mg: Annotated[float, Doc(
        "mg", "The nominal dose over one day: flex = time-weighted sum of the steps, periodic_bolus = basal + "
              "bolus × boluses per day, 0 for `stopped` and `single_bolus`.")]


class PredictionEvent(EventBase):
    """The firmware's prediction of the low-reservoir alarm time; written at boot and after every command that
    changed the schedule."""

    kind: Literal["prediction"]
    predicted_low_reservoir_t_s: Annotated[float | None, Doc(
        "s", "Predicted alarm time in whole seconds, or `null` if the alarm is active, delivery is stopped or the "
             "threshold is never reached.")]


class VisitEvent(EventBase):
    """A clinic visit (engine side). The refill fields are present when the visit refills."""

    kind: Literal["visit"]
    origin: Annotated[str, Doc("", "`\"visit N\"` (the Nth `[[visit]]` in the file) or `\"refill_plan\"`.")]
    refill_ml: NotRequired[Annotated[float, Doc("mL", "Volume injected.")]]
    aspirate: NotRequired[Annotated[bool, Doc("", "Whether the old content was aspirated first.")]]
    concentration_mg_per_ml: NotRequired[Annotated[float, Doc("mg/mL", "Concentration of the injected drug.")]]
    residual_actual_ml: NotRequired[Annotated[float, Doc("mL", "The real residual before aspiration.")]]
    aspirated_ml: NotRequired[Annotated[float, Doc("mL", "Volume drawn out.")]]
    overflow_ml: NotRequired[Annotated[float, Doc("mL", "Injected volume that did not fit.")]]
    entered_ml: NotRequired[Annotated[float, Doc(
        "mL", "What the clinician entered into the programmer (see [scenario format]"
              "(scenario-format.md#what-happens-at-a-refill)).")]]


class RefillEvent(EventBase):
    """The firmware accepted a refill."""

    kind: Literal["refill"]
    entered_ml: Annotated[float, Doc("mL", "Volume the firmware was told the reservoir now holds.")]
    concentration_mg_per_ml: Annotated[float, Doc("mg/mL", "Concentration the firmware was told.")]
    reservoir_actual_ml: NotRequired[Annotated[float, Doc(
        "mL", "The real volume after aspiration, injection and mixing (simulator only).")]]
    mixed_concentration_mg_per_ml: NotRequired[Annotated[float, Doc(
        "mg/mL", "The real concentration after mixing (simulator only).")]]


class BolusEvent(EventBase):
    """A bolus started or ended. A periodic or single bolus window interrupted by a priming bolus shows as `end`
    at the priming start and `start` again when priming ends."""

    kind: Literal["bolus"]
    bolus: Annotated[str, Doc("", "`periodic`, `single`, `priming`, `bridge` or `patient` (a granted press).")]
    state: Annotated[Literal["start", "end"], Doc("", "`start` or `end`.")]
    volume_ml: NotRequired[Annotated[float, Doc(
        "mL", "For `priming` and `bridge`: the dead volume the bolus pushes (a bridge ended early by a new refill "
              "has none); for `patient`: the bolus volume (none at an `end` that cut it off because delivery "
              "stopped).")]]


class AlarmEvent(EventBase):
    """An alarm was raised or cleared."""

    kind: Literal["alarm"]
    alarm: Annotated[str, Doc("", "`low_reservoir` or `empty_reservoir`.")]
    state: Annotated[Literal["raised", "cleared"], Doc("", "`raised` or `cleared`.")]
    reservoir_estimated_ml: Annotated[float, Doc("mL", "The firmware's estimate at that moment.")]


class ToneEvent(EventBase):
    """The sounder played one tone pattern. Only the highest-priority active alarm sounds."""

    kind: Literal["tone"]
    pattern: Annotated[str, Doc(
        "", "`non_critical` (a 1 s single tone) or `critical` (a 3 s two-tone) [C].")]
    alarm: Annotated[str, Doc("", "The alarm that owns the tone.")]
    duration_ms: Annotated[int, Doc("ms", "Length of the pattern.")]


class DeliveryStoppedEvent(EventBase):
    """The firmware stopped the motor because its estimate reached the empty floor. Delivery resumes silently
    when the alarm clears (see the `alarm` event)."""

    kind: Literal["delivery_stopped"]
    alarm: Annotated[str, Doc("", "The alarm that stopped delivery (`empty_reservoir`).")]


class ThresholdEvent(EventBase):
    """A visit changed the low-reservoir alarm threshold."""

    kind: Literal["threshold"]
    low_reservoir_ml: Annotated[float, Doc("mL", "The new threshold.")]


class RejectedEvent(EventBase):
    """The firmware refused a command; nothing in the firmware changed. For a refill, the plant has still been
    refilled."""

    kind: Literal["rejected"]
    reason: Annotated[str, Doc(
        "", "`rate_too_high`, `rate_too_low`, `volume_above_capacity`, `bad_concentration`, `bad_value`, "
            "`hard_limit` (a drug-library hard limit) or `soft_limit` (a soft limit the visit did not confirm).")]
    command: Annotated[str, Doc(
        "", "`refill`, `reprogram`, `priming_bolus`, `set_low_reservoir` or `patient_bolus` (a press with no "
            "patient bolus programmed).")]


#: What became of a patient's press (the firmware's PTM_RESULT_NAMES).
PtmResultName = Literal["granted", "refused_lockout", "refused_max", "refused_stopped"]


class PtmEvent(EventBase):
    """The patient pressed for a bolus (a patient-role command); the firmware granted or refused it."""

    kind: Literal["ptm"]
    result: Annotated[PtmResultName, Doc(
        "", "`granted`; `refused_lockout` (within `lockout` of the last granted bolus), `refused_max` "
            "(`max_per_day` granted in the 24 hours before) or `refused_stopped` (delivery stopped, or a priming "
            "bolus running).")]
    bolus_mg: NotRequired[Annotated[float, Doc("mg", "For `granted`: the bolus dose.")]]


class DrugLimitEvent(EventBase):
    """A command exceeded a drug-library limit: refused (a `rejected` event follows, reason `hard_limit` or
    `soft_limit`), or a soft limit the clinician confirmed (the command went on)."""

    kind: Literal["drug_limit"]
    limit: Annotated[str, Doc(
        "", "`concentration`, `daily_dose` (with every patient bolus allowed), `bolus`, `dose_step` (the daily "
            "dose's increase) or `step_interval` (time since the last increase, a minimum).")]
    severity: Annotated[Literal["hard", "soft"], Doc("", "Which limit: `hard` or `soft`.")]
    outcome: Annotated[Literal["refused", "overridden"], Doc(
        "", "`refused`, or `overridden` (a soft limit with `confirm = true`).")]
    value: Annotated[float, Doc("", "The value that exceeds the limit, in `unit`.")]
    unit: Annotated[str, Doc("", "`mg/mL`, `mg/day`, `mg` or `h`.")]


class DryEvent(EventBase):
    """The real reservoir became empty. Later strokes move nothing until a refill; the firmware is not told."""

    kind: Literal["dry"]
    strokes: Annotated[int, Doc("strokes", "The stroke count at which it emptied.")]


class EnvironmentEvent(EventBase):
    """The environment changed (body temperature, ambient pressure, magnetic field): the plant's mechanism
    answered. The firmware is not told."""

    kind: Literal["environment"]
    body_temp_c: Annotated[float, Doc("°C", "Body temperature from now on.")]
    ambient_kpa: Annotated[float, Doc("kPa", "Ambient absolute pressure from now on.")]
    magnet: Annotated[bool, Doc("", "A strong magnetic field is present.")]
    flow_rate_ml_per_day: NotRequired[Annotated[float, Doc(
        "mL/day", "Constant-flow pump only: its flow rate from now on (the flow law at this temperature and "
                  "pressure, before `calibration_error`).")]]


class FavEvent(EventBase):
    """Valve-gated pump: its flow-activated valve shut a free flow (a magnetic field opened both valves), or a
    visit reset it. While it is shut nothing is delivered; the firmware is not told and keeps counting aliquots."""

    kind: Literal["fav"]
    state: Annotated[Literal["tripped", "reset"], Doc(
        "", "`tripped` (free flow, then shut) or `reset` (open again).")]
    free_flow_ml: NotRequired[Annotated[float, Doc(
        "mL", "For `tripped`: the volume that left the reservoir before the valve shut (at most `fav_volume`).")]]


class LogEvent(EventBase):
    """A firmware log record the engine has no translation for (raw integers). No current record code
    produces it."""

    kind: Literal["log"]
    code: Annotated[int, Doc("", "The record's code.")]
    a: Annotated[int, Doc("", "Its first argument.")]
    b: Annotated[int, Doc("", "Its second argument.")]


#: One line of events.jsonl.
Event = (BootEvent | ReprogramEvent | PredictionEvent | VisitEvent | RefillEvent | BolusEvent | AlarmEvent
         | ToneEvent | DeliveryStoppedEvent | ThresholdEvent | RejectedEvent | PtmEvent | DrugLimitEvent | DryEvent
         | EnvironmentEvent | FavEvent | LogEvent)

#: Every event record type, in the order the docs list them.
EVENT_TYPES: tuple[type, ...] = (
    BootEvent, ReprogramEvent, PredictionEvent, VisitEvent, RefillEvent, BolusEvent, AlarmEvent, ToneEvent,
    DeliveryStoppedEvent, ThresholdEvent, RejectedEvent, PtmEvent, DrugLimitEvent, DryEvent, EnvironmentEvent,
    FavEvent, LogEvent,
)


# ------------------------------------------------------------------ run.json


class RunInfo(TypedDict):
    """run.json: how and where a run was made. Varies from run to run, so it is kept out of the other files."""

    pumpsim_version: Annotated[str, Doc("", "Version of the installed pumpsim.")]
    python_version: Annotated[str, Doc("", "Python version (`3.11.7`).")]
    numpy_version: Annotated[str, Doc("", "numpy version (it generates the stroke-volume stream).")]
    platform: Annotated[str, Doc("", "Operating system and machine (`platform.platform()`).")]
    host: Annotated[str, Doc("", "Host name.")]
    started_utc: Annotated[str, Doc("", "Wall-clock start of the run, UTC, ISO 8601 (`2026-11-25T16:04:28Z`).")]
    wall_s: Annotated[float, Doc("s", "Wall-clock duration of the simulation.")]
    argv: Annotated[list[str], Doc("", "The command line, `pumpsim` first.")]
    mode: Annotated[Literal["bulk", "exact"], Doc(
        "", "`bulk` (default) or `exact` (`--exact`, one SimPy event per stroke). The outputs are identical.")]
    seed_override: Annotated[int | None, Doc("", "The `--seed` given, or `null` (the scenario's seed was used).")]


# ------------------------------------------------------------------ accuracy.json (pumpsim trumpet)


class TrumpetRow(TypedDict):
    """One observation window of the trumpet curve (also a row of trumpet.csv)."""

    window_s: Annotated[float, Doc("s", "Observation window P = n × S.")]
    n: Annotated[int, Doc("intervals", "Sampling intervals per window.")]
    windows: Annotated[int, Doc("", "Windows evaluated, m = N - n + 1 (sliding by S).")]
    ep_max_pct: Annotated[float, Doc("%", "Ep(max): the largest error of the mean flow in any window of length P.")]
    ep_min_pct: Annotated[float, Doc("%", "Ep(min): the smallest (most negative) such error.")]


class AccuracyReport(TypedDict):
    """accuracy.json: what `pumpsim trumpet` analysed, how, and the results (docs/accuracy.md)."""

    source: Annotated[str, Doc("", "The CSV file analysed.")]
    amount: Annotated[str, Doc("", "The column analysed: `mass_g`, `volume_ml` or `delivered_ml`.")]
    samples: Annotated[int, Doc("", "Rows used.")]
    not_weights: Annotated[int, Doc("", "Rows left out because the balance status was not a weight.")]
    density_g_per_ml: Annotated[float | None, Doc("g/mL", "Density d used for a mass series; `null` for volume.")]
    evaporation_mg_per_h: Annotated[float | None, Doc(
        "mg/h", "Evaporation rate E added back to a mass series; `null` for volume.")]
    rate_ml_per_day: Annotated[float, Doc("mL/day", "Reference rate r: the set rate, or the measured mean flow.")]
    rate_given: Annotated[bool, Doc("", "`true` if r is the set rate (`--rate`); `false` if it is the mean flow.")]
    cycle_s: Annotated[float | None, Doc("s", "Stroke cycle T = stroke volume / r used to round S, or `null`.")]
    interval_s: Annotated[float, Doc("s", "Sampling interval S used (a whole number of cycles when T is known).")]
    start_s: Annotated[float, Doc("s", "Start of the analysis period, on the file's time axis.")]
    length_s: Annotated[float, Doc("s", "Length of the analysis period used, N × S.")]
    mean_flow_ml_per_day: Annotated[float, Doc("mL/day", "Mean flow Q over the analysis period.")]
    mean_error_pct: Annotated[float | None, Doc(
        "%", "Mean flow error A = 100 (Q - r) / r; `null` without a set rate.")]
    trumpet: Annotated[list[TrumpetRow], Doc("", "The trumpet curve, shortest window first.")]
