"""A bench run's record: OpenHTF's JSON test record, kept current while the run goes, and JUnit XML.

* ``record.json`` is OpenHTF's test record as its JSON output writes it
  (``openhtf.output.callbacks.json_factory``): outcome, phases, measurements
  with units, limits (validators) and outcome, logs, metadata. While the run
  goes, :class:`Journal` rewrites it after every change OpenHTF announces
  (the station server's subscription, ``TestState.asdict_with_event``), with
  ``"outcome": null``, ``"status": "RUNNING"`` and ``"running_phase"``; so a
  run killed outright (SIGKILL, power loss) leaves the record of what it had
  done, valid JSON. Every write is atomic (a temporary file and a rename).
* ``junit.xml`` (:func:`junit_xml`) has one test case per phase run, for CI
  systems: a failed measurement is a ``<failure>`` naming the value, unit and
  limit; an error or timeout an ``<error>``; a skipped phase ``<skipped>``;
  every measurement is listed in ``<system-out>``. It is written at the end
  of the run (after an error, a timeout or Ctrl-C too), not while it goes.

OpenHTF has no JUnit output of its own, hence :func:`junit_xml`.
"""

from __future__ import annotations

import json
import math
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from openhtf.output.callbacks import json_factory
from openhtf.util import data

from pumpsim.fileio import write_text_atomic

RECORD = "record.json"
JUNIT = "junit.xml"
#: The journal writes at most this often (seconds); the final record is written in any case.
JOURNAL_EVERY_S = 0.2


def record_dict(test_record: Any) -> dict[str, Any]:
    """OpenHTF's JSON form of a test record (NaN and infinities as strings, as its JSON output does)."""
    out: dict[str, Any] = json_factory.convert_test_record_to_json(test_record, inline_attachments=False)
    return out


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    """*record* as strict JSON (NaN and infinities as strings, as OpenHTF's JSON output writes them)."""
    safe = data.convert_to_base_types(record, json_safe=True)
    write_text_atomic(path, json.dumps(safe, indent=1, default=str, allow_nan=False) + "\n")


class Journal:
    """Keeps ``record.json`` current while a test runs (see the module docs); :meth:`stop` ends it."""

    def __init__(self, path: Path, state_of: Callable[[], Any]) -> None:
        self.path = path
        self._state_of = state_of
        self._stop = threading.Event()
        self.writes = 0
        self._thread = threading.Thread(target=self._loop, name="bench-journal", daemon=True)

    def start(self) -> Journal:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        state = None
        while state is None:  # the test state exists once execute() has started the executor
            if self._stop.wait(0.01):
                return
            state = self._state_of()
        while not self._stop.is_set():
            snapshot, changed = state.asdict_with_event()
            self._write(snapshot)
            if snapshot["status"] == "COMPLETED":
                return
            changed.wait(1.0)
            self._stop.wait(JOURNAL_EVERY_S)

    def _write(self, snapshot: Mapping[str, Any]) -> None:
        rec = dict(snapshot["test_record"])
        rec["outcome"] = None
        rec["status"] = snapshot["status"]
        running = snapshot.get("running_phase_state")
        rec["running_phase"] = running["name"] if running else None
        try:
            write_record(self.path, rec)
            self.writes += 1
        except (OSError, TypeError, ValueError):
            pass  # a snapshot that cannot be written now is written at the next change or at the end


# ---------------------------------------------------------------- JUnit


def _value(m: Mapping[str, Any]) -> str:
    v = m.get("measured_value")
    if isinstance(v, float) and math.isfinite(v):
        v = f"{v:.6g}"
    units = m.get("units") or {}
    suffix = units.get("suffix") if isinstance(units, Mapping) else None
    return f"{v}{' ' + suffix if suffix else ''}"


def _line(name: str, m: Mapping[str, Any]) -> str:
    limits = ", ".join(str(v) for v in m.get("validators") or []) or "no limit"
    return f"{name} = {_value(m)} [{limits}] {m.get('outcome')}"


def _seconds(rec: Mapping[str, Any]) -> str:
    start, end = rec.get("start_time_millis") or 0, rec.get("end_time_millis") or 0
    return f"{max(0, end - start) / 1000:.3f}"


