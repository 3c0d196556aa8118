"""Progress on standard error: a bar redrawn in place on a terminal, else a line a second."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from .._exporter._report import ExportProgress
from ._output import Output

__all__ = ["Progress", "counts"]


def counts(p: ExportProgress, dry_run: bool) -> str:
    return (
        f"{p.received:,} read, {p.exported:,} {'to export' if dry_run else 'exported'}, "
        f"{p.duplicates:,} duplicates, {p.invalid:,} invalid, {p.rejected:,} rejected, "
        f"{p.failed:,} failed, {p.in_flight:,} in flight, {p.elapsed:.1f}s"
    )


def _short_counts(p: ExportProgress, dry_run: bool) -> str:
    """The counts for a terminal line: zero error counts left out."""
    parts = [f"{p.received:,} read", f"{p.exported:,} {'to export' if dry_run else 'exported'}"]
    parts += [
        f"{count:,} {name}"
        for count, name in (
            (p.duplicates, "dup"),
            (p.invalid, "invalid"),
            (p.rejected, "rejected"),
            (p.failed, "failed"),
            (p.in_flight, "pending"),
        )
        if count
    ]
    return ", ".join(parts) + f", {p.elapsed:.0f}s"


class Progress:
    """``on_progress``: a bar redrawn in place on a terminal, else a line at most every second."""

    def __init__(
        self,
        stream: Output,
        *,
        enabled: bool,
        dry_run: bool,
        fraction: Callable[[], float | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._dry_run = dry_run
        self._fraction = fraction
        self._clock = clock
        self.tty = enabled and stream.isatty()
        self._interval = 0.1 if self.tty else 1.0
        self._last: float | None = None
        self._latest: ExportProgress | None = None
        self._open_line = False

    def __call__(self, progress: ExportProgress) -> None:
        self._latest = progress
        if not self._enabled:
            return
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        self._draw(progress)

    def _draw(self, progress: ExportProgress) -> None:
        if self.tty:
            fraction = self._fraction()
            bar = ""
            if fraction is not None:
                filled = int(fraction * 10)
                bar = f"{fraction:4.0%} [{'#' * filled}{'-' * (10 - filled)}] "
            width = max(20, shutil.get_terminal_size().columns - 1)
            line = bar + _short_counts(progress, self._dry_run)
            self._stream.control("\r")
            self._stream.write(line[:width])
            self._stream.control("\x1b[K")
            self._open_line = True
        else:
            self._stream.write(f"progress: {counts(progress, self._dry_run)}\n")
        self._stream.flush()

    def close(self) -> None:
        """Draw the final counts on a terminal and end the bar's line."""
        if self.tty and self._latest is not None:
            self._draw(self._latest)
        if self._open_line:
            self._stream.write("\n")
            self._stream.flush()
            self._open_line = False
