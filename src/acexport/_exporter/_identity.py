"""Identity keys (``FieldMapping(key=...)``): a customer whose email changed keeps their contact.

With a state, each planned batch's keys are looked up (one query per batch,
:meth:`~acexport._state.ListState.emails_of_keys`). A key the state recorded with another
email is a :class:`Move`: :func:`identity_steps` (a sans-I/O generator, like
:mod:`._resume`) changes that contact's email in place with ``PUT /contacts/{id}`` (finding
the contact by its old email first when the state does not know its id) before the row is
sent, and :func:`moved` moves the state's row to the new email, so the old address is not a
leaver. When the new address already belongs to another contact, ActiveCampaign refuses
(422): the row is rejected with a reason saying so, and nothing is merged.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import attrs

from .._core import _operations as ops
from .._exceptions import APIError, NotFoundError, UnprocessableEntityError
from .._models import Contact
from .._report import RowErrorKind
from .._state import ListState
from ._pipeline import Batch, PlannedContact, Planner
from ._schedule import Tally

__all__ = ["Move", "Moved", "identity_steps", "moved", "moves_of"]


@attrs.frozen
class Move:
    """Row ``contact`` has a key the state recorded with ``old_email`` (contact id if known)."""

    contact: PlannedContact
    old_email: str
    contact_id: int | None


@attrs.frozen
class Moved:
    """What :func:`identity_steps` did: ``done`` moves with the contact id (None when the old
    contact no longer exists), ``refused`` moves with the row's error kind and reason."""

    done: tuple[tuple[Move, int | None], ...] = ()
    refused: tuple[tuple[Move, RowErrorKind, str], ...] = ()


def moves_of(state: ListState, planner: Planner, batch: Batch, dry_run: bool) -> list[Move]:
    """The batch's rows whose key the state holds with another email (blocking: one query).

    The old addresses count as present in this run (the person did not leave). A dry run
    changes nothing, so it returns no move."""
    keys = [c.key for c in batch if c.key is not None]
    if not keys:
        return []
    known = state.emails_of_keys(keys)
    out: list[Move] = []
    for contact in batch:
        found = known.get(contact.key) if contact.key is not None else None
        if found is not None and found[0] != contact.email.lower():
            planner.keep(found[0])
            out.append(Move(contact, found[0], found[1]))
    return [] if dry_run else out


def _refusal(move: Move, error: UnprocessableEntityError) -> str:
    new = move.contact.email
    if "duplicate" in error.message.lower() or "exist" in error.message.lower():
        return (
            f"the key's new email {new} already belongs to another ActiveCampaign contact; "
            f"nothing was merged (the contact of {move.old_email} keeps its address)"
        )
    return f"ActiveCampaign refused to change {move.old_email} to {new}: {error.message}"[:300]


def identity_steps(moves: Sequence[Move]) -> Generator[ops.Operation[Any], Any, Moved]:
    """Change each move's contact email in place: at most one ``GET`` and one ``PUT`` each."""
    done: list[tuple[Move, int | None]] = []
    refused: list[tuple[Move, RowErrorKind, str]] = []
    for move in moves:
        contact_id = move.contact_id
        try:
            if contact_id is None:
                found: Contact | None = yield ops.find_contact_by_email(move.old_email)
                if found is None:  # deleted by hand: the row goes as a new contact
                    done.append((move, None))
                    continue
                contact_id = found.id
            yield ops.change_email(contact_id, move.contact.email)
        except UnprocessableEntityError as error:
            refused.append((move, "rejected", _refusal(move, error)))
            continue
        except NotFoundError:
            done.append((move, None))
            continue
        except APIError as error:
            reason = f"could not change the email of the key's contact: {error.message}"
            refused.append((move, "failed", reason[:300]))
            continue
        done.append((move, contact_id))
    return Moved(tuple(done), tuple(refused))


def moved(state: ListState, tally: Tally, batch: Batch, result: Moved) -> Batch:
    """Record ``result`` (blocking: state writes); the batch less the refused rows."""
    for move, contact_id in result.done:
        state.move(move.old_email, move.contact.email, contact_id)
    if not result.refused:
        return batch
    out = {move.contact.index for move, _, _ in result.refused}
    for move, kind, reason in result.refused:
        tally.not_exported([move.contact], kind, reason)
    return batch.subset(c for c in batch if c.index not in out)
