"""All of the controller's state, in one record (the C port's ``struct pump``).

Every room of the firmware (:mod:`.dispatch`, :mod:`.boluses`, :mod:`.alarms`,
:mod:`.delivery`, :mod:`.prediction`) is a set of functions over this record,
so a newcomer sees in one place everything the controller remembers between
wake-ups, and a new feature adds its fields here and its step to the wake-up
pipeline in :mod:`.controller`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._units import MS_PER_DAY, PL_PER_NL
from .config import PumpConfig
from .eventlog import EventLog
from .hal import Hal, MotorProgram
from .prescription import Prescription
from .therapy import Therapy

if TYPE_CHECKING:  # the rooms that define them import this module
    from .druglib import DrugLimits
    from .ptm import PtmSettings

#: ``FirmwareState.predicted_low_ms`` when there is nothing to predict.
NO_PREDICTION = -1


class FirmwareState:
    """What the controller remembers between wake-ups. Built by :class:`~firmware_model.PumpController`.

    Units are in the names; the reservoir estimate and its thresholds are in
    pL (the unit of stroke volume), so a wake-up does no scaling.
    """

    __slots__ = (
        "alarm_due_ms",
        "booted",
        "bridge_left",
        "bridge_to",
        "cfg",
        "count_base",
        "credit",
        "est_base_pl",
        "floor_pl",
        "hal",
        "last_count",
        "last_step_ms",
        "limits",
        "log",
        "low_nl",
        "low_pl",
        "now_ms",
        "predicted_low_ms",
        "prime_left",
        "priming_open",
        "program",
        "ptm",
        "ptm_end_ms",
        "ptm_grants",
        "ptm_next",
        "ptm_rate",
        "ptm_volume_nl",
        "replan",
        "stop_mask",
        "stroke_cost",
        "therapy",
        "window",
        "window_kind",
    )

    def __init__(self, hal: Hal, cfg: PumpConfig, therapy: Therapy, reservoir_nl: int, limits: DrugLimits,
                 ptm: PtmSettings | None) -> None:
        self.hal = hal
        self.cfg = cfg
        #: Stroke-timer credit one stroke costs (stroke volume pL x ms per day).
        self.stroke_cost = cfg.stroke_cost
        self.log = EventLog(cfg.log_capacity)
        self.booted = False
        self.now_ms = 0
        #: True when a command changed the schedule this wake-up (re-predict).
        self.replan = False

        # -- therapy (dispatch, boluses)
        #: The program in force (the old one while a bridge bolus runs).
        self.therapy = therapy
        #: (prescription, concentration) to switch to when the bridge bolus ends.
        self.bridge_to: tuple[Prescription, int] | None = None
        #: Strokes left in the bridge and the priming bolus (0: none running).
        self.bridge_left = 0
        self.prime_left = 0
        #: A priming bolus was started and its end is not yet logged.
        self.priming_open = False
        #: The bolus window [start, end) last logged as open, and its BolusKind.
        self.window: tuple[int, int] | None = None
        self.window_kind = 0

        # -- reservoir estimate: base_pl - (count - count_base) x stroke volume
        self.est_base_pl = reservoir_nl * PL_PER_NL
        self.count_base = 0
        #: Stroke counter at the last wake-up (it cannot move during one).
        self.last_count = 0

        # -- alarms
        self.low_nl = cfg.low_reservoir_nl
        self.low_pl = cfg.low_reservoir_nl * PL_PER_NL
        self.floor_pl = cfg.empty_floor_nl * PL_PER_NL
        #: Active alarms (AlarmId) and when each one's next tone is due, ms.
        self.alarm_due_ms: dict[int, int] = {}

        # -- delivery
        #: Why delivery is stopped: bit (AlarmId - 1) per alarm holding it; 0 = running.
        self.stop_mask = 0
        #: The stroke-timer program last given to the motor (None when stopped).
        self.program: MotorProgram | None = None
        #: Stroke-timer credit carried into the next program, in [0, stroke_cost).
        self.credit = 0
        #: When the low-reservoir alarm will be raised if nothing changes, ms, or NO_PREDICTION.
        self.predicted_low_ms = NO_PREDICTION

        # -- drug library (druglib)
        #: The drug's library entry.
        self.limits = limits
        #: When the daily dose was last raised, ms (-1: never).
        self.last_step_ms = -1

        # -- patient boluses (ptm)
        #: The patient bolus program (None: the patient has none).
        self.ptm = ptm
        #: Start times of the last max_per_day granted boluses, a ring (C: a fixed array); "a day before t = 0"
        #: when unused, so they count for neither lockout nor the 24-hour maximum.
        self.ptm_grants = [-MS_PER_DAY] * (ptm.max_per_day if ptm is not None else 1)
        #: The ring slot the next grant goes to (the oldest grant).
        self.ptm_next = 0
        #: The running patient bolus: its end (it adds its rate before it), rate (pL/day) and volume (nL, -1: none).
        self.ptm_end_ms = 0
        self.ptm_rate = 0
        self.ptm_volume_nl = -1

    def estimate_pl(self) -> int:
        """The reservoir estimate at the last stroke count read, pL (<= 10^11 in magnitude, plus a stroke)."""
        return self.est_base_pl - (self.last_count - self.count_base) * self.cfg.stroke_volume_pl

    def switch_therapy(self, rx: Prescription, conc_ng_per_ml: int, now_ms: int) -> None:
        """Run *rx* at *conc_ng_per_ml* from now on.

        A new concentration under the same prescription continues the same
        program (REQ-RX-007: a single bolus already given is not given again);
        a new prescription starts afresh now.
        """
        th = self.therapy
        if rx == th.rx and conc_ng_per_ml == th.conc_ng_per_ml:
            return
        start = th.start_ms if rx == th.rx else now_ms
        self.therapy = Therapy(rx, conc_ng_per_ml, start, self.cfg.min_rate_pl_per_day)
