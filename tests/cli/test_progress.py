"""Progress on standard error: lines when redirected, a bar on a terminal."""

from __future__ import annotations

import io

from acexport import ExportProgress
from acexport._cli._output import Output
from acexport._cli._progress import Progress


def test_progress_lines_are_rate_limited() -> None:
    stream = io.StringIO()
    now = [0.0]
    progress = Progress(
        Output(stream), enabled=True, dry_run=False, fraction=lambda: None, clock=lambda: now[0]
    )
    tick = ExportProgress(
        received=10, exported=5, duplicates=1, invalid=1, rejected=0, failed=0,
        in_flight=3, requests=2, elapsed=0.5,
    )  # fmt: skip
    for t in (0.0, 0.3, 0.9, 1.0, 1.5, 2.2):
        now[0] = t
        progress(tick)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # at 0.0, 1.0 and 2.2
    assert lines[0] == (
        "progress: 10 read, 5 exported, 1 duplicates, 1 invalid, 0 rejected, 0 failed, "
        "3 in flight, 0.5s"
    )


def test_progress_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(Output(stream), enabled=True, dry_run=False, fraction=lambda: 0.5)
    tick = ExportProgress(
        received=10, exported=5, duplicates=0, invalid=1, rejected=0, failed=0,
        in_flight=0, requests=2, elapsed=0.5,
    )  # fmt: skip
    progress(tick)
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\r 50% [#####-----] 10 read, 5 exported, 1 invalid, 0s")
    assert text.endswith("\n")
    assert text.count("\n") == 1
