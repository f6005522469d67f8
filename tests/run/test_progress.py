"""Progress output: log lines with done/total and ETA when not on a terminal."""

from __future__ import annotations

import io
import re

from vbot.run.progress import Progress


def test_log_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(total=5, label="sweep", stream=out, interval=0.0)
    for _ in range(5):
        progress.advance()
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert re.fullmatch(r"sweep: 5/5, \d+/s, ETA 0s", lines[-1])
    assert lines[0].startswith("sweep: 1/5, ")


def test_quiet_prints_nothing() -> None:
    out = io.StringIO()
    progress = Progress(total=3, label="merge", stream=out, interval=0.0, enabled=False)
    progress.advance(3)
    assert out.getvalue() == ""
