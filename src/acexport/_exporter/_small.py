"""The small-export path (under 10 contacts in all) as one sans-I/O generator.

ActiveCampaign advises the contact endpoints over bulk import for a handful of contacts:
``contact/sync`` (with field values), then ``contactLists`` to subscribe, then ``contactTags``.
:func:`small_export_steps` yields each :class:`~acexport._core._operations.Operation` to make
and is resumed with its result (``send``) or the :class:`APIError` it raised (``throw``); the
sync and async exporters only make the calls. Every row ends exported, rejected or failed.

The writes that are not idempotent (``POST /contactTags``, ``POST /tags``) are not retried by
the client after an ambiguous failure (a reset or timeout once the request was sent, a 2xx
answer it cannot read): the write may have been applied. Here each is read back (the
contact's tags; the tag by name): applied, it is settled; not applied, it is sent again, up
to :data:`WRITE_ATTEMPTS` times in all. A row fails only when the read-back itself fails or
the write stays unconfirmed after every attempt.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from .._core import _operations as ops
from .._exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from .._models import ContactTag, ListMembership, ListStatus, Tag
from ._delta import Confirmed
from ._pipeline import PlannedContact
from ._run import ExportRun
from ._schedule import CannotContinue

__all__ = ["WRITE_ATTEMPTS", "SmallSteps", "small_export_steps"]

SmallSteps = Generator["ops.Operation[Any]", Any, None]

#: How often a non-idempotent write is sent in all when each attempt ends ambiguously and the
#: read-back finds it not applied.
WRITE_ATTEMPTS = 3

#: Failures after which a write may or may not have been applied.
_AMBIGUOUS = (APIConnectionError, ResponseValidationError)


def _ambiguous(error: APIError) -> bool:
    return isinstance(error, _AMBIGUOUS) and not (
        isinstance(error, APIConnectionError) and not error.recoverable
    )


def _find_tag(name: str) -> Generator[ops.Operation[Any], Any, int | None]:
    """The id of the tag named ``name`` (any case), or None."""
    wanted = name.strip().lower()
    pager = ops.tags_pager(name)
    op: ops.Operation[ops.Page[Tag]] | None = pager.first()
    while op is not None:
        page: ops.Page[Tag] = yield op
        for tag in page.items:
            if tag.name.strip().lower() == wanted:
                return tag.id
        op = pager.next(op, page)
    return None


def _tag_id(name: str) -> Generator[ops.Operation[Any], Any, int]:
    """The id of the tag named ``name`` (any case), created if the account has none."""
    found = yield from _find_tag(name)
    last: APIError | None = None
    for _ in range(WRITE_ATTEMPTS):
        if found is not None:
            return found
        try:
            created: Tag = yield ops.create_tag(name)
            return created.id
        except APIError as error:
            if not _ambiguous(error):
                raise
            last = error
        found = yield from _find_tag(name)  # was it created after all?
    if found is not None:
        return found
    assert last is not None
    raise last


def _add_tag(contact_id: int, tag_id: int) -> Generator[ops.Operation[Any], Any, None]:
    """Apply tag ``tag_id`` to the contact; after a failure that leaves it unknown whether
    the tag was applied, read the contact's tags back, then settle or send it again."""
    last: APIError | None = None
    for _ in range(WRITE_ATTEMPTS):
        try:
            yield ops.add_tag(contact_id, tag_id)
            return
        except APIError as error:
            if not _ambiguous(error):
                raise
            last = error
        links: Sequence[ContactTag] = yield ops.contact_tags(contact_id)
        if any(link.tag_id == tag_id for link in links):
            return
    assert last is not None
    raise last


def small_export_steps(run: ExportRun, contacts: Sequence[PlannedContact]) -> SmallSteps:
    """Send ``contacts`` one by one; raises :class:`CannotContinue` if the key is refused."""
    list_id, tally = run.options.list_id, run.tally
    tag_ids: list[int] = []
    try:
        for name in run.options.mapping.tags:
            tag_ids.append((yield from _tag_id(name)))
    except APIError as error:
        if isinstance(error, AuthenticationError):
            tally.not_exported(contacts, "failed", f"the export stopped: {error}")
            raise CannotContinue(str(error), error) from None
        tally.not_exported(contacts, "failed", f"could not find or create the tags: {error}")
        return
    for i, c in enumerate(contacts):
        if run.is_cancelled():
            tally.not_exported(
                contacts[i:], "failed", "the export was cancelled before it was sent"
            )
            return
        try:
            contact = yield ops.sync_contact(
                c.email,
                first_name=c.first_name,
                last_name=c.last_name,
                phone=c.phone,
                fields=c.fields,
            )
            memberships: Sequence[ListMembership] = yield ops.contact_memberships(contact.id)
            # Consent: only someone with no membership of the list at all is subscribed; a
            # contact who unsubscribed, bounced or awaits double opt-in keeps that status.
            if not any(m.list_id == list_id for m in memberships):
                yield ops.update_list_status(contact.id, list_id, ListStatus.ACTIVE)
            for tag_id in tag_ids:
                yield from _add_tag(contact.id, tag_id)
        except APIError as error:
            if isinstance(error, AuthenticationError):
                tally.not_exported(contacts[i:], "failed", f"the export stopped: {error}")
                raise CannotContinue(str(error), error) from None
            if isinstance(error, (BadRequestError, UnprocessableEntityError)):
                tally.not_exported([c], "rejected", f"ActiveCampaign refused it: {error}")
            else:
                tally.not_exported([c], "failed", f"not delivered: {error}")
        else:
            tally.exported += 1
            if run.scheduler.effects is not None:
                run.scheduler.effects.append(Confirmed([c]))
        run.progress()
