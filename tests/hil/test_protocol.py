"""The wire format: CRC, frames, the incremental parser (with a fuzz test), values, frame sizes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from hil.protocol import (
    MAX_BODY,
    ErrorCode,
    FrameError,
    FrameParser,
    Reply,
    Request,
    crc16,
    err_frame,
    format_value,
    frame,
    ok_frame,
    parse_body,
    request_frame,
    seq_after,
    seq_age,
)
from hil.verbs import INT64_MAX, VERB_LIST, Arg, Kind, _value


def test_crc_is_ccitt_false() -> None:
    """CRC-16/CCITT-FALSE's published check value: "123456789" -> 0x29B1 (poly 0x1021, init 0xFFFF)."""
    assert crc16(b"123456789") == 0x29B1
    assert frame(b"1 PING") == b"$1 PING*%04X\r\n" % crc16(b"1 PING")


def test_a_frame_round_trips() -> None:
    f = request_frame(7, "ADVANCE", {"T_MS": 86_400_000})
    assert f.startswith(b"$7 ADVANCE T_MS=86400000*") and f.endswith(b"\r\n")
    assert FrameParser().feed(f) == [Request(7, "ADVANCE", ("T_MS=86400000",))]
    assert FrameParser().feed(ok_frame(7, {"N": 3})) == [Reply(7, True, ("N=3",))]
    assert FrameParser().feed(err_frame(7, "BADARG", "T_MS=x: expected an integer ms")) == [
        Reply(7, False, code="BADARG", text="T_MS=x: expected an integer ms")]


def test_frame_refuses_what_a_body_may_not_hold() -> None:
    for bad in (b"1 A$B", b"1 A*B", b"1 A\x07", b"1 " + b"A" * MAX_BODY):
        with pytest.raises(ValueError):
            frame(bad)


def test_error_text_is_cleaned_and_cut_to_fit() -> None:
    f = err_frame(0, "BADCRC", "star * dollar $ " + "x" * 400)
    (r,) = FrameParser().feed(f)
    assert isinstance(r, Reply) and r.code == "BADCRC" and "*" not in r.text and "$" not in r.text
    assert len(f) <= MAX_BODY + 8


def test_parser_skips_noise_and_reads_frames_split_anywhere() -> None:
    stream = b"boot noise\r\n" + request_frame(1, "PING") + b"\x00\xff" + request_frame(2, "COUNT")
    whole = FrameParser().feed(stream)
    p = FrameParser()
    bytewise = [o for i in range(len(stream)) for o in p.feed(stream[i:i + 1])]
    assert whole == bytewise == [Request(1, "PING"), Request(2, "COUNT")]
    assert p.skipped_bytes == len(b"boot noise\r\n") + 2


def test_a_dollar_restarts_the_frame() -> None:
    p = FrameParser()
    assert p.feed(b"$1 PIN" + request_frame(2, "PING")) == [Request(2, "PING")]
    assert p.truncated == 1


@pytest.mark.parametrize(("data", "code"), [
    (b"$1 PING*0000\r\n", ErrorCode.BADCRC),
    (b"$1 PING*" + b"%04x" % crc16(b"1 PING") + b"\r\n", ErrorCode.BADFRAME),  # lower-case hex
    (b"$1 PING\r\n", ErrorCode.BADFRAME),  # no CRC
    (frame(b"65536 PING"), ErrorCode.BADFRAME),  # SEQ out of range
    (frame(b"007 PING"), ErrorCode.BADFRAME),  # leading zeros
    (frame(b"1  PING"), ErrorCode.BADFRAME),  # double space
    (frame(b"1 PING "), ErrorCode.BADFRAME),  # trailing space
    (frame(b"1"), ErrorCode.BADFRAME),  # no word
    (b"$1 A\nB*" + b"%04X" % crc16(b"1 A\nB") + b"\r\n", ErrorCode.BADFRAME),  # bare LF inside
    (b"$1 A\x01*" + b"%04X" % crc16(b"1 A\x01") + b"\r\n", ErrorCode.BADFRAME),  # control byte, good CRC
])
def test_bad_frames_are_documented_errors_and_the_next_frame_is_read(data: bytes, code: str) -> None:
    out = FrameParser().feed(data + request_frame(9, "PING"))
    assert [type(o) for o in out] == [FrameError, Request]
    assert isinstance(out[0], FrameError) and out[0].code == code
    assert out[1] == Request(9, "PING")


def test_an_overlong_frame_is_refused_as_soon_as_it_is_too_long() -> None:
    p = FrameParser()
    out = p.feed(b"$1 X " + b"A" * 300)
    assert len(out) == 1 and isinstance(out[0], FrameError) and out[0].code == ErrorCode.BADFRAME
    assert p.feed(b"tail of it\r\n" + request_frame(2, "PING")) == [Request(2, "PING")]


def test_the_longest_body_is_accepted() -> None:
    body = b"1 X " + b"A" * (MAX_BODY - 4)
    assert len(body) == MAX_BODY
    assert FrameParser().feed(frame(body)) == [Request(1, "X", ("A" * (MAX_BODY - 4),))]


def test_seq_wraps_past_zero_and_ages_modulo() -> None:
    assert seq_after(65535) == 1 and seq_after(5) == 6
    assert seq_age(3, 65534) == 5 and seq_age(10, 10) == 0 and seq_age(10, 11) == 65535


# ------------------------------------------------------------------ fuzz

