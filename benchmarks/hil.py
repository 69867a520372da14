"""HIL figures over a pseudo-terminal: round trip, frames per second, virtual-time speed, real-time lateness.

The bench is ``pumpsim hil emulate bench`` in its own process (as a bench
team runs it), the host a :class:`hil.Link` in this one, the GIL switch
interval set as in the ``pumpsim hil`` commands. Each figure has a baseline
measured in the same run:

* round trip: a process that answers each line on a pty with the same line,
  read with pyserial (the pty and the two processes, without the protocol);
* virtual time: ``pumpsim.simulate`` of the same scenario in this process
  (the engine without the link);
* real-time lateness: a bare ``simpy.rt.RealtimeEnvironment`` stepping every
  0.25 s in this process (the pacing without the link and the firmware).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from typing import Any

import numpy as np
import serial
import simpy.rt

import pumpsim
from hil.cli import SWITCH_INTERVAL_S
from hil.clock import Pacer
from hil.firmware_side import FirmwareSession
from hil.link import Link
from hil.testing import spawn
from hil.verbs import Role
from pumpsim.units import MS_PER_S, S_PER_DAY

#: A process that offers a raw pty and answers each line with the same line (the round-trip floor).
_ECHO = textwrap.dedent("""
    import os, sys, tty
    master, slave = os.openpty()
    tty.setraw(slave)
    print(os.ttyname(slave), flush=True)
    buf = b""
    while True:
        data = os.read(master, 4096)
        buf += data
        while b"\\n" in buf:
            line, buf = buf.split(b"\\n", 1)
            os.write(master, line + b"\\n")
