"""Progress on standard error: lines when redirected, a bar on a terminal."""

from __future__ import annotations

import io

import pytest

from acexport import ExportProgress
from acexport._cli._output import Output
from acexport._cli._progress import Progress, duration, estimate


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
    # Half the file read for 10 rows: about 20 rows, 6 of them settled (5 exported, 1 invalid).
    assert text.startswith("\r 30% [###-------] 10 read, 5 exported, 1 invalid, 0s\x1b[K")
    assert text.endswith("\n")
    assert text.count("\n") == 1


def tick(received: int, exported: int, in_flight: int, invalid: int = 0) -> ExportProgress:
    return ExportProgress(
        received=received, exported=exported, duplicates=0, invalid=invalid, rejected=0,
        failed=0, in_flight=in_flight, requests=1, elapsed=1.0,
    )  # fmt: skip


def test_the_bar_counts_rows_settled_not_bytes_read() -> None:
    """The whole file read, 1,000 rows, 500 exported and 500 waiting: 50%, not 100%."""
    progress = Progress(
        Output(io.StringIO()), enabled=True, dry_run=False, fraction=lambda: 1.0,
        bulk_per_minute=100.0,
    )  # fmt: skip
    share, left = progress.outlook(tick(1000, 500, 500))
    assert share == 0.5
    # 500 rows left at 250 contacts x 100 imports a minute: 500 / 25,000 min = 1.2 s.
    assert left == pytest.approx(1.2)


def test_the_total_is_estimated_from_the_share_of_the_file_read() -> None:
    progress = Progress(
        Output(io.StringIO()), enabled=True, dry_run=False, fraction=lambda: 0.25,
        bulk_per_minute=2.0,
    )  # fmt: skip
    share, left = progress.outlook(tick(1000, 900, 0, invalid=100))
    assert share == pytest.approx(0.25)  # about 4,000 rows, 1,000 settled
    assert left == pytest.approx(3000 / (250 * 2.0) * 60)  # 6 minutes


def test_after_a_cancel_the_rows_read_are_all_there_is() -> None:
    cancelled = [False]
    progress = Progress(
        Output(io.StringIO()), enabled=True, dry_run=False, fraction=lambda: 0.1,
        bulk_per_minute=100.0, stopped=lambda: cancelled[0],
    )  # fmt: skip
    assert progress.outlook(tick(1000, 500, 500))[0] == pytest.approx(0.05)
    cancelled[0] = True
    assert progress.outlook(tick(1000, 500, 500)) == (0.5, pytest.approx(1.2))


def test_no_estimate_without_a_size_or_a_limit() -> None:
    stdin = Progress(Output(io.StringIO()), enabled=True, dry_run=False, fraction=lambda: None)
    assert stdin.outlook(tick(10, 5, 5)) == (None, None)
    unlimited = Progress(Output(io.StringIO()), enabled=True, dry_run=False, fraction=lambda: 1.0)
    assert unlimited.outlook(tick(10, 5, 5)) == (0.5, None)


def test_progress_line_shows_the_estimate() -> None:
    stream = io.StringIO()
    progress = Progress(
        Output(stream), enabled=True, dry_run=False, fraction=lambda: 0.5, bulk_per_minute=100.0
    )
    progress(tick(25000, 25000, 0))
    assert stream.getvalue().endswith(", 50% settled, about 1m 00s left\n")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.2, "1s"), (59, "59s"), (60, "1m 00s"), (3599, "59m 59s"), (7500, "2h 05m")],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_dry_run_estimate_at_the_client_limits() -> None:
    assert estimate(50_000, 100.0).startswith(
        "estimate: sending 50,000 contacts takes about 2m 00s at this client's limits "
        "(200 bulk imports of up to 250 at 100/min)"
    )
    assert "no bulk import limit" in estimate(10, None)
