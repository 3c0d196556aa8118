"""What an exporter remembers between runs: the value types and the store protocols.

The store is an I/O edge, like the HTTP client: the exporter decides what to send by comparing
digests, and asks a :class:`StateStore` only "what did I last confirm for these emails?" and
tells it "this batch went out", "this batch ended". :class:`~acexport.SqliteState` is the
embedded implementation; anything with these methods can stand in for it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from .._exceptions import ConfigError

__all__ = [
    "DIGEST_SIZE",
    "ListState",
    "ListSummary",
    "OpenBatch",
    "ScanningListState",
    "StateStore",
    "StoredRow",
    "TrackedContact",
    "normalize_email",
]

DIGEST_SIZE = 16
"""Bytes in a row's digest (a BLAKE2b of exactly what the exporter sends for the contact)."""


def normalize_email(value: object) -> str:
    """An email as the state keys it, stripped and lowercased; ConfigError if empty or not text."""
    if not isinstance(value, str):
        raise ConfigError(f"an email must be a string, not {type(value).__name__}")
    email = value.strip().lower()
    if not email:
        raise ConfigError("an email must not be empty")
    return email


def _digest(value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise ConfigError(f"a digest must be bytes, not {type(value).__name__}")
    digest = bytes(value)
    if len(digest) != DIGEST_SIZE:
        raise ConfigError(f"a digest must be {DIGEST_SIZE} bytes, not {len(digest)}")
    return digest


def _key(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"a customer key must be a non-empty string or None, not {value!r}")
    return value


def _rows(value: Iterable[StoredRow]) -> tuple[StoredRow, ...]:
    return tuple(value)


@attrs.frozen
class StoredRow:
    """One contact as the state remembers it on one list.

    ``email`` is the contact's identity on the list: it is stripped and lowercased here, so
    ``StoredRow(" Ann@X.io ", d).email == "ann@x.io"``. ``digest`` is 16 bytes, a BLAKE2b of
    exactly what the exporter sends for the contact (the store never looks inside it).
    ``key`` is the customer's stable id (``FieldMapping(key=...)``), or None when the email is
    the identity. An empty email or a digest of another size raises
    :class:`~acexport.ConfigError`.
    """

    email: str = attrs.field(converter=normalize_email)
    digest: bytes = attrs.field(converter=_digest, repr=lambda d: d.hex())
    key: str | None = attrs.field(default=None, kw_only=True, converter=_key)


@attrs.frozen
class TrackedContact:
    """A contact the state confirmed on a list, as :meth:`ListState.tracked` gives it.

    ``contact_id`` is ActiveCampaign's id for it once an export learned it (else None);
    ``key`` the customer key it was last exported with (None without one).
    """

    email: str
    contact_id: int | None = None
    key: str | None = None


@attrs.frozen
class OpenBatch:
    """A bulk-import batch that was submitted and has not been settled yet.

    ``batch_id`` is ActiveCampaign's id for it, ``submitted_at`` the wall-clock time (epoch
    seconds) it was recorded, ``rows`` the contacts it carries (sorted by email).
    """

    batch_id: str
    submitted_at: float
    rows: tuple[StoredRow, ...] = attrs.field(converter=_rows)


@attrs.frozen
class ListSummary:
    """What the state holds for one list of one account (``acexport state PATH`` shows it).

    ``confirmed`` counts contacts with a confirmed digest, ``open_batches`` the batches not
    settled yet (a run that was killed leaves some). ``last_run`` is the mapping last given to
    :meth:`ListState.record_run`, with ``recorded_at`` (epoch seconds) added, or ``None``.
    """

    account: str
    list_id: int
    confirmed: int
    open_batches: int
    last_run: Mapping[str, Any] | None


@runtime_checkable
class ListState(Protocol):
    """The state of one (account, list), as :meth:`StateStore.open_list` opens it.

    Each method that writes is one transaction: it happens entirely or not at all, and once it
    returns it survives the process being killed and the machine losing power.
    """

    def confirmed(self, emails: Sequence[str]) -> dict[str, bytes]:
        """Lowercased email -> digest last confirmed, for those of ``emails`` that have one.

        Emails are matched stripped and case-insensitively. One query per call: pass chunks
        (the exporter passes 500-1,000 emails at a time).
        """
        ...

    def open_batches(self) -> list[OpenBatch]:
        """The batches recorded and not settled, oldest first."""
        ...

    def record_batch(self, batch_id: str, rows: Sequence[StoredRow]) -> None:
        """A bulk submit was answered: ``rows`` become pending in batch ``batch_id``.

        A confirmed digest the rows had before is kept until the batch settles. Recording a
        batch that is already open adds its rows to it (a row with the same email replaces the
        earlier one).
        """
        ...

    def settle_batch(self, batch_id: str, confirmed: Collection[str]) -> None:
        """Batch ``batch_id`` ended: its rows whose email is in ``confirmed`` become confirmed.

        The other rows drop their pending digest (a contact keeps the digest confirmed before,
        if any), and the batch is gone from :meth:`open_batches`. Settling a batch that is not
        open changes nothing.
        """
        ...

    def record_confirmed(self, rows: Sequence[StoredRow]) -> None:
        """``rows`` were confirmed without a bulk batch (the exporter's small-export path)."""
        ...

    def tracked(self, after: str, limit: int) -> list[TrackedContact]:
        """Up to ``limit`` confirmed contacts whose email sorts after ``after``, by email.

        Read the whole list in pages (``after=""``, then the last email of each page) so a list
        of millions is never loaded at once. Pending rows (in open batches) are not included.
        """
        ...

    def drop(self, emails: Collection[str]) -> None:
        """Forget the confirmed contacts with these emails (they left the list)."""
        ...

    def remember_contact_ids(self, ids: Mapping[str, int]) -> None:
        """Email -> ActiveCampaign contact id, for confirmed contacts (others are ignored)."""
        ...

    def emails_of_keys(self, keys: Collection[str]) -> dict[str, tuple[str, int | None]]:
        """Customer key -> (email, contact id or None) confirmed for it, for those of ``keys``
        that the state holds. One query per call, like :meth:`confirmed`."""
        ...

    def move(self, old_email: str, new_email: str, contact_id: int | None) -> None:
        """A contact's email changed in place: its confirmed row moves to ``new_email``
        (replacing any row of that email) and remembers ``contact_id``. Its digest is kept, so
        the row with the new address is sent again."""
        ...

    def record_run(self, summary: Mapping[str, Any]) -> None:
        """Remember a run's summary (JSON values; datetimes are stored as ISO text).

        The store keeps the last 20 runs of each list.
        """
        ...

    def close(self) -> None:
        """Release the list (and its lock, if opened for writing). Calling it again is a no-op."""
        ...


@runtime_checkable
class ScanningListState(ListState, Protocol):
    """A :class:`ListState` that can also hand over all its confirmed digests at once.

    Optional: an exporter whose list state has these reads the confirmed digests into memory
    once (about 24 bytes per contact) instead of asking per batch, when there are at most
    a few million of them. :class:`~acexport.SqliteState`'s lists have them.
    """

    def count_confirmed(self) -> int:
        """How many contacts of the list have a confirmed digest."""
        ...

    def scan_confirmed(self, chunk: int = 10_000) -> Iterator[list[tuple[str, bytes]]]:
        """Every (lowercased email, confirmed digest), ``chunk`` at a time."""
        ...


@runtime_checkable
class StateStore(Protocol):
    """Where exporters remember, per account and list, what they sent and what was confirmed."""

    @property
    def location(self) -> str:
        """Where the state lives, for messages (a file path; never a password)."""
        ...

    def open_list(self, account: str, list_id: int, *, write: bool) -> ListState:
        """Open the state of list ``list_id`` of ``account`` (the API base URL).

        ``write=True`` locks the list for this exporter: another writer of the same list, in
        this process or another, gets :class:`~acexport.ConfigError` at once. The lock dies
        with its process. ``write=False`` (dry runs) takes no lock and never writes.
        """
        ...

    def summaries(self) -> list[ListSummary]:
        """One summary per list the state holds, by account then list id."""
        ...

    def forget(self, email: str) -> int:
        """Erase one person (matched stripped, case-insensitively) from every list.

        Returns how many rows were removed (confirmed and pending).
        """
        ...

    def close(self) -> None:
        """Close the store and every list opened from it. Calling it again is a no-op."""
        ...