""")
PING = b"$1 PING*8C6F\r\n"


def _ms(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max())}


def raw_pty_rtt(n: int) -> dict[str, float]:
    """Round trips of a PING-sized line through a pty to an echoing process (no protocol)."""
    proc = subprocess.Popen([sys.executable, "-c", _ECHO], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = serial.Serial(proc.stdout.readline().strip(), timeout=2)
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            port.write(PING)
            if port.read_until(b"\n") != PING:
                raise RuntimeError("the echo process lost a line")
            samples.append(time.perf_counter() - t)
        port.close()
    finally:
        proc.kill()
        proc.wait()
    return _ms(samples)


def bench_link(n_rtt: int, n_pipelined: int) -> dict[str, Any]:
    """PING round trips one at a time, then pipelined STATUS requests, to ``pumpsim hil emulate bench``."""
    with spawn("hil", "emulate", "bench") as bench, Link.to_url(bench.path) as link:
        link.call("HELLO", {"VERSION": 1, "ROLE": "host", "SESSION": "b3nch"})
        for _ in range(200):  # warm up
            link.call("PING")
        before = len(link.stats.rtt)
        t = time.perf_counter()
        for _ in range(n_rtt):
            link.call("PING")
        sequential_s = time.perf_counter() - t
        rtt = link.stats.rtt.percentiles_ms(since=before)
        t = time.perf_counter()
        link.call_many([("STATUS", {})] * n_pipelined)
        pipelined_s = time.perf_counter() - t
    return {"pings": n_rtt, "rtt_p50_ms": rtt["p50_ms"], "rtt_p99_ms": rtt["p99_ms"], "rtt_max_ms": rtt["max_ms"],
            "sequential_frames_per_s": 2 * n_rtt / sequential_s, "pipelined_requests": n_pipelined,
            "pipelined_frames_per_s": 2 * n_pipelined / pipelined_s}


def virtual_time(name: str) -> dict[str, Any]:
    """A whole scenario in virtual time over the pty, against the engine alone in this process."""
    sc = pumpsim.load_scenario(name)
    t = time.perf_counter()
    ref = pumpsim.simulate(sc)
    engine_s = time.perf_counter() - t
    with spawn("hil", "emulate", "bench") as bench, Link.to_url(bench.path) as link:
        session = FirmwareSession(sc, link, role=Role.HOST, port_name=bench.path, warn=None)
        t = time.perf_counter()
        out = session.run()
        hil_s = time.perf_counter() - t
    days = out.summary["simulated_s"] / S_PER_DAY
    return {"scenario": name, "days": days, "complete": out.complete,
            "identical_summary": out.summary == ref.summary, "requests": out.hil["link"]["requests_tx"],
            "hil_s": hil_s, "engine_s": engine_s, "device_days_per_s": days / hil_s,
            "device_year_s": hil_s * 365 / days, "ratio_to_engine": hil_s / engine_s,
            "frames_per_s": (out.hil["link"]["frames_tx"] + out.hil["link"]["frames_rx"]) / hil_s}


def bare_realtime_lateness(seconds: float) -> dict[str, float]:
    """Lateness of a bare RealtimeEnvironment stepping every 0.25 s (no link, no firmware)."""
    env = simpy.rt.RealtimeEnvironment(factor=1 / MS_PER_S, strict=False)
    pacer_step_ms = Pacer(1.0).poll_ms
    late: list[float] = []

    def step(env: simpy.rt.RealtimeEnvironment):  # type: ignore[no-untyped-def]
        t0 = time.monotonic()
        while True:
            yield env.timeout(pacer_step_ms)
            late.append(max(0.0, time.monotonic() - t0 - env.now / MS_PER_S))

    env.process(step(env))
    env.sync()
    env.run(until=int(seconds * MS_PER_S))
    return _ms(late)


def realtime(name: str, minutes: float) -> dict[str, Any]:
    """*minutes* of *name* at speed 1 over the pty: the lateness of every stop."""
    sc = pumpsim.load_scenario(name)
    with spawn("hil", "emulate", "bench") as bench, Link.to_url(bench.path) as link:
        session = FirmwareSession(sc, link, role=Role.HOST, clock="realtime", speed=1.0,
                                  duration_ms=round(minutes * 60 * MS_PER_S), port_name=bench.path, warn=None)
        out = session.run()
    late = out.hil["lateness"]
    return {"scenario": name, "minutes": minutes, "complete": out.complete, "stops": late["samples"],
            "lateness_p50_ms": late["p50_ms"], "lateness_p99_ms": late["p99_ms"], "lateness_max_ms": late["max_ms"],
            "late_stops": late["late_stops"], "rtt_p99_ms": out.hil["link"]["rtt_p99_ms"],
            "simulated_days": out.summary["simulated_s"] / S_PER_DAY, "wall_s": out.hil["wall_s"]}


def run(quick: bool, realtime_minutes: float) -> dict[str, Any]:
    """All HIL figures, printed as they come; returns them for latest.json."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    out: dict[str, Any] = {}
    n = 1000 if quick else 5000
    print(f"== HIL over a pty: round trip ({n} PINGs, one at a time), frames per second")
    raw = out["raw_pty"] = raw_pty_rtt(n)
    lk = out["link"] = bench_link(n, 2000 if quick else 10000)
    print(f"  protocol round trip  p50 {lk['rtt_p50_ms']:.3f} ms  p99 {lk['rtt_p99_ms']:.3f} ms  "
          f"max {lk['rtt_max_ms']:.2f} ms   (target p99 <= 2 ms)")
    print(f"  raw pty echo         p50 {raw['p50_ms']:.3f} ms  p99 {raw['p99_ms']:.3f} ms  "
          f"ratio p99 {lk['rtt_p99_ms'] / raw['p99_ms']:.2f}x")
    print(f"  frames per second    one at a time {lk['sequential_frames_per_s']:,.0f}, "
          f"pipelined (window 12) {lk['pipelined_frames_per_s']:,.0f}")
    name = "default"
    print(f"== HIL virtual time: the {name} scenario (a device-year) over a pty")
    v = out["virtual"] = virtual_time(name)
    print(f"  {v['days']:.0f} device-days in {v['hil_s']:.2f} s = {v['device_days_per_s']:.1f} device-days/s "
          f"(a device-year in {v['device_year_s']:.1f} s; target <= 60 s), {v['requests']:,} requests, "
          f"{v['frames_per_s']:,.0f} frames/s")
    print(f"  engine alone {v['engine_s'] * 1e3:.0f} ms: ratio {v['ratio_to_engine']:.0f}x; "
          f"summary identical {v['identical_summary']}")
    if realtime_minutes > 0:
        print(f"== HIL real time, speed 1: {realtime_minutes:g} minutes of the {name} scenario over a pty")
        bare = out["bare_realtime"] = bare_realtime_lateness(min(60.0, realtime_minutes * 60))
        r = out["realtime"] = realtime(name, realtime_minutes)
        print(f"  lateness p50 {r['lateness_p50_ms']} ms  p99 {r['lateness_p99_ms']} ms  max {r['lateness_max_ms']} ms"
              f" over {r['stops']} stops, {r['late_stops']} late (target p99 <= 2 ms); RTT p99 {r['rtt_p99_ms']} ms")
        print(f"  bare RealtimeEnvironment ({min(60.0, realtime_minutes * 60):g} s): p50 {bare['p50_ms']:.3f} ms  "
              f"p99 {bare['p99_ms']:.3f} ms; ratio p99 {(r['lateness_p99_ms'] or 0) / bare['p99_ms']:.2f}x")
    return out
