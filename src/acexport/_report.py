"""What an export returns: :class:`ExportReport`, with the first :class:`RowError` objects and a
count of every reason a row was not exported.

:class:`RowErrors` is the one collector every not-exported row goes through (invalid rows
from the planner, rejected and failed ones from the scheduler): it keeps at most
:data:`MAX_ERRORS` of them, the ones with the lowest indexes, counts every one by reason
(at most :data:`MAX_REASONS` distinct reasons, the rest under :data:`OTHER_REASON`) and hands
each to ``on_error`` as it is settled. Its memory is bounded whatever the input.
"""

from __future__ import annotations

import heapq
import html
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import attrs

__all__ = [
    "MAX_ERRORS",
    "MAX_REASONS",
    "OTHER_REASON",
    "CallbackFailed",
    "ExportProgress",
    "ExportReport",
    "RemovalError",
    "RowError",
    "RowErrorKind",
    "RowErrors",
    "reason_group",
]

#: The most :class:`RowError` objects a report keeps (those with the lowest indexes).
MAX_ERRORS = 10_000
#: The most distinct reasons :attr:`ExportReport.reasons` counts; the rest go under "other".
MAX_REASONS = 100
#: The key of :attr:`ExportReport.reasons` for reasons past :data:`MAX_REASONS`.
OTHER_REASON = "other"

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
    #: The profile as given (the object the iterable yielded), only in the errors passed to
    #: ``on_error``; None in :attr:`ExportReport.errors`, so a report holds no input rows.
    profile: object = attrs.field(default=None, eq=False, repr=False)


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

    Always ``received == exported + unchanged + duplicates + invalid + rejected + failed``.
    ``errors`` holds a :class:`RowError` per invalid, rejected or failed row, in index order, up
    to :data:`MAX_ERRORS` (10,000) of them: those with the lowest indexes. ``errors_omitted``
    says how many more there were (``errors_truncated`` is True then), so always
    ``len(errors) + errors_omitted == invalid + rejected + failed``. Pass ``on_error=`` to the
    exporter to see every one.

    - ``reasons``: how many rows were not exported for each reason, most frequent first (the
      values add up to ``invalid + rejected + failed``). Values inside a reason are taken out
      (``email's domain '…' has no top-level domain``, ``batch # ended failed``) so that alike
      rows count together; past :data:`MAX_REASONS` (100) distinct reasons the rest are
      counted under ``"other"``.

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
    - ``notes``: what looks like a mistake without being any row's fault, said once the input
      ended: a mapped key or attribute that none of the profiles read had (a misspelt column
      name, whose values would otherwise all be left out without a word). Also logged as
      warnings; ``summary()`` shows them.
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
    reasons: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    errors_omitted: int = 0
    notes: tuple[str, ...] = ()

    @property
    def removal_failed(self) -> int:
        """Leavers whose removal failed (``len(removal_errors)``)."""
        return len(self.removal_errors)

    @property
    def ok(self) -> bool:
        """True when no row was invalid, rejected or failed."""
        return not (self.invalid or self.rejected or self.failed)

    @property
    def errors_truncated(self) -> bool:
        """True when ``errors`` does not list every row not exported (see ``errors_omitted``)."""
        return self.errors_omitted > 0

    def top_reasons(self, n: int = 5) -> list[tuple[str, int]]:
        """The ``n`` most frequent reasons with their counts, most frequent first."""
        return sorted(self.reasons.items(), key=lambda item: (-item[1], item[0]))[:n]

    def summary(self) -> str:
        """A line of counts, e.g. for a log or a terminal; when rows were not exported, a
        line more for each of the top five reasons (``  email has no @: 1204``); a line
        ``note: ...`` for each of ``notes``."""
        prefix = "dry run: would export" if self.dry_run else "exported"
        unchanged = f"{self.unchanged} unchanged, " if self.incremental else ""
        line = (
            f"{prefix} {self.exported} of {self.received} profiles to list {self.list_id}: "
            f"{unchanged}{self.duplicates} duplicates, {self.invalid} invalid, "
            f"{self.rejected} rejected, {self.failed} failed "
            f"({self.requests} requests, {self.elapsed:.1f}s)" + self._leavers_summary()
        )
        notes = [f"\nnote: {note}" for note in self.notes]
        top = self.top_reasons()
        if not top:
            return "".join([line, *notes])
        more = len(self.reasons) - len(top)
        tail = [f"\n  ... and {more} other reasons"] if more > 0 else []
        reasons = (f"\n  {reason}: {count}" for reason, count in top)
        return "".join([line, *reasons, *tail, *notes])

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
        reasons = ""
        top = self.top_reasons()
        if top:
            body = "".join(
                f"<tr><td>{count}</td><td>{html.escape(reason)}</td></tr>" for reason, count in top
            )
            more = len(self.reasons) - len(top)
            tail = f"<p>… and {more} other reasons</p>" if more > 0 else ""
            reasons = (
                "<table><thead><tr><th>rows</th><th>reason</th></tr></thead>"
                f"<tbody>{body}</tbody></table>{tail}"
            )
        shown = self.errors[:10]
        errors = ""
        if shown:
            body = "".join(
                f"<tr><td>{e.index}</td><td>{html.escape(e.email or '')}</td>"
                f"<td>{e.kind}</td><td>{html.escape(e.reason)}</td></tr>"
                for e in shown
            )
            more = len(self.errors) + self.errors_omitted - len(shown)
            tail = f"<p>… and {more} more errors</p>" if more else ""
            if self.errors_omitted:
                tail += (
                    f"<p>the report lists the first {len(self.errors)} errors; "
                    f"{self.errors_omitted} more were counted, not kept (use on_error)</p>"
                )
            errors = (
                "<table><thead><tr><th>index</th><th>email</th><th>kind</th><th>reason</th>"
                f"</tr></thead><tbody>{body}</tbody></table>{tail}"
            )
        notes = "".join(f"<p>note: {html.escape(note)}</p>" for note in self.notes)
        return (
            f"<div><strong>ExportReport</strong><table>{rows}</table>{reasons}{errors}{notes}</div>"
        )


# Values inside a reason, taken out so that alike rows count together: quoted values
# ('x.com', "it's"), addresses, hex bytes and numbers.
_QUOTED = re.compile(r"""(?<!\w)(?:'[^'\n]*'|"[^"\n]*")(?!\w)""")
_ADDRESS = re.compile(r"[^\s'\"<>(),;:]+@[^\s'\"<>(),;:]+")
_NUMBER = re.compile(
    r"(?<![\w.-])(?:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}"
    r"|0x[0-9a-fA-F]+|\d[\d,]*(?:\.\d+)?)(?![\w])"
)
_GROUP_CUT = 200
_GROUP_CACHE = 4096


def reason_group(reason: str) -> str:
    """The key :attr:`ExportReport.reasons` counts ``reason`` under: the reason with the values
    in it replaced (quoted values by ``'…'``, addresses by ``…@…``, numbers and ids by ``#``)."""
    text = _QUOTED.sub("'…'", reason)
    text = _ADDRESS.sub("…@…", text)
    text = _NUMBER.sub("#", text)
    return text if len(text) <= _GROUP_CUT else text[: _GROUP_CUT - 1] + "…"


class CallbackFailed(Exception):
    """``on_error`` raised: the export stops (the exporter raises ``ExportError`` from it)."""


class RowErrors:
    """Every row not exported goes through here: at most ``limit`` :class:`RowError` objects kept
    (the lowest indexes, whatever order they are settled in), every one counted by reason, and
    each passed to ``on_error`` once, as it is settled.

    If ``on_error`` raises, the exception is kept in :attr:`failure` (as the cause of a
    :class:`CallbackFailed`) and ``on_error`` is not called again; the export checks
    :attr:`failure` and stops. Memory: ``limit`` errors plus ``max_reasons`` reasons.
    """

    __slots__ = (
        "_groups",
        "_heap",
        "failure",
        "limit",
        "max_reasons",
        "omitted",
        "on_error",
        "reasons",
        "total",
    )

    def __init__(
        self,
        *,
        limit: int = MAX_ERRORS,
        max_reasons: int = MAX_REASONS,
        on_error: Callable[[RowError], Any] | None = None,
    ) -> None:
        if limit < 0 or max_reasons < 1:
            raise ValueError("limit must be >= 0 and max_reasons >= 1")
        self.limit = limit
        self.max_reasons = max_reasons
        self.on_error = on_error
        self.failure: CallbackFailed | None = None
        self.total = 0
        self.omitted = 0
        self.reasons: dict[str, int] = {}
        # A max-heap on index (as (-index, tie, error)) of the errors kept.
        self._heap: list[tuple[int, int, RowError]] = []
        self._groups: dict[str, str] = {}

    def add(
        self,
        index: int,
        email: str | None,
        kind: RowErrorKind,
        reason: str,
        profile: object = None,
    ) -> None:
        """Settle one row as not exported."""
        self.total += 1
        group = self._groups.get(reason)
        if group is None:
            if len(self._groups) >= _GROUP_CACHE:
                self._groups.clear()
            group = self._groups[reason] = reason_group(reason)
        reasons = self.reasons
        if group in reasons:
            reasons[group] += 1
        elif len(reasons) < self.max_reasons - 1 or (
            len(reasons) < self.max_reasons and OTHER_REASON in reasons
        ):
            reasons[group] = 1
        else:
            reasons[OTHER_REASON] = reasons.get(OTHER_REASON, 0) + 1
        heap = self._heap
        if len(heap) < self.limit:
            heapq.heappush(heap, (-index, self.total, RowError(index, email, kind, reason)))
        elif heap and index < -heap[0][0]:
            heapq.heapreplace(heap, (-index, self.total, RowError(index, email, kind, reason)))
            self.omitted += 1
        else:
            self.omitted += 1
        callback = self.on_error
        if callback is not None and self.failure is None:
            try:
                callback(RowError(index, email, kind, reason, profile))
            except Exception as exc:
                self.failure = CallbackFailed(f"on_error raised {_describe(exc)}")
                self.failure.__cause__ = exc

    def kept(self) -> tuple[RowError, ...]:
        """The errors kept, in index order."""
        return tuple(e for _, _, e in sorted(self._heap, key=lambda item: (-item[0], item[1])))

    # Read as a sequence, it is the errors kept, in index order (``total`` counts them all).
    def __iter__(self) -> Iterator[RowError]:
        return iter(self.kept())

    def __getitem__(self, i: int) -> RowError:
        return self.kept()[i]

    def __len__(self) -> int:
        return len(self._heap)

    def __repr__(self) -> str:
        return f"RowErrors(total={self.total}, kept={len(self._heap)}, omitted={self.omitted})"


def _describe(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
