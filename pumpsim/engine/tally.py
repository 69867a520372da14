"""The summary's bookkeeping: an accumulator fed with the run's events, refills and prescribed dose.

:class:`Tally` sees every event as it is handed to the sink (so an
interrupted run's summary describes exactly the events written) and keeps
what summary.json reports about them: the event count, visits, tones, alarm
episodes, the latest low-reservoir prediction and the dry spells. The engine
also tells it what each refill did in the plant (the mass balance, and the end
of a dry spell) and the prescribed dose accrued between two instants.
:meth:`Tally.summary` puts it together with the plant's end state.
"""

from __future__ import annotations

from ..plant import PlantState, RefillOutcome
from ..results.records import AlarmEpisode, Balance, Event, PtmCounts, Summary
from ..units import MS_PER_DAY, MS_PER_S, NG_PER_MG, NL_PER_ML, PL_PER_ML

#: Prescribed dose is accrued in stroke-timer credit (pL x ms/day) x believed concentration (ng/mL).
_PRESCRIBED_PER_NG = MS_PER_DAY * PL_PER_ML


class Tally:
    """Counts and totals for summary.json, accumulated as the run goes."""

    def __init__(self, filled_nl: float, filled_ng: float, ptm: bool = False) -> None:
        """*filled_nl*, *filled_ng*: what the pump holds at t = 0 (reservoir fill and catheter content); *ptm*:
        the patient has boluses (the summary counts the presses)."""
        self.events = 0
        self.ptm: PtmCounts | None = None
        if ptm:
            self.ptm = {"presses": 0, "granted": 0, "refused_lockout": 0, "refused_max": 0, "refused_stopped": 0}
        self.visits = 0
        self.tones = 0
        self.alarms: list[AlarmEpisode] = []
        self._open_alarms: dict[str, AlarmEpisode] = {}
        self.predicted_low_reservoir_t_s: float | None = None
        self.log_records_lost = 0
        # Dry spells of the real reservoir: opened by a dry event, closed by a refill that puts fluid back.
        self.dry_count = 0
        self.dry_first_ms: int | None = None
        self._dry_since_ms: int | None = None
        self._dry_closed_ms = 0
        #: Prescribed dose so far, in pL x ms/day x ng/mL (exact integer; see :meth:`prescribe`).
        self.prescribed = 0
        # Mass balance (nL, ng).
        self.filled_nl = filled_nl
        self.filled_ng = filled_ng
        self.aspirated_nl = self.aspirated_ng = 0.0
        self.overflow_nl = self.overflow_ng = 0.0

    def count(self, ev: Event) -> None:
        """One event handed to the sink."""
        self.events += 1
        if ev["kind"] == "tone":
            self.tones += 1
        elif ev["kind"] == "alarm":
            name = ev["alarm"]
            if ev["state"] == "raised":
                episode: AlarmEpisode = {"alarm": name, "t_s": ev["t_s"], "cleared_t_s": None}
                self.alarms.append(episode)
                self._open_alarms[name] = episode
            elif name in self._open_alarms:
                self._open_alarms.pop(name)["cleared_t_s"] = ev["t_s"]
        elif ev["kind"] == "prediction":
            self.predicted_low_reservoir_t_s = ev["predicted_low_reservoir_t_s"]
        elif ev["kind"] == "visit":
            self.visits += 1
        elif ev["kind"] == "ptm" and self.ptm is not None:
            self.ptm["presses"] += 1
            self.ptm[ev["result"]] += 1
        elif ev["kind"] == "dry":
            self.dry_count += 1
            self._dry_since_ms = ev["t_ms"]
            if self.dry_first_ms is None:
                self.dry_first_ms = ev["t_ms"]

    def refilled(self, t_ms: int, out: RefillOutcome, conc_ng_per_ml: int) -> None:
        """A refill at *t_ms* injected drug of *conc_ng_per_ml* and did *out* in the plant."""
        self.filled_nl += out.added_nl
        self.filled_ng += out.added_nl * conc_ng_per_ml / NL_PER_ML
        self.aspirated_nl += out.aspirated_nl
        self.aspirated_ng += out.aspirated_ng
        self.overflow_nl += out.overflow_nl
        self.overflow_ng += out.overflow_ng
        if self._dry_since_ms is not None and out.volume_nl > 0:
            self._dry_closed_ms += t_ms - self._dry_since_ms
            self._dry_since_ms = None

    def prescribe(self, credit: int, conc_ng_per_ml: int) -> None:
        """The motor program accrued *credit* (pL x ms/day) of programmed volume at a believed concentration."""
        self.prescribed += credit * conc_ng_per_ml

    def dry_total_ms(self, now_ms: int) -> int:
        """Time the real reservoir has been dry up to *now_ms*."""
        open_ms = 0 if self._dry_since_ms is None else now_ms - self._dry_since_ms
        return self._dry_closed_ms + open_ms

    def summary(
        self, *, scenario: str, seed: int, complete: bool, duration_ms: int, now_ms: int, plant: PlantState,
        catheter_nl: float, estimate_nl: int | None,
    ) -> Summary:
        """summary.json at *now_ms*: this tally with the plant's state and the firmware's estimate then (None:
        no firmware)."""
        out_nl = plant.reservoir_nl + catheter_nl + plant.pumped_nl + self.aspirated_nl + self.overflow_nl
        out_ng = (plant.reservoir_nl * plant.reservoir_conc_ng_per_nl + plant.catheter_content_ng
                  + plant.delivered_ng + self.aspirated_ng + self.overflow_ng)
        balance: Balance = {
            "in_ml": self.filled_nl / NL_PER_ML,
            "out_ml": out_nl / NL_PER_ML,
            "in_mg": self.filled_ng / NG_PER_MG,
            "out_mg": out_ng / NG_PER_MG,
            "aspirated_ml": self.aspirated_nl / NL_PER_ML,
            "aspirated_mg": self.aspirated_ng / NG_PER_MG,
            "overflow_ml": self.overflow_nl / NL_PER_ML,
            "catheter_ml": catheter_nl / NL_PER_ML,
        }
        out: Summary = {
            "scenario": scenario,
            "seed": seed,
            "complete": complete,
            "duration_s": duration_ms / MS_PER_S,
            "simulated_s": now_ms / MS_PER_S,
            "strokes": plant.strokes,
            "pumped_ml": plant.pumped_nl / NL_PER_ML,
            "delivered_ml": plant.pumped_nl / NL_PER_ML,
            "delivered_mg": plant.delivered_ng / NG_PER_MG,
            "prescribed_mg": self.prescribed / _PRESCRIBED_PER_NG / NG_PER_MG,
            "reservoir_actual_ml": plant.reservoir_nl / NL_PER_ML,
            "reservoir_estimated_ml": None if estimate_nl is None else estimate_nl / NL_PER_ML,
            "catheter_content_mg": plant.catheter_content_ng / NG_PER_MG,
            "alarms": [episode.copy() for episode in self.alarms],
            "dry_t_s": None if self.dry_first_ms is None else self.dry_first_ms / MS_PER_S,
            "dry_count": self.dry_count,
            "dry_total_s": self.dry_total_ms(now_ms) / MS_PER_S,
            "predicted_low_reservoir_t_s": self.predicted_low_reservoir_t_s,
            "tones": self.tones,
            "visits": self.visits,
            "events": self.events,
            "log_records_lost": self.log_records_lost,
            "balance": balance,
        }
        if self.ptm is not None:
            out["ptm"] = self.ptm.copy()
        return out
