"""A minimal device under test, written from docs/hil-protocol.md alone (it does not import hil).

It speaks protocol version 1 over any pyserial port as role ``dut``: frames with
CRC-16/CCITT-FALSE, SEQs 1..65535, the same bytes on a retry, SEQ-0 error
replies ignored. Its "firmware" is trivial: pump N strokes one every PERIOD_MS
with RUN, move the clock hour by hour with ADVANCE, read the counter, end.
tests/hil/test_doc_peer.py runs it against ``pumpsim hil serve``.
"""

from __future__ import annotations

import binascii
from typing import Any

import serial


def crc(body: bytes) -> int:
    return binascii.crc_hqx(body, 0xFFFF)  # poly 0x1021, init 0xFFFF ("Frames")


def frame(body: str) -> bytes:
    b = body.encode("ascii")
    return b"$" + b + b"*" + b"%04X" % crc(b) + b"\r\n"


class PeerError(Exception):
    pass


class MiniDut:
    """One side of a link: requests out, replies in (section "Timing, retries and the replay cache")."""

    def __init__(self, port: str | Any, timeout_s: float = 0.25, retries: int = 4) -> None:
        # A pyserial URL, or an open port-like object with read(n) (b"" on timeout) and write(bytes).
        self.port = serial.serial_for_url(port, timeout=timeout_s) if isinstance(port, str) else port
        self.retries = retries
        self.seq = 0
        self.buf = b""
        self.sent: list[bytes] = []
        self.last_reply = b""

    def next_seq(self) -> int:
        self.seq = self.seq % 65535 + 1  # 1..65535, 0 is for error replies
        return self.seq

    def read_frame(self) -> bytes | None:
        """The next body with a good CRC, or None on timeout; noise before "$" is skipped."""
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"\r\n", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0:
                content, self.buf = self.buf[start + 1:end], self.buf[end + 2:]
                if b"$" in content:  # a "$" restarts the frame
                    self.buf = content[content.rfind(b"$"):] + b"\r\n" + self.buf
                    continue
                body, _, check = content.rpartition(b"*")
                if len(check) == 4 and check.upper() == check and int(check, 16) == crc(body):
                    return body
                continue  # a damaged frame: drop it (a reply to it would carry SEQ 0 anyway)
            data = self.port.read(256)
            if not data:
                return None
            self.buf += data

    def call(self, verb: str, **args: object) -> dict[str, str]:
        """Send a request; return its OK reply's KEY=VALUE pairs, or raise PeerError for ERR."""
        body = " ".join([str(self.next_seq()), verb, *(f"{k}={v}" for k, v in args.items())])
        f = frame(body)
        for _ in range(self.retries + 1):
            self.port.write(f)  # a retry is the same bytes
            self.sent.append(f)
            while (reply := self.read_frame()) is not None:
                words = reply.decode("ascii").split(" ")
                if int(words[0]) != self.seq or words[1] not in ("OK", "ERR"):
                    continue  # an error reply with SEQ 0, a late reply, a request: not ours
                self.last_reply = reply
                if words[1] == "ERR":
                    raise PeerError(" ".join(words[2:]))
                return dict(w.split("=", 1) for w in words[2:])
        raise PeerError(f"no reply to {verb} after {self.retries + 1} tries")

    def send_raw(self, data: bytes) -> bytes | None:
        """Write bytes as they are; the next frame that comes back, whatever its SEQ."""
        self.port.write(data)
        return self.read_frame()


def run_dut(port: str | Any, config: dict[str, object], strokes: int, period_ms: int, hours: int) -> dict[str, object]:
    """A whole session against a plant; what the DUT saw (counts per hour, the plant's state at the end)."""
    dut = MiniDut(port)
    hello = dut.call("HELLO", VERSION=1, ROLE="dut", SESSION="d0c0peer")
    assert hello["VERSION"] == "1" and "PLANT" in hello["CAPS"].split(","), hello
    items = list(config.items())
    for i in range(0, len(items), 4):  # short frames: at most 200 body bytes
        dut.call("CONFIG", **dict(items[i:i + 4]))
    dut.call("START")
    dut.call("RUN", N=strokes, PERIOD_MS=period_ms)
    counts = []
    for h in range(1, hours + 1):
        counts.append(int(dut.call("ADVANCE", T_MS=h * 3_600_000)["N"]))
        assert int(dut.call("COUNT")["N"]) == counts[-1]
    # A damaged frame is answered with SEQ 0 and not acted on; a retry gets the same bytes back.
    bad = bytearray(frame(f"{dut.next_seq()} STOP"))
    bad[3] ^= 0x01
    damaged = dut.send_raw(bytes(bad))
    last = dut.last_reply
    again = dut.send_raw(dut.sent[-1])
    state = dut.call("STATE")
    dut.call("END", T_MS=hours * 3_600_000, COMPLETE=1)
    dut.port.close()
    return {"counts": counts, "damaged": damaged, "retry_same": again == last, "state": state}
