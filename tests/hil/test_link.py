"""The link layer: replies by SEQ, the replay cache, error replies, retries, NAKs, reconnection, ports."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.emulators import BenchEmulator
from hil.endpoint import Dispatcher
from hil.link import Link, LinkDown, LinkTimeout, PeerError
from hil.plant_server import PlantServer
from hil.ports import FdPort, PortError, open_url
from hil.protocol import FrameParser, Reply, crc16, frame, request_frame
from hil.verbs import Role

pytestmark = [pytest.mark.hil, pytest.mark.timeout(60)]


class RawPeer:
    """The far end of a socket pair, driven byte by byte by the test."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(2.0)
        self.parser = FrameParser()
        self.pending: list[object] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, n: int = 1) -> list[object]:
        """The next *n* parsed frames."""
        while len(self.pending) < n:
            self.pending += self.parser.feed(self.sock.recv(4096))
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def raw_reply(self) -> bytes:
        """The next frame's bytes exactly as sent."""
        buf = b""
        while not buf.endswith(b"\r\n"):
            buf += self.sock.recv(1)
        return buf


@pytest.fixture
def bench_link() -> Iterator[tuple[RawPeer, PlantServer, Link]]:
    """A bench (PlantServer behind a Link) whose peer is a raw socket."""
    a, b = socket.socketpair()
    server = PlantServer(keep_acted=True)
    fd = b.detach()
    link = Link(lambda: FdPort(fd, name="bench"), responder=Dispatcher(Role.BENCH, server), reconnect_s=0).start()
    try:
        yield RawPeer(a), server, link
    finally:
        link.close()
        a.close()


def _hello(peer: RawPeer) -> None:
    peer.send(request_frame(1, "HELLO", {"VERSION": 1, "ROLE": "host", "SESSION": "t1"}))
    (r,) = peer.read()
    assert isinstance(r, Reply) and r.ok, r


def _start(peer: RawPeer) -> None:
    _hello(peer)
    cfg = {"STROKE_PL": 250000, "CAL_ERROR": 0.0, "STROKE_CV": 0.0, "SEED": 1, "RESERVOIR_NL": 20_000_000,
           "FILL_NL": 20_000_000, "CONC_NG_PER_ML": 500_000, "DEAD_NL": 234_000, "PRIMED": True}
    peer.send(request_frame(2, "CONFIG", cfg))
    peer.send(request_frame(3, "START"))
    assert [r.ok for r in peer.read(2) if isinstance(r, Reply)] == [True, True]


def test_a_retried_request_gets_the_same_reply_byte_for_byte_and_is_not_acted_on_twice(
        bench_link: tuple[RawPeer, PlantServer, Link]) -> None:
    """REQ-HIL-001."""
    peer, server, link = bench_link
    _start(peer)
    run = request_frame(4, "RUN", {"N": 10, "PERIOD_MS": 1000})
    peer.send(run)
    first = peer.raw_reply()
    peer.send(run)
    assert peer.raw_reply() == first
    assert sum(a.startswith("RUN") for a in server.counts.acted) == 1
    assert link.stats.replays == 1


def test_the_same_seq_with_another_body_is_a_new_request(bench_link: tuple[RawPeer, PlantServer, Link]) -> None:
    peer, _server, _ = bench_link
    _start(peer)
    peer.send(request_frame(4, "ADVANCE", {"T_MS": 5000}))
    peer.send(request_frame(4, "ADVANCE", {"T_MS": 9000}))
    replies = peer.read(2)
    assert [r.values()["T_MS"] for r in replies if isinstance(r, Reply)] == ["5000", "9000"]


def test_a_late_duplicate_older_than_the_cache_is_refused_stale(bench_link: tuple[RawPeer, PlantServer, Link]) -> None:
    peer, server, link = bench_link
    _start(peer)
    old = request_frame(4, "RUN", {"N": 1, "PERIOD_MS": 10})
    peer.send(old)
    peer.read()
    for seq in range(5, 25):
        peer.send(request_frame(seq, "COUNT"))
    peer.read(20)
    peer.send(old)
    (r,) = peer.read()
    assert isinstance(r, Reply) and not r.ok and r.code == "STALE"
    assert sum(a.startswith("RUN") for a in server.counts.acted) == 1 and link.stats.stale == 1


def test_bad_crc_and_bad_frames_get_seq_0_errors_and_the_next_frame_is_answered(
        bench_link: tuple[RawPeer, PlantServer, Link]) -> None:
    peer, server, link = bench_link
    peer.send(b"$1 PING*0000\r\n")
    peer.send(b"$" + b"X" * 300)
    peer.send(b"\r\n" + request_frame(2, "PING"))
    replies = peer.read(3)
    assert [(r.seq, r.ok, r.code) for r in replies if isinstance(r, Reply)] == [
        (0, False, "BADCRC"), (0, False, "BADFRAME"), (2, True, "")]
    assert (link.stats.crc_errors, link.stats.frame_errors) == (1, 1)
    assert server.counts.acted == []


@pytest.mark.parametrize(("body", "code"), [
    ("5 DANCE", "UNKNOWN"), ("5 ping", "UNKNOWN"), ("5 TELEM CMD=priming", "UNKNOWN"),  # a firmware-side verb
    ("5 COUNT", "STATE"),  # before HELLO
    ("5 HELLO VERSION=2 ROLE=host", "VERSION"), ("5 HELLO VERSION=1 ROLE=bench", "BADARG"),
    ("5 HELLO VERSION=1", "BADARG"), ("5 PING X=1", "BADARG"), ("5 PING junk", "BADARG"),
])
def test_requests_that_cannot_be_served_get_their_error(bench_link: tuple[RawPeer, PlantServer, Link], body: str,
                                                        code: str) -> None:
    peer, _, _ = bench_link
    peer.send(frame(body.encode()))
    (r,) = peer.read()
    assert isinstance(r, Reply) and (r.seq, r.ok, r.code) == (5, False, code), r


