"""What an export returns: :class:`ExportReport`, with a :class:`RowError` per row not exported."""

from __future__ import annotations

import html
from typing import Literal

import attrs

__all__ = ["ExportProgress", "ExportReport", "RemovalError", "RowError", "RowErrorKind"]

RowErrorKind = Literal["invalid", "rejected", "failed"]


@attrs.frozen
class RowError:
    """One profile that was not exported, and why.

    ``index`` is the profile's 0-based position in the iterable; ``email`` the address as given,
    cut to 254 characters (None when the profile had none; a non-string shown by its ``repr``).
    ``kind``: ``"invalid"`` (refused before sending), ``"rejected"`` (refused by
    ActiveCampaign) or ``"failed"`` (not delivered after the retries).
    """

    index: int
    email: str | None
    kind: RowErrorKind
    reason: str


@attrs.frozen
class RemovalError:
    """A leaver (``on_leave``) whose removal from the list failed: it stays tracked by the
    state and is tried again next run. ``email`` as the state keeps it (lowercased)."""

    email: str
    reason: str


@attrs.frozen
class ExportProgress:
    """Running counts, given to ``on_progress`` at least once per batch."""

    received: int
    exported: int
    duplicates: int
    invalid: int
    rejected: int
    failed: int
    in_flight: int
    requests: int
    elapsed: float
    unchanged: int = 0


@attrs.frozen
class ExportReport:
    """Every profile read, accounted for.

    Always ``received == exported + unchanged + duplicates + invalid + rejected + failed``, and
    ``errors`` holds one :class:`RowError` per invalid, rejected or failed row, in index order.

    - ``exported``: upserted into ActiveCampaign with its fields and tags and put on the list
      (a contact who had unsubscribed from the list stays unsubscribed: consent wins).
    - ``unchanged``: with a ``state``, a contact exactly as the state records it confirmed on
      the list, so not sent again (0 without a state; see ``incremental``).
    - ``duplicates``: a later profile with an email (compared case-insensitively) already seen
      in this export; the first occurrence wins. Not in ``errors``.
    - ``requests``: HTTP requests the export made (retries included); ``elapsed``: seconds.
    - ``dry_run``: nothing was sent; ``exported`` counts what would have been.
    - ``cancelled``: the export was cancelled; what had been read is still accounted for.
    - ``incremental``: the export compared every contact with a state (``unchanged`` applies).
    - ``removed`` (with ``on_leave``): leavers, contacts an earlier run put on the list that
      are not in this one, taken off (unsubscribed or untagged; a dry run counts who would
      be). ``removal_errors``: leavers whose removal failed, with the reason; they stay
      tracked and are tried next run. Leavers are not profiles of this run: outside the
      ``received`` sum.
    """

    list_id: int
    received: int = 0
    exported: int = 0
    duplicates: int = 0
    invalid: int = 0
    rejected: int = 0
    failed: int = 0
    errors: tuple[RowError, ...] = ()
    requests: int = 0
    elapsed: float = 0.0
    dry_run: bool = False
    cancelled: bool = False
    unchanged: int = 0
    incremental: bool = False
    removed: int = 0
    removal_errors: tuple[RemovalError, ...] = ()

    @property
    def removal_failed(self) -> int:
        """Leavers whose removal failed (``len(removal_errors)``)."""
        return len(self.removal_errors)

    @property
    def ok(self) -> bool:
        """True when no row was invalid, rejected or failed."""
        return not (self.invalid or self.rejected or self.failed)

    def summary(self) -> str:
        """One line of counts, e.g. for a log or a terminal."""
        prefix = "dry run: would export" if self.dry_run else "exported"
        unchanged = f"{self.unchanged} unchanged, " if self.incremental else ""
        return (
            f"{prefix} {self.exported} of {self.received} profiles to list {self.list_id}: "
            f"{unchanged}{self.duplicates} duplicates, {self.invalid} invalid, "
            f"{self.rejected} rejected, {self.failed} failed "
            f"({self.requests} requests, {self.elapsed:.1f}s)" + self._leavers_summary()
        )

    def _leavers_summary(self) -> str:
        if not (self.removed or self.removal_errors):
            return ""
        verb = "would remove" if self.dry_run else "removed"
        failed = f", {self.removal_failed} removals failed" if self.removal_errors else ""
        return f"; {verb} {self.removed} leavers{failed}"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{name}</th><td>{value}</td></tr>"
            for name, value in (
                ("list", self.list_id),
                ("received", self.received),
                ("exported" if not self.dry_run else "would export", self.exported),
                *((("unchanged", self.unchanged),) if self.incremental else ()),
                ("duplicates", self.duplicates),
                ("invalid", self.invalid),
                ("rejected", self.rejected),
                ("failed", self.failed),
                ("requests", self.requests),
                ("elapsed", f"{self.elapsed:.1f}s"),
            )
        )
        shown = self.errors[:10]
        errors = ""
        if shown:
            body = "".join(
                f"<tr><td>{e.index}</td><td>{html.escape(e.email or '')}</td>"
                f"<td>{e.kind}</td><td>{html.escape(e.reason)}</td></tr>"
                for e in shown
            )
            more = len(self.errors) - len(shown)
            tail = f"<p>… and {more} more errors</p>" if more else ""
            errors = (
                "<table><thead><tr><th>index</th><th>email</th><th>kind</th><th>reason</th>"
                f"</tr></thead><tbody>{body}</tbody></table>{tail}"
            )
        return f"<div><strong>ExportReport</strong><table>{rows}</table>{errors}</div>"
