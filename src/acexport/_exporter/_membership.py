"""People who leave the segment (``on_leave``): find them in the state, guard, take them off.

A *leaver* is a contact the state confirmed on this list (an earlier run exported it) that is
not among this run's valid rows. Leavers are looked for only when the run read its whole input
and stopped for no reason (no cancel, no read error, no fatal error): a run that stopped early
has not seen the whole segment, and removing people because of it would be a disaster.

:func:`count` reads the state's confirmed contacts in pages of :data:`PAGE` (a list of
millions is never loaded at once) to count the leavers for the guard; when it lets them go,
:func:`collect` gathers them :data:`LEAVE_CHUNK` at a time, and each chunk is taken off and
written to the state before the next is read. :func:`unsubscribe_steps` and :func:`untag_steps` are
sans-I/O generators like :mod:`._resume`: they yield operations and waits, are sent the
answers, and return a :class:`Removal` for :meth:`~._common.StateSession.left` to write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Sequence
from typing import Any, Literal

import attrs

from .._core import _operations as ops
from .._core._bulk import contact_tail, encode_str, join_body
from .._core._call import Sleep
from .._core._limits import BULK_MAX_CONTACTS
from .._exceptions import APIError, AuthenticationError, ConfigError, NotFoundError
from .._models import BulkImportInfo, BulkImportStatus, Contact, ContactTag, Tag
from .._report import RemovalError
from .._state import ListState, TrackedContact

__all__ = [
    "DEFAULT_MAX_LEAVE",
    "LEAVE_CHUNK",
    "PAGE",
    "OnLeave",
    "Removal",
    "check_on_leave",
    "collect",
    "count",
    "guard",
    "unsubscribe_steps",
    "untag_steps",
]

OnLeave = Literal["unsubscribe", "untag"]

#: Default ``max_leave``: a tenth of the tracked members may leave in one run. Real segments
#: move by a few percent a day; a broken query (an empty result, a wrong filter) moves them
#: all, and an unsubscribe cannot be undone through the API.
DEFAULT_MAX_LEAVE = 0.1

#: Confirmed contacts read from the state at a time.
PAGE = 1000
#: Leavers taken off between two writes to the state (10 unsubscribe imports).
LEAVE_CHUNK = 2500
#: Leavers per bulk-import unsubscribe (ActiveCampaign's limit per request).
UNSUBSCRIBE_BATCH = BULK_MAX_CONTACTS
#: Poll errors of one unsubscribe batch after which it is given up for this run.
_MAX_POLL_ERRORS = 5
_CANCELLED = "the export was cancelled before this leaver was removed; tried again next run"


def check_on_leave(
    on_leave: object, max_leave: object, *, has_state: bool, tags: Sequence[str]
) -> None:
    """The ``on_leave`` and ``max_leave`` options make sense together (ConfigError if not)."""
    if on_leave not in (None, "unsubscribe", "untag"):
        raise ConfigError(f'on_leave must be None, "unsubscribe" or "untag", not {on_leave!r}')
    if isinstance(max_leave, bool) or not isinstance(max_leave, (int, float)):
        raise ConfigError(f"max_leave must be a fraction between 0 and 1, not {max_leave!r}")
    if not 0.0 <= max_leave <= 1.0:
        raise ConfigError(f"max_leave must be a fraction between 0 and 1, not {max_leave!r}")
    if on_leave is not None and not has_state:
        raise ConfigError(
            f"on_leave={on_leave!r} needs a state: leavers are the contacts an earlier run "
            "recorded there (pass state=PATH)"
        )
    if on_leave == "untag" and not tags:
        raise ConfigError(
            'on_leave="untag" removes the tags the mapping applies, and the mapping has none: '
            "give FieldMapping(tags=...)"
        )


def _pages(state: ListState, after: str = "") -> Generator[list[TrackedContact], None, None]:
    while True:
        page = state.tracked(after, PAGE)
        if not page:
            return
        yield page
        if len(page) < PAGE:
            return
        after = page[-1].email


def count(
    state: ListState, present: Callable[[str], bool], max_leave: float, *, dry_run: bool
) -> tuple[int, str | None]:
    """(leavers, None), or (leavers, why nobody may be removed): blocking, reads the state's
    confirmed contacts a page at a time (the guard, :func:`guard`, needs the whole count)."""
    tracked = leaving = 0
    for page in _pages(state):
        tracked += len(page)
        leaving += sum(1 for c in page if not present(c.email))
    return leaving, guard(tracked, leaving, max_leave, dry_run=dry_run)


def collect(
    state: ListState, present: Callable[[str], bool], after: str, want: int = LEAVE_CHUNK
) -> tuple[list[TrackedContact], str | None]:
    """The next leavers, at least ``want`` of them unless the list ends first, from emails
    after ``after``; and where to go on from (None at the end). Blocking: reads the state."""
    leavers: list[TrackedContact] = []
    for page in _pages(state, after):
        leavers.extend(c for c in page if not present(c.email))
        if len(leavers) >= want and len(page) == PAGE:
            return leavers, page[-1].email
    return leavers, None


def guard(tracked: int, leaving: int, max_leave: float, *, dry_run: bool = False) -> str | None:
    """Why nobody may be removed, or None: more than ``max_leave`` of ``tracked`` leaving."""
    if leaving == 0 or leaving <= max_leave * tracked:
        return None
    share = leaving / tracked if tracked else 1.0
    run = "this dry run found" if dry_run else "removed nobody:"
    return (
        f"{run} {leaving:,} of the {tracked:,} contacts this state tracks on the list "
        f"({share:.1%}) would leave, more than max_leave={max_leave:g} allows. If the segment "
        "really shrank that much, run again with a higher --max-leave / max_leave; if not, "
        "check the segment's query (an empty or broken input looks like everyone leaving)"
    )


@attrs.frozen
class Removal:
    """What taking leavers off did: ``removed`` emails (the state forgets them), ``errors``
    (they stay tracked), ``contact_ids`` learned for leavers that stay, and ``gone``: leavers
    whose contact no longer exists in ActiveCampaign (forgotten too, counted in ``removed``)."""

    removed: tuple[str, ...] = ()
    errors: tuple[RemovalError, ...] = ()
    contact_ids: tuple[tuple[str, int], ...] = ()
    gone: int = 0


def _reason(what: str, error: APIError) -> str:
    return f"{what}: {error.message}"[:300]


def unsubscribe_steps(
    leavers: Sequence[TrackedContact],
    list_id: int,
    *,
    poll_interval: float,
    settle_timeout: float,
    stop: Callable[[], bool] = lambda: False,
) -> Generator[ops.Operation[Any] | Sleep, Any, Removal]:
    """Unsubscribe ``leavers`` from ``list_id`` with bulk imports of 250 (email and
    ``unsubscribe`` only), then poll each batch until it ends or ``settle_timeout`` passes.
    Once ``stop()`` is true nothing more is submitted (what was submitted is still polled)."""
    errors: list[RemovalError] = []
    open_: list[tuple[str, list[str]]] = []
    emails = [c.email for c in leavers]
    tail = contact_tail((), (), (list_id,), exclude_automations=False)
    for start in range(0, len(emails), UNSUBSCRIBE_BATCH):
        chunk = emails[start : start + UNSUBSCRIBE_BATCH]
        if stop():
            errors.extend(RemovalError(e, _CANCELLED) for e in emails[start:])
            break
        body = join_body(
            [('{"email":' + encode_str(e) + tail).encode() for e in chunk],
            exclude_automations=False,
        )
        try:
            batch_id: str = yield ops.bulk_import(body, contact_count=len(chunk))
        except AuthenticationError as error:
            rest = emails[start:]
            errors.extend(RemovalError(e, _reason("the key was refused", error)) for e in rest)
            break
        except APIError as error:
            reason = _reason("the unsubscribe import was not accepted", error)
            errors.extend(RemovalError(e, reason) for e in chunk)
            continue
        open_.append((batch_id, chunk))
    removed: list[str] = []
    polls = dict.fromkeys((b for b, _ in open_), 0)
    waited = 0.0
    while open_:
        still: list[tuple[str, list[str]]] = []
        for batch_id, chunk in open_:
            try:
                info: BulkImportInfo = yield ops.import_info(batch_id)
            except APIError as error:
                polls[batch_id] += 1
                if polls[batch_id] < _MAX_POLL_ERRORS and not isinstance(
                    error, (AuthenticationError, NotFoundError)
                ):
                    still.append((batch_id, chunk))
                else:
                    reason = _reason("the unsubscribe import's status could not be read", error)
                    errors.extend(RemovalError(e, reason) for e in chunk)
                continue
            if not info.finished:
                still.append((batch_id, chunk))
            elif info.status is BulkImportStatus.COMPLETED:
                refused = {e.strip().lower() for e in info.failed_emails}
                removed.extend(e for e in chunk if e not in refused)
                errors.extend(
                    RemovalError(e, "ActiveCampaign refused the unsubscribe")
                    for e in chunk
                    if e in refused
                )
            else:
                status = info.status.value if info.status is not None else "unknown"
                reason = f"the unsubscribe import ended {status}"
                errors.extend(RemovalError(e, reason) for e in chunk)
        open_ = still
        if not open_:
            break
        if waited >= settle_timeout:
            reason = f"the unsubscribe import had not finished after {settle_timeout:g} s"
            errors.extend(RemovalError(e, reason) for _, chunk in open_ for e in chunk)
            break
        yield Sleep(poll_interval)
        waited += poll_interval
    return Removal(tuple(removed), tuple(errors))


def _tag_ids(
    names: Sequence[str],
) -> Generator[ops.Operation[Any], Any, set[int]]:
    """The ids of the tags named ``names`` that exist in the account (a missing one: none)."""
    ids: set[int] = set()
    for name in names:
        pager = ops.tags_pager(name)
        op: ops.Operation[Any] | None = pager.first()
        while op is not None:
            page: ops.Page[Tag] = yield op
            ids.update(t.id for t in page.items if t.name.strip().casefold() == name.casefold())
            op = pager.next(op, page)
    return ids


def untag_steps(
    leavers: Sequence[TrackedContact],
    tags: Sequence[str],
    stop: Callable[[], bool] = lambda: False,
) -> Generator[ops.Operation[Any] | Sleep, Any, Removal]:
    """Remove the mapping's ``tags`` from each leaver; their subscription is left alone.

    Requests: one ``GET /tags?search=`` per tag, once; then per leaver one
    ``GET /contacts?email=`` (skipped when the state knows the contact id), one
    ``GET /contacts/{id}/contactTags`` and one ``DELETE /contactTags/{link}`` per tag of the
    mapping the contact has. A contact id the state knew that ActiveCampaign no longer has is
    looked up again by email. Once ``stop()`` is true the other leavers are left for next run.
    """
    try:
        tag_ids = yield from _tag_ids(tags)
    except APIError as error:
        reason = _reason("the mapping's tags could not be looked up", error)
        return Removal(errors=tuple(RemovalError(c.email, reason) for c in leavers))
    removed: list[str] = []
    errors: list[RemovalError] = []
    learned: list[tuple[str, int]] = []
    gone = 0
    for n, leaver in enumerate(leavers):
        if stop():
            errors.extend(RemovalError(c.email, _CANCELLED) for c in leavers[n:])
            break
        contact_id = leaver.contact_id
        try:
            links: tuple[ContactTag, ...] | None = None
            if contact_id is not None and tag_ids:
                with contextlib.suppress(NotFoundError):  # a stale id: look it up again
                    links = yield ops.contact_tags(contact_id)
            if links is None and tag_ids:
                contact: Contact | None = yield ops.find_contact_by_email(leaver.email)
                if contact is None:
                    gone += 1
                    removed.append(leaver.email)
                    continue
                contact_id = contact.id
                try:
                    links = yield ops.contact_tags(contact_id)
                except NotFoundError:
                    gone += 1
                    removed.append(leaver.email)
                    continue
            if links is not None:
                for link in links:
                    if link.tag_id in tag_ids and link.id is not None:
                        with contextlib.suppress(NotFoundError):  # removed meanwhile: fine
                            yield ops.remove_tag(link.id)
        except AuthenticationError as error:
            reason = _reason("the key was refused", error)
            errors.extend(RemovalError(c.email, reason) for c in leavers[n:])
            break
        except APIError as error:
            errors.append(RemovalError(leaver.email, _reason("untagging failed", error)))
            if contact_id is not None and contact_id != leaver.contact_id:
                learned.append((leaver.email, contact_id))
            continue
        removed.append(leaver.email)
    return Removal(tuple(removed), tuple(errors), tuple(learned), gone)
