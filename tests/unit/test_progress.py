"""pumpsim.progress: a tqdm bar on a terminal, nothing elsewhere, on when forced, off when told."""

from __future__ import annotations

import io
import os
import sys

import pytest

from pumpsim.progress import is_terminal, progress_bar


def test_silent_when_the_stream_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """enabled=None on a file-like stream, or on stderr captured by pytest: nothing is written."""
    buf = io.StringIO()
    with progress_bar(10, desc="sweep", unit="runs", stream=buf) as bar:
        bar.update(3)
        bar.update_to(10)
        assert not bar.shown and bar.n == 0
    assert buf.getvalue() == ""
    with progress_bar(10, desc="sweep", unit="runs") as bar:  # the default stream: sys.stderr, captured here
        bar.update(10)
    assert capsys.readouterr().err == ""


def test_shown_when_forced() -> None:
    """enabled=True draws on any stream: description, count/total, unit; update_to sets the count."""
    buf = io.StringIO()
    with progress_bar(10, desc="sweep", unit="runs", enabled=True, initial=4, stream=buf) as bar:
        assert bar.shown and bar.n == 4
        bar.update(2)
        bar.update_to(9)
        assert bar.n == 9
        bar.update_to(10)
    text = buf.getvalue()
    assert "sweep" in text and "10/10" in text and "runs" in text and text.endswith("\n")


def test_off_when_told_even_on_a_terminal() -> None:
    """enabled=False (--no-progress) writes nothing, also to a terminal."""
    with _pty() as (stream, read):
        with progress_bar(5, desc="sweep", unit="runs", enabled=False, stream=stream) as bar:
            bar.update(5)
        assert read() == b""


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_shown_on_a_terminal_by_default() -> None:
    """enabled=None on a real terminal (a pty) draws the bar."""
    with _pty() as (stream, read):
        assert is_terminal(stream)
        with progress_bar(5, desc="sweep", unit="runs", stream=stream) as bar:
            bar.update(5)
        assert b"5/5" in read()


def test_write_prints_a_line_with_or_without_a_bar() -> None:
    """write() prints its line whether or not a bar is drawn."""
    for enabled in (False, True):
        buf = io.StringIO()
        with progress_bar(2, desc="sweep", unit="runs", enabled=enabled, stream=buf) as bar:
            bar.write("pumpsim: interrupted")
        assert "pumpsim: interrupted\n" in buf.getvalue()


def test_is_terminal_is_false_for_odd_streams() -> None:
    """Closed streams and objects without isatty are not terminals."""
    closed = io.StringIO()
    closed.close()
    assert not is_terminal(closed) and not is_terminal(io.StringIO())
    assert is_terminal(sys.stderr) == sys.stderr.isatty()


class _pty:
    """A pseudo-terminal: the slave side as a text stream, and a function that reads what reached the master."""

    def __enter__(self) -> tuple[io.TextIOWrapper, object]:
        if not hasattr(os, "openpty"):
            pytest.skip("needs a pseudo-terminal")
        import fcntl
        import struct
        import termios

        self.master, slave = os.openpty()
        # A new pty is 0 x 0; give it the size of a real terminal window (24 rows, 80 columns).
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.stream = open(slave, "w", encoding="utf-8")  # closed in __exit__

        def read() -> bytes:
            self.stream.flush()
            os.set_blocking(self.master, False)
            got = b""
            while True:
                try:
                    chunk = os.read(self.master, 65536)
                except BlockingIOError:
                    return got
                if not chunk:
                    return got
                got += chunk

        return self.stream, read

    def __exit__(self, *exc: object) -> None:
        self.stream.close()
        os.close(self.master)
