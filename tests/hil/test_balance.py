"""The MT-SICS client, the emulated balance's interpreter and cell, and the pan's delivery curve.

The interpreter is driven with a fake clock and a load we choose (no port);
the client talks to a scripted port (replies we choose, faults included) and
to the real emulator over a pty.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import pumpsim
from hil.instruments import mtsics as m
from hil.instruments.balance import (
    Balance,
    BalanceGarbage,
    BalanceNotReady,
    BalanceRangeError,
    BalanceRefused,
    BalanceTimeout,
)
from hil.instruments.emulator import BalanceEmulator
from hil.instruments.pan import DeliveryCurve, resolution_ms
from hil.instruments.sics_server import SicsServer
from hil.instruments.weighing import BalanceParams, WeighingCell

pytestmark = [pytest.mark.hil, pytest.mark.timeout(60)]


# ---------------------------------------------------------------- the wire format


def test_replies_parse_and_garbage_is_refused() -> None:
    r = m.parse_reply(b"S S     100.00 g")
    assert (r.ident, r.status, r.fields) == ("S", "S", ("100.00", "g"))
    assert m.parse_weight(r) == (100.0, "g")
    assert m.parse_reply(b'I2 A "XS205DU Excellence 220.00000 g"').fields == ("XS205DU Excellence 220.00000 g",)
    assert m.parse_reply(b'I1 A "01" "1.00" "1.00" "" ""').fields == ("01", "1.00", "1.00", "", "")
    assert m.parse_reply(b"ES").general_error
    for junk, why in ((b"\xffS S 1 g", "not ASCII"), (b"S S \x07 1 g", "control"), (b"hello world", "ID and status"),
                      (b"S", "ID and status"), (b"S " + b"1" * 300, "302 bytes"), (b"   ", "empty")):
        with pytest.raises(m.ReplyError, match=why):
            m.parse_reply(junk)
    with pytest.raises(m.ReplyError, match="not a number"):
        m.parse_weight(m.parse_reply(b"S S 1.0.0 g"))


def test_weight_fields_are_ten_characters_right_aligned() -> None:
    """anchors §3.6: `S S     100.00 g` -- the value right-aligned in 10 characters, a space, the unit."""
    assert "S S " + m.weight_field(100.0, 2, "g") == "S S     100.00 g"
    assert m.weight_field(-0.000001, 5, "g") == "   0.00000 g"  # no "-0.00000"
    assert m.weight_field(-12.5, 5, "g") == " -12.50000 g"
    assert m.decimals_for(1e-5) == 5 and m.decimals_for(0.1) == 1 and m.decimals_for(1.0) == 0


# ---------------------------------------------------------------- the interpreter, on a fake clock


class Bench:
    """A SicsServer on a cell whose load is *load(t)*, with a clock the test moves."""

    def __init__(self, load: Callable[[float], float], **params: object) -> None:
        self.t = 0.0
        p = BalanceParams(repeatability_g=0.0, **params)  # type: ignore[arg-type]
        self.cell = WeighingCell(p, load)
        self.server = SicsServer(self.cell, lambda: self.t)

    def ask(self, line: str) -> list[str]:
        return self.server.handle(line.encode())

    def at(self, t: float) -> list[str]:
        self.t = t
        return self.server.poll()


def step(at_s: float, before: float, after: float) -> Callable[[float], float]:
    return lambda t: before if t < at_s else after


def test_s_waits_for_stability_si_does_not() -> None:
    """1 g lands at t = 1 s; settling 2 s: SI says D until t = 3 s; S asked at 1.5 s answers S at 3 s."""
    b = Bench(step(1.0, 0.0, 1.0))
    b.t = 1.5
    assert b.ask("SI") == ["S D    1.00000 g"]
    assert b.ask("S") == [] and b.server.busy
    assert b.at(2.9) == []
    assert b.at(3.01) == ["S S    1.00000 g"]
    assert not b.server.busy


def test_s_gives_up_after_the_stability_timeout_and_reset_cancels() -> None:
    moving = Bench(lambda t: t * 1e-3, stable_timeout_s=5.0)  # 1 mg/s: never stable
    moving.t = 10.0
    assert moving.ask("S") == []
    assert moving.at(14.9) == [] and moving.at(15.0) == ["S I"]
    assert moving.ask("S") == [] and moving.ask("@") == ['I4 A "1000000001"'] and not moving.server.busy
    assert moving.at(30.0) == []  # the cancelled S is never answered


def test_overload_underload_and_ranges() -> None:
    over = Bench(lambda t: 230.0)
    assert over.ask("SI") == ["S +"] and over.ask("S") == ["S +"]
    assert over.ask("Z") == ["Z +"] and over.ask("ZI") == ["ZI +"]
    under = Bench(lambda t: -10.0)  # pan lifted
    assert under.ask("SI") == ["S -"] and under.ask("T") == ["T -"]
    small = Bench(lambda t: 3.0)  # within the 2 % zero range of 220 g
    assert small.ask("Z") == ["Z A"] and small.ask("SI") == ["S S    0.00000 g"]


def test_tare_preset_and_clear() -> None:
    b = Bench(lambda t: 50.0)
    assert b.ask("T") == ["T S   50.00000 g"]
    assert b.ask("SI") == ["S S    0.00000 g"]
    assert b.ask("TA") == ["TA A   50.00000 g"]
    assert b.ask("TA 10 g") == ["TA A   10.00000 g"] and b.ask("SI") == ["S S   40.00000 g"]
    assert b.ask("TA 999 g") == ["TA L"] and b.ask("TA x g") == ["TA L"] and b.ask("TA 1 furlong") == ["TA L"]
    assert b.ask("TAC") == ["TAC A"] and b.ask("SI") == ["S S   50.00000 g"]
    assert b.ask("TI") == ["TI S   50.00000 g"]
    assert b.ask("@") == ['I4 A "1000000001"'] and b.ask("TA") == ["TA A    0.00000 g"]


def test_kern_answers_zero_and_tare_in_two_stages() -> None:
    b = Bench(step(1.0, 0.0, 1.0), two_stage=True, stable_timeout_s=1.0)
    b.t = 1.5  # not stable yet
    assert b.ask("Z") == ["Z A"]
    assert b.at(2.4) == []
    assert b.at(2.6) == ["Z E"]  # not stable within 1 s
    b.t = 10.0
    assert b.ask("Z") == ["Z A", "Z D"]
    assert b.ask("T") == ["T A", "T D"]
    far = Bench(lambda t: 100.0, two_stage=True)
    assert far.ask("Z") == ["Z A", "Z ^"]


def test_errors_listing_and_identity() -> None:
    b = Bench(lambda t: 0.0)
    assert b.ask("XYZ") == ["ES"] and b.ask("si") == ["ES"]
    assert b.ask("S 5") == ["EL"] and b.ask("I4 x") == ["EL"]
    assert b.ask("S\x01") == ["ET"]
    assert b.ask("") == []
    listing = b.ask("I0")
    emulated = [c for c in m.COMMANDS if c.emulated]
    assert len(listing) == len(emulated)
    assert all(x.startswith("I0 B ") for x in listing[:-1]) and listing[-1] == 'I0 A 2 "I10"'
    assert b.ask("I1") == ['I1 A "01" "1.00" "1.00" "" ""']
    assert b.ask("I2") == ['I2 A "pumpsim SM220 220.00000 g"']
    assert b.ask('D "HELLO"') == ["D A"] and b.ask('D "' + "x" * 21 + '"') == ["D L"] and b.ask("DW") == ["DW A"]
    assert b.ask('I10 "bench 3"') == ['I10 A "bench 3"'] and b.ask("I10") == ['I10 A "bench 3"']


def test_sir_streams_until_the_next_command() -> None:
    b = Bench(lambda t: 1.0, repeat_hz=10.0)
    assert b.ask("SIR") == ["S S    1.00000 g"]
    assert b.at(0.05) == [] and b.at(0.1) == ["S S    1.00000 g"] and b.at(0.2) == ["S S    1.00000 g"]
    assert b.ask("I4") == ['I4 A "1000000001"']
    assert b.at(1.0) == []


def test_noise_readability_units_drift() -> None:
    """Noise of sd 0.015 mg on a 10 g load, shown to 0.01 mg: the mean is 10 g and readings are whole digits;
    in mg the same; a drift of 3.6 mg/h adds 1 mg after 1000 s."""
    cell = WeighingCell(BalanceParams(), lambda t: 10.0, seed=3)
    values = [cell.reading(100.0).value for _ in range(2000)]
    assert all(v is not None and abs(v * 1e5 - round(v * 1e5)) < 1e-6 for v in values)
    mean = sum(v for v in values if v is not None) / len(values)
    assert mean == pytest.approx(10.0, abs=2e-6)
    in_mg = WeighingCell(BalanceParams(unit="mg", repeatability_g=0.0), lambda t: 1.5)
    assert in_mg.reading(0).value == pytest.approx(1500.0)
    drift = WeighingCell(BalanceParams(drift_g_per_h=3.6e-3, repeatability_g=0.0), lambda t: 0.0)
    assert drift.reading(1000.0).value == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="unit"):
        BalanceParams(unit="furlong")
    with pytest.raises(ValueError, match="model"):
        BalanceParams(model='with "quotes"')


# ---------------------------------------------------------------- the client on a scripted port


class ScriptedPort:
    """A port answering each command with the lines *script* gives (None: silence)."""

    def __init__(self, script: Callable[[str], list[bytes] | None]) -> None:
        self.script = script
        self.timeout: float | None = None
        self.buf = bytearray()
        self.sent: list[str] = []

    @property
    def is_open(self) -> bool:
        return True

    @property
    def in_waiting(self) -> int:
        return len(self.buf)

    def read(self, size: int = 1) -> bytes:
        if not self.buf:
            time.sleep(min(self.timeout or 0.0, 0.01))
            return b""
        out = bytes(self.buf[:size])
        del self.buf[:size]
        return out

    def write(self, data: bytes) -> int:
        cmd = data.decode().strip()
        self.sent.append(cmd)
        for line in self.script(cmd) or []:
            self.buf += line + b"\r\n"
        return len(data)

    def cancel_read(self) -> None:
        pass

    def close(self) -> None:
        pass


def scripted(script: Callable[[str], list[bytes] | None], **kw: object) -> tuple[Balance, ScriptedPort]:
    port = ScriptedPort(script)
    return Balance(port, name="bal", timeout_s=0.2, **kw), port  # type: ignore[arg-type]


def test_late_replies_are_never_taken_for_the_next_one() -> None:
    """A late 'T S' arrives with the reply to SI: skipped (counted), the SI reply used."""
    bal, _ = scripted(lambda c: [b"T S   1.00000 g", b"S D    2.00000 g"] if c == "SI" else None)
    r = bal.read()
    assert (r.status, r.value, r.unit, r.stable) == ("D", 2.0, "g", False) and bal.stale_lines == 1


def test_statuses_are_results_and_weight_g_is_strict() -> None:
    replies = {"SI": b"S +", "S": b"S -"}
    bal, _ = scripted(lambda c: [replies[c]])
    assert bal.read().status == "+" and not bal.read().is_weight
    with pytest.raises(BalanceRangeError, match="underload"):
        bal.weight_g()
    busy, _ = scripted(lambda c: [b"S I"])
    with pytest.raises(BalanceNotReady, match="not executable"):
        busy.weight_g()
    mg, _ = scripted(lambda c: [b"S S  1500.00 mg"])
    assert mg.weight_g() == pytest.approx(1.5)
    pcs, _ = scripted(lambda c: [b"S S        12 PCS"])
    with pytest.raises(Exception, match="not a mass unit"):
        pcs.weight_g()


def test_timeouts_garbage_and_general_errors_are_one_line() -> None:
    silent, _ = scripted(lambda c: None)
    with pytest.raises(BalanceTimeout, match=r"^bal: no reply to 'SI' within 0.2 s; is the balance on"):
        silent.read()
    noisy, _ = scripted(lambda c: [b"\xff\x13garbage"])
    with pytest.raises(BalanceGarbage, match="not ASCII"):
        noisy.read()
    for code in ("ES", "EL"):
        bal, _ = scripted(lambda c, code=code: [code.encode()])  # type: ignore[misc]
        with pytest.raises(BalanceRefused, match=code) as e:
            bal.read()
        assert e.value.code == code and "\n" not in str(e.value)


def test_a_transmission_error_is_retried() -> None:
    answers = iter([b"ET", b"S S    1.00000 g"])
    bal, port = scripted(lambda c: [next(answers)])
    assert bal.read().value == 1.0 and port.sent == ["SI", "SI"]
    always, _ = scripted(lambda c: [b"ET"])
    with pytest.raises(BalanceRefused, match="transmission"):
        always.read()


def test_kern_client_and_reset_reply_forms() -> None:
    stages = {"Z": [b"Z A", b"Z D"], "T": [b"T A", b"T ^"]}
    bal, _ = scripted(lambda c: stages[c], two_stage=True)
    assert bal.zero() is True
    with pytest.raises(BalanceRangeError):
        bal.tare()
    reset, _ = scripted(lambda c: [b'@ A "123456789"'])  # InstrumentKit's test fixture answers '@ A'
    assert reset.reset() == "123456789"


# ---------------------------------------------------------------- client and emulator over a pty


def test_client_and_emulator_over_a_pty() -> None:
    with BalanceEmulator(BalanceParams(vessel_g=2.5, settling_s=0.1)) as emu, Balance.open(emu.path) as bal:
        ident = bal.identity()
        assert (ident.level, ident.serial, ident.software_id, ident.model) == ("01", "1000000001", "PS0001A",
                                                                                "pumpsim SM220")
        assert ident.capacity == (220.0, "g")
        assert [c.name for c in bal.commands()] == [c.name for c in m.COMMANDS if c.emulated]
        assert bal.weight_g() == pytest.approx(2.5, abs=1e-4)
        assert bal.zero() is True and bal.weight_g() == pytest.approx(0.0, abs=1e-4)
        assert bal.tare(immediately=True).value == pytest.approx(0.0, abs=1e-4)
        bal.display("PUMP 1")
        assert bal.reset() == "1000000001"
        assert emu.server.counts.zeros == 1 and emu.server.counts.resets == 1


def test_the_emulator_understands_cr_only_and_answers_junk_when_told() -> None:
    with BalanceEmulator(garbage_at_s=0.0, garbage_for_s=60.0) as emu, Balance.open(emu.path, timeout_s=1) as bal:
        bal.port.write(b"I4\r")
        time.sleep(0.3)
        with pytest.raises(BalanceGarbage):
            bal.read()
        assert emu.garbage_replies >= 1


# ---------------------------------------------------------------- the pan


def test_the_pan_fills_stroke_by_stroke_as_the_scenario_delivers() -> None:
    """analytic: 0.25 uL strokes at 0.5 mL/day, no error: one stroke every 43.2 s. By 1 h: floor(3600/43.2) = 83
    strokes = 20.75 uL. The first stroke fires at 43.2 s; the curve's rows are 1 s apart and a stroke shows at the
    end of its row interval: nothing at 43.999 s, 0.25 uL at 44 s (off by less than a row, as documented)."""
    curve = DeliveryCurve.of(pumpsim.load_scenario("analytic"), duration_ms=2 * 3_600_000)
    assert curve.volume_ml_at(3_600_000) == pytest.approx(83 * 0.25e-3, rel=1e-9)
    assert curve.volume_ml_at(43_999) == 0.0
    assert curve.volume_ml_at(44_000) == pytest.approx(0.25e-3, rel=1e-9)
    assert curve.volume_ml_at(10 * 3_600_000) == curve.volume_ml_at(2 * 3_600_000)  # held after the end
    assert resolution_ms(86_400_000) == 1000 and resolution_ms(365 * 86_400_000) == 60_000
    assert resolution_ms(30 * 365 * 86_400_000) > 60_000


def test_the_emulated_pan_runs_the_scenario_speed_times_faster() -> None:
    """At x3600 one wall second is one simulated hour: 20.75 mg at 1 g/mL (83 strokes); 20.7085 mg at 0.998."""
    curve = DeliveryCurve.of(pumpsim.load_scenario("analytic"), duration_ms=2 * 3_600_000)
    emu = BalanceEmulator(curve=curve, speed=3600, density_g_per_ml=0.998,
                          params=BalanceParams(vessel_g=10.0, evaporation_g_per_h=3.6e-3))
    try:
        assert emu.load_g(1.0) == pytest.approx(10.0 + 0.998 * 83 * 0.25e-3 - 1e-6, rel=1e-12)
    finally:
        emu.close()
