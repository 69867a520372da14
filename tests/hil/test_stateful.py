"""A Hypothesis state machine drives a host-bench link through a faulty wire: the stroke counts always agree.

The host loads programs, runs, stops and advances the bench's clock over a
socket pair whose two directions drop, duplicate, reorder and corrupt frames
(hil.shaping). After every step the bench's stroke counter equals the host's
model of it (a :class:`pumpsim.plant.StrokeTimer` fed with the same programs),
and no request reached the bench's verbs twice: retries, duplicates and late
copies were all answered from the replay cache or refused as stale.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from firmware_model import MotorProgram
from hil.client import BenchClient
from hil.link import Response
from hil.protocol import Request
from hil.shaping import WireShape
from hil.testing import BenchPair, bench_pair
from pumpsim.engine.ports import PlantParams
from pumpsim.plant import StrokeTimer
from pumpsim.scenario import load_scenario
from pumpsim.units import MS_PER_DAY

pytestmark = [pytest.mark.hil, pytest.mark.timeout(300)]

STROKE_PL = 250_000
COST = STROKE_PL * MS_PER_DAY

_faults = st.fixed_dictionaries({
    "noise": st.sampled_from([0.0, 0.002]), "drop": st.sampled_from([0.0, 0.05]),
    "duplicate": st.sampled_from([0.0, 0.05]), "reorder": st.sampled_from([0.0, 0.05]),
    "seed": st.integers(0, 2**16),
})


class LinkMachine(RuleBasedStateMachine):
    pair: BenchPair
    client: BenchClient

    def __init__(self) -> None:
        super().__init__()
        self.model: StrokeTimer[MotorProgram] = StrokeTimer()
        self.acted: Counter[tuple[int, bytes]] = Counter()
        self._ctx: object = None

    @initialize(host=_faults, bench=_faults)
    def connect(self, host: dict[str, float], bench: dict[str, float]) -> None:
        ctx = bench_pair(host_shape=WireShape(**host), bench_shape=WireShape(**bench),  # type: ignore[arg-type]
                         timeout_s=0.02, retries=10)
        self.pair = ctx.__enter__()
        self._ctx = ctx
        responder = self.pair.bench_link.responder
        assert responder is not None

        def counting(req: Request) -> Response:
            self.acted[(req.seq, req.body())] += 1  # only requests that reach the verbs (not replays)
            return responder(req)

        self.pair.bench_link.responder = counting
        self.client = BenchClient(self.pair.link)
        self.client.hello("host")
        self.client.config(PlantParams.of(load_scenario("analytic")), 3)
        self.client.start()

    def teardown(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)  # type: ignore[attr-defined]

    @rule(n=st.integers(0, 40), period_ms=st.integers(1, 5_000))
    def run(self, n: int, period_ms: int) -> None:
        assert self.client.run(n, period_ms) == self.model.count
        self.model.load(MotorProgram(self.model.now_ms, n, 1, period_ms, 0))

    @rule(n=st.integers(0, 200), rate=st.integers(1, 10**10), credit=st.integers(0, COST - 1),
          later=st.lists(st.tuples(st.integers(1, MS_PER_DAY), st.integers(0, 10**10)), max_size=3))
    def prog(self, n: int, rate: int, credit: int, later: list[tuple[int, int]]) -> None:
        now = self.model.now_ms
        rows = tuple((now + t, r) for t, r in sorted({t: r for t, r in later}.items()))
        p = MotorProgram(now, n, rate, COST, credit, rows)
        self.client.load(p)
        self.model.load(p)

    @rule()
    def stop(self) -> None:
        assert self.client.stop() == self.model.count
        self.model.stop()

    @rule(dt_ms=st.integers(0, 3 * MS_PER_DAY))
    def advance(self, dt_ms: int) -> None:
        t = self.model.now_ms + dt_ms
        n = self.client.advance(t)
        self.model.advance(t)
        assert n == self.model.count

    @rule()
    def count(self) -> None:
        assert self.client.count() == self.model.count

    @invariant()
    def nothing_acted_twice(self) -> None:
        twice = [k for k, v in self.acted.items() if v > 1]
        assert not twice, f"acted on twice: {twice}"

    @invariant()
    def the_bench_agrees(self) -> None:
        plant = self.pair.server.plant
        if plant is not None:
            assert plant.strokes == self.model.count and plant.now_ms == self.model.now_ms


LinkMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=15, deadline=None)
test_link_under_faults_keeps_stroke_counts_in_agreement = LinkMachine.TestCase
