"""Progress on standard error: a bar redrawn in place on a terminal, else a line a second.

The bar counts rows *settled* (exported, duplicate, invalid, rejected or failed), not bytes
read: the file is read well ahead of what is sent. The total is estimated from the share of
the file read so far (exact once it is all read; unknown on standard input), and the time
left from the client's bulk import budget: each import carries up to 250 contacts, so rows
left / (250 x bulk imports per minute) minutes.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable

from .._core._limits import BULK_MAX_CONTACTS
from .._report import ExportProgress
from ._output import Output

__all__ = ["CONTACTS_PER_IMPORT", "Progress", "counts", "duration", "estimate"]

CONTACTS_PER_IMPORT = BULK_MAX_CONTACTS


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


def settled(p: ExportProgress) -> int:
    return p.exported + p.duplicates + p.invalid + p.rejected + p.failed


def duration(seconds: float) -> str:
    """``45s``, ``3m 20s``, ``2h 05m``."""
    seconds = max(0, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def sending_time(rows: float, bulk_per_minute: float) -> float:
    """Seconds to send ``rows`` contacts at ``bulk_per_minute`` full bulk imports a minute."""
    return rows / (CONTACTS_PER_IMPORT * bulk_per_minute) * 60.0


def estimate(rows: int, bulk_per_minute: float | None) -> str:
    """What ``--dry-run`` says about the real export's length at the client's limits."""
    if bulk_per_minute is None:
        return (
            f"estimate: the client has no bulk import limit; sending {rows:,} contacts takes "
            "as long as ActiveCampaign takes to accept them"
        )
    imports = math.ceil(rows / CONTACTS_PER_IMPORT)
    return (
        f"estimate: sending {rows:,} contacts takes about "
        f"{duration(sending_time(rows, bulk_per_minute))} at this client's limits "
        f"({imports:,} bulk import{'s' if imports != 1 else ''} of up to {CONTACTS_PER_IMPORT} "
        f"at {bulk_per_minute:g}/min), "
        "plus ActiveCampaign's processing of the last imports"
    )


class Progress:
    """``on_progress``: a bar redrawn in place on a terminal, else a line at most every second."""

    def __init__(
        self,
        stream: Output,
        *,
        enabled: bool,
        dry_run: bool,
        fraction: Callable[[], float | None],
        bulk_per_minute: float | None = None,
        stopped: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._dry_run = dry_run
        self._fraction = fraction
        self._bulk_per_minute = bulk_per_minute
        self._stopped = stopped
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

    def outlook(self, p: ExportProgress) -> tuple[float | None, float | None]:
        """The share of rows settled (0 to 1) and the seconds left, each None when unknown.

        Once the export is cancelled (``stopped``), the rows read so far are all there is.
        """
        fraction = 1.0 if self._stopped() else self._fraction()
        if not fraction or not p.received:
            return None, None
        total = max(p.received / fraction, p.received)
        done = settled(p)
        share = min(1.0, done / total)
        if self._dry_run or self._bulk_per_minute is None:
            return share, None
        return share, sending_time(max(0.0, total - done), self._bulk_per_minute)

    def _draw(self, progress: ExportProgress) -> None:
        share, left = self.outlook(progress)
        if self.tty:
            bar = ""
            if share is not None:
                filled = int(share * 10)
                bar = f"{share:4.0%} [{'#' * filled}{'-' * (10 - filled)}] "
            eta = f"~{duration(left)} left, " if left is not None else ""
            width = max(20, shutil.get_terminal_size().columns - 1)
            line = bar + eta + _short_counts(progress, self._dry_run)
            self._stream.control("\r")
            self._stream.write(line[:width])
            self._stream.control("\x1b[K")
            self._open_line = True
        else:
            tail = ""
            if share is not None:
                tail = f", {share:.0%} settled"
                tail += f", about {duration(left)} left" if left is not None else ""
            self._stream.write(f"progress: {counts(progress, self._dry_run)}{tail}\n")
        self._stream.flush()

    def close(self) -> None:
        """Draw the final counts on a terminal and end the bar's line."""
        if self.tty and self._latest is not None:
            self._draw(self._latest)
        if self._open_line:
            self._stream.write("\n")
            self._stream.flush()
            self._open_line = False
