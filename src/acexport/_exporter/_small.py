"""The small-export path (under 10 contacts in all) as one sans-I/O generator.

ActiveCampaign advises the contact endpoints over bulk import for a handful of contacts:
``contact/sync`` (with field values), then ``contactLists`` to subscribe, then ``contactTags``.
:func:`small_export_steps` yields each :class:`~acexport._core._operations.Operation` to make
and is resumed with its result (``send``) or the :class:`APIError` it raised (``throw``); the
sync and async exporters only make the calls. Every row ends exported, rejected or failed.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from .._core import _operations as ops
from .._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    UnprocessableEntityError,
)
from .._models import ListMembership, ListStatus, Tag
from ._delta import Confirmed
from ._pipeline import PlannedContact
from ._run import ExportRun
from ._schedule import CannotContinue

__all__ = ["SmallSteps", "small_export_steps"]

SmallSteps = Generator["ops.Operation[Any]", Any, None]


def _tag_id(name: str) -> Generator[ops.Operation[Any], Any, int]:
    """The id of the tag named ``name`` (any case), created if the account has none."""
    wanted = name.strip().lower()
    pager = ops.tags_pager(name)
    op: ops.Operation[ops.Page[Tag]] | None = pager.first()
    while op is not None:
        page: ops.Page[Tag] = yield op
        for tag in page.items:
            if tag.name.strip().lower() == wanted:
                return tag.id
        op = pager.next(op, page)
    created: Tag = yield ops.create_tag(name)
    return created.id


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
                yield ops.add_tag(contact.id, tag_id)
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