def test_argument_errors_name_the_key_value_and_unit(bench_link: tuple[RawPeer, PlantServer, Link]) -> None:
    peer, _, _ = bench_link
    _start(peer)
    peer.send(request_frame(9, "ADVANCE", {"T_MS": "soon"}))
    peer.send(request_frame(10, "ADVANCE", {"T_MS": -5}))
    peer.send(request_frame(11, "ADVANCE", {"T_MS": 10}))
    peer.send(request_frame(12, "ADVANCE", {"T_MS": 5}))
    texts = [(r.code, r.text) for r in peer.read(4) if isinstance(r, Reply)]
    assert texts[0] == ("BADARG", "T_MS=soon: expected an integer ms")
    assert texts[1][0] == "BADARG" and "T_MS=-5: expected 0.." in texts[1][1]
    assert texts[2] == ("", "")
    assert texts[3][0] == "STATE" and "forward" in texts[3][1]


def _silent_peer(sock: socket.socket, answer_after: int, nak_first: bool = False) -> threading.Thread:
    """A peer that ignores the first *answer_after* copies of each request (NAKing the first), then answers OK."""
    def loop() -> None:
        p = FrameParser()
        seen: dict[int, int] = {}
        with sock:
            while True:
                try:
                    data = sock.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                for o in p.feed(data):
                    if isinstance(o, Reply):
                        continue
                    n = seen[o.seq] = seen.get(o.seq, 0) + 1
                    if n == 1 and nak_first:
                        sock.sendall(b"$0 ERR BADCRC*" + b"%04X" % crc16(b"0 ERR BADCRC") + b"\r\n")
                    elif n > answer_after:
                        sock.sendall(frame(f"{o.seq} OK".encode()))
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def _client(sock: socket.socket, timeout_s: float, retries: int) -> Link:
    fd = sock.detach()
    return Link(lambda: FdPort(fd, name="client"), timeout_s=timeout_s, retries=retries, reconnect_s=0).start()


def test_a_timeout_resends_the_same_frame_then_gives_up() -> None:
    a, b = socket.socketpair()
    _silent_peer(b, answer_after=2)
    with _client(a, 0.05, 4) as link:
        assert link.call("PING").ok
        assert (link.stats.timeouts, link.stats.retries) == (2, 2)
    a, b = socket.socketpair()
    _silent_peer(b, answer_after=100)
    with _client(a, 0.02, 3) as link, pytest.raises(LinkTimeout, match="after 4 tries"):
        link.call("PING")


def test_a_nak_from_the_peer_resends_at_once() -> None:
    a, b = socket.socketpair()
    _silent_peer(b, answer_after=1, nak_first=True)
    with _client(a, 5.0, 2) as link:
        t = time.monotonic()
        assert link.call("PING").ok
        assert time.monotonic() - t < 1.0  # not the 5 s timeout
        assert link.stats.naks_rx == 1 and link.stats.retries == 1


def test_peer_errors_raise_with_code_and_text() -> None:
    with BenchEmulator() as bench, Link.to_url(bench.path) as link:
        with pytest.raises(PeerError) as e:
            link.call("COUNT")
        assert e.value.code == "STATE" and "HELLO" in e.value.text


def test_unplug_and_replug_reconnects_and_the_request_completes(tmp_path: Path) -> None:
    """The pty is closed (EIO on the client's read) and reopened at the same path; the call goes through."""
    with BenchEmulator(link_path=tmp_path / "bench") as bench, \
            Link.to_url(bench.path, timeout_s=0.05, retries=3, reconnect_s=5) as link:
        assert link.call("PING").ok
        bench.pty.unplug()
        threading.Timer(0.3, bench.pty.replug).start()
        time.sleep(0.1)
        assert link.call("PING").ok
        assert link.stats.disconnects >= 1 and link.stats.reconnects == 1


def test_a_port_that_does_not_come_back_is_a_link_down(tmp_path: Path) -> None:
    with BenchEmulator(link_path=tmp_path / "bench") as bench, \
            Link.to_url(bench.path, timeout_s=0.05, retries=3, reconnect_s=0.3) as link:
        bench.pty.unplug()
        time.sleep(0.05)
        with pytest.raises(LinkDown, match=r"not back within 0\.3 s"):
            link.call("PING")


@pytest.mark.parametrize(("url", "reason"), [
    ("/nonexistent/ttyUSB9", "no such device"),
    ("/etc/hostname", "not a serial device"),
    ("/tmp", "not a serial device"),
    ("bogus://x", "not a pyserial URL"),
])
def test_bad_ports_are_one_clear_line(url: str, reason: str) -> None:
    if not os.path.exists("/etc/hostname") and url == "/etc/hostname":
        pytest.skip("no /etc/hostname here")
    with pytest.raises(PortError) as e:
        open_url(url)
    assert str(e.value).startswith(f"--port {url}: {reason}") and "\n" not in str(e.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any device")
def test_a_port_without_permission_says_so(tmp_path: Path) -> None:
    p = tmp_path / "tty"
    p.write_text("")
    p.chmod(0)
    with pytest.raises(PortError, match="permission denied"):
        open_url(str(p))