def _phase_case(suite: ET.Element, classname: str, phase: Mapping[str, Any]) -> str:
    case = ET.SubElement(suite, "testcase", classname=classname, name=str(phase.get("name")), time=_seconds(phase))
    measurements: Mapping[str, Mapping[str, Any]] = phase.get("measurements") or {}
    outcome = str(phase.get("outcome"))
    failed = [_line(n, m) for n, m in measurements.items() if m.get("outcome") != "PASS"]
    if outcome == "FAIL":
        ET.SubElement(case, "failure", type="FAIL", message="; ".join(failed) or "phase failed").text = \
            "\n".join(failed)
    elif outcome == "ERROR":
        result = phase.get("result") or {}
        text = str(result.get("phase_result") or result)
        ET.SubElement(case, "error", type="ERROR", message=text[:500]).text = text
    elif outcome == "SKIP":
        ET.SubElement(case, "skipped")
    ET.SubElement(case, "system-out").text = "\n".join(_line(n, m) for n, m in measurements.items())
    return outcome


def junit_xml(record: Mapping[str, Any], *, properties: Mapping[str, str] | None = None) -> str:
    """The JUnit XML of a bench record (see the module docs)."""
    name = str(record.get("metadata", {}).get("test_name", "bench"))
    root = ET.Element("testsuites", name="pumpsim hil bench")
    suite = ET.SubElement(root, "testsuite", name=name, hostname=str(record.get("station_id", "")),
                          timestamp=time.strftime("%Y-%m-%dT%H:%M:%S",
                                                  time.localtime((record.get("start_time_millis") or 0) / 1000)),
                          time=_seconds(record))
    props = ET.SubElement(suite, "properties")
    for k, v in {"dut_id": str(record.get("dut_id")), "outcome": str(record.get("outcome")),
                 **(properties or {})}.items():
        ET.SubElement(props, "property", name=k, value=v)
    counts = {"FAIL": 0, "ERROR": 0, "SKIP": 0}
    phases = record.get("phases") or []
    for phase in phases:
        outcome = _phase_case(suite, f"bench.{name}", phase)
        if outcome in counts:
            counts[outcome] += 1
    tests = len(phases)
    run_outcome = record.get("outcome")
    if run_outcome in ("ERROR", "TIMEOUT", "ABORTED", None) and not counts["ERROR"]:
        # The run itself ended badly (a timeout, Ctrl-C, a plug that could not open its port): say so.
        details = "; ".join(f"{d.get('code')}: {d.get('description')}" for d in record.get("outcome_details") or [])
        case = ET.SubElement(suite, "testcase", classname=f"bench.{name}", name="(run)", time=_seconds(record))
        ET.SubElement(case, "error", type=str(run_outcome or "INCOMPLETE"),
                      message=details or str(run_outcome or "the run did not finish")).text = details
        counts["ERROR"] += 1
        tests += 1
    for el in (root, suite):
        el.set("tests", str(tests))
        el.set("failures", str(counts["FAIL"]))
        el.set("errors", str(counts["ERROR"]))
        el.set("skipped", str(counts["SKIP"]))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: Path, record: Mapping[str, Any], *, properties: Mapping[str, str] | None = None) -> None:
    write_text_atomic(path, junit_xml(record, properties=properties))


# ---------------------------------------------------------------- console


def summary_lines(record: Mapping[str, Any]) -> list[str]:
    """What ``pumpsim hil bench`` prints: each phase's outcome and measurements, then the run's outcome."""
    lines = []
    for phase in record.get("phases") or []:
        lines.append(f"{phase.get('name'):<14} {phase.get('outcome'):<6} {_seconds(phase):>8} s")
        for name, m in (phase.get("measurements") or {}).items():
            lines.append(f"    {_line(name, m)}")
    details = "; ".join(f"{d.get('code')}: {d.get('description')}" for d in record.get("outcome_details") or [])
    lines.append(f"outcome   {record.get('outcome') or 'INCOMPLETE'}{'  (' + details + ')' if details else ''}")
    return lines
