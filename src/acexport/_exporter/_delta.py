"""Incremental export, the pure half: what the state already holds, and what it must be told.

:class:`Delta` sits between the planner and the scheduler when an export has a state. Each
planned batch is compared, contact by contact, with the digests the state last *confirmed*
for those emails (one look-up per batch, made by the driver); a contact whose digest matches
is counted ``unchanged`` and not sent, the others are gathered into full batches again, so an
export where 1% changed still sends full batches of 250.

A contact's digest is the 16-byte BLAKE2b of exactly what the exporter sends for it (its
bulk-import JSON: email, names, phone, field values, tags, list, flags): any change to what
would be sent (a new value, another mapping, a new tag) changes the digest.

The scheduler records what the driver must write to the state as :data:`Effect` values
(:class:`Recorded` when a submit is answered, :class:`Settled` when a batch ends,
:class:`Confirmed` for the small path); :func:`save` writes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs

from .._core._bulk import BODY_EMPTY_LEN, BODY_EXCLUDE
from .._state import ListState, StoredRow
from ._pipeline import Batch, PlannedContact

__all__ = ["Confirmed", "Delta", "Effect", "Recorded", "Settled", "digest", "rows", "save"]

_blake2b = hashlib.blake2b


def digest(contact: PlannedContact) -> bytes:
    """What the state keeps of a contact: the BLAKE2b (16 bytes) of its bulk-import JSON, and
    of its customer key when it has one (so adding ``key=`` to a mapping sends every row once
    more, which records the keys)."""
    if contact.key is None:
        return _blake2b(contact.encoded, digest_size=16).digest()
    return _blake2b(contact.encoded + b"\x00key:" + contact.key.encode(), digest_size=16).digest()


def rows(contacts: Iterable[PlannedContact]) -> list[StoredRow]:
    return [StoredRow(c.email, digest(c), key=c.key) for c in contacts]


class Lookup(Protocol):
    """The state's confirmed digests by lowercased email: a dict, or a ConfirmedIndex."""

    def get(self, email: str, /) -> bytes | None: ...


class Delta:
    """Drops contacts the state confirmed as they are; re-batches the rest.

    ``emails(batch)`` is what to look up; ``add(batch, confirmed)`` takes the look-up's answer
    (lowercased email -> confirmed digest) and returns the batches now full; ``close()`` the
    last partial one. With ``full_refresh`` nothing is dropped (and nothing need be looked up).
    """

    def __init__(
        self, *, batch_size: int, max_bytes: int, exclude_automations: bool, full_refresh: bool
    ) -> None:
        self.full_refresh = full_refresh
        self.unchanged = 0
        self._batch_size = batch_size
        self._max_bytes = max_bytes
        self._exclude = exclude_automations
        self._empty = BODY_EMPTY_LEN + (len(BODY_EXCLUDE) if exclude_automations else 0)
        self._pending: list[PlannedContact] = []
        self._bytes = self._empty

    def emails(self, batch: Batch) -> list[str]:
        return [] if self.full_refresh else [c.email.lower() for c in batch]

    def add(self, batch: Batch, confirmed: Lookup) -> list[Batch]:
        if not batch.contacts:
            return []
        if confirmed:
            changed = [c for c in batch if confirmed.get(c.email.lower()) != digest(c)]
            self.unchanged += len(batch) - len(changed)
        else:
            changed = batch.contacts
        if not self._pending and len(changed) == len(batch):
            return [batch]  # nothing dropped, nothing waiting: the batch goes as planned
        out: list[Batch] = []
        for contact in changed:
            extra = len(contact.encoded) + (1 if self._pending else 0)  # and its comma
            if self._pending and self._bytes + extra > self._max_bytes:
                out.append(self._take())
                extra -= 1
            self._pending.append(contact)
            self._bytes += extra
            if len(self._pending) >= self._batch_size:
                out.append(self._take())
        return out

    def close(self) -> Batch | None:
        return self._take() if self._pending else None

    def _take(self) -> Batch:
        batch = Batch._trusted(self._pending, self._exclude, self._bytes)
        self._pending, self._bytes = [], self._empty
        return batch

    @property
    def waiting(self) -> Sequence[PlannedContact]:
        """Changed contacts gathered into the next batch, not yet handed on."""
        return self._pending


@attrs.frozen
class Recorded:
    """A submit was answered: the batch's rows are pending in it."""

    batch_id: str
    contacts: Sequence[PlannedContact]


@attrs.frozen
class Settled:
    """A batch ended; ``confirmed`` are the contacts that landed (none if it failed)."""

    batch_id: str
    confirmed: Sequence[PlannedContact]


@attrs.frozen
class Confirmed:
    """Contacts confirmed one by one (the small-export path)."""

    contacts: Sequence[PlannedContact]


Effect = Recorded | Settled | Confirmed


def save(state: ListState, effects: Iterable[Effect]) -> None:
    """Write ``effects`` to the state, in order (each write is one transaction)."""
    for effect in effects:
        if isinstance(effect, Recorded):
            state.record_batch(effect.batch_id, rows(effect.contacts))
        elif isinstance(effect, Settled):
            state.settle_batch(effect.batch_id, [c.email.lower() for c in effect.confirmed])
        else:
            state.record_confirmed(rows(effect.contacts))