def _check_outcome(o: object) -> None:
    """Only the documented outcomes: a request or reply whose body re-encodes to a valid frame, or BADCRC/BADFRAME."""
    if isinstance(o, FrameError):
        assert o.code in (ErrorCode.BADCRC, ErrorCode.BADFRAME) and o.reason
    else:
        assert isinstance(o, Request | Reply)
        assert 0 <= o.seq <= 65535
        assert parse_body(o.body()) == o  # what was parsed is exactly one valid body


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_arbitrary_bytes_give_only_documented_outcomes(chunks: list[bytes]) -> None:
    p = FrameParser()
    for chunk in chunks:
        for o in p.feed(chunk):
            _check_outcome(o)


_printable = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="$*="),
                     min_size=1, max_size=12)
_requests = st.builds(lambda seq, verb, vals: request_frame(seq, verb, {f"K{i}": v for i, v in enumerate(vals)}),
                      st.integers(1, 65535), st.sampled_from(["PING", "COUNT", "ADVANCE", "PROG"]),
                      st.lists(_printable, max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.lists(_requests, min_size=1, max_size=6), st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=5),
                                                                       st.integers(0, 3)), max_size=6))
def test_mutated_streams_lose_only_the_frames_that_were_hit(frames: list[bytes], cuts: list[tuple[int, bytes, int]]) \
        -> None:
    """Noise inserted and bytes deleted anywhere: every frame left untouched is read, in order; nothing raises."""
    stream = bytearray(b"".join(frames))
    touched = bytearray(len(stream))  # 1 where a frame's own bytes were changed
    for pos, noise, delete in cuts:
        at = pos % (len(stream) + 1)
        if at < len(stream):
            touched[at] = 1
        if at > 0:
            touched[at - 1] = 1
        del stream[at:at + delete]
        del touched[at:at + delete]
        stream[at:at] = noise
        touched[at:at] = b"\x01" * len(noise)
    intact = []
    i = 0
    for f in frames:
        j = bytes(stream).find(f, i)
        if j >= 0 and not any(touched[j:j + len(f)]):
            intact.append(f)
            i = j + len(f)
    out = FrameParser().feed(bytes(stream))
    for o in out:
        _check_outcome(o)
    parsed = [frame(o.body()) for o in out if isinstance(o, Request)]
    it = iter(parsed)
    assert all(any(p == f for p in it) for f in intact), "an untouched frame was lost"


# ------------------------------------------------------------------ values

@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_cross_the_wire_exactly(x: float) -> None:
    text = format_value(x)
    assert _value(Arg("X", Kind.FLOAT, "nL", ""), text) == x
    assert math.copysign(1, float(text)) == math.copysign(1, x)


def test_values_that_cannot_be_sent_are_refused() -> None:
    for bad in (math.inf, math.nan, "two words", "a*b"):
        with pytest.raises(ValueError):
            format_value(bad)
    assert format_value(True) == "1" and format_value(None) == "NONE" and format_value(("A", "B")) == "A,B"


def _extreme(a: Arg) -> str:
    if a.kind in (Kind.INT, Kind.INT_OR_NONE):
        return str(a.lo if len(str(a.lo)) > len(str(a.hi)) else a.hi)
    if a.kind == Kind.FLOAT:
        return "-1.2345678901234567e-300"
    if a.kind == Kind.WORDS:
        return "CLOCK,MOTOR,SOUNDER,BATTERY,PLANT,FAULT,REC"
    if a.kind == Kind.SEGMENTS:
        return "988:500:0," * 5 + "988:500:0"
    if a.kind == Kind.WORD:
        return "periodic_bolus"
    return "1"


@pytest.mark.parametrize("verb", [v for v in VERB_LIST if v.name != "TELEM"], ids=lambda v: v.name)
def test_every_reply_and_request_fits_a_frame_at_its_extremes(verb: object) -> None:
    """Integers at int64 (or their bounds), floats at their longest text: still at most 200 bytes."""
    from hil.verbs import Verb
    assert isinstance(verb, Verb)
    args = [f"{a.key}={_extreme(a)}" for a in verb.args if a.hi <= INT64_MAX]
    reply = [f"{a.key}={_extreme(a)}" for a in verb.reply]
    per_frame = 4 if verb.any_of else len(args)  # CONFIG and FAULT go in frames of 4 arguments (BenchClient.config)
    for i in range(0, max(len(args), 1), max(per_frame, 1)):
        assert len(Request(65535, verb.name, tuple(args[i:i + per_frame])).body()) <= MAX_BODY, verb.name
    assert len(Reply(65535, True, tuple(reply)).body()) <= MAX_BODY, verb.name


def test_telemetry_commands_fit_a_frame_at_the_firmware_limits() -> None:
    """TELEM carries one command's keys; at 12-digit values (above any firmware limit) it still fits."""
    big = 10**12 - 1
    periodic = {"CMD": "reprogram", "MODE": "periodic_bolus", "DOSE_NG_PER_DAY": big, "BOLUS_NG": big,
                "BOLUS_DURATION_MS": big, "BOLUS_INTERVAL_MS": big, "BOLUS_START_MS": big}
    refill = {"CMD": "refill", "RESERVOIR_NL": big, "CONC_NG_PER_ML": big, "BRIDGE": True}
    for args in (periodic, refill):
        assert len(request_frame(65535, "TELEM", args)) <= MAX_BODY + 8
