"""The asynchronous client: the same sans-I/O calls, awaited (asyncio or trio, via anyio)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

import httpx

from ._async_caller import AsyncCaller
from ._base import DEFAULT_TIMEOUT
from ._config import ClientConfig
from ._core import _operations as ops
from ._core._bulk import bulk_body, check_bulk_limits
from ._core._retry import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT
from ._exceptions import ConfigError
from ._models import (
    BulkContact,
    BulkImportInfo,
    Contact,
    ContactList,
    ContactTag,
    CustomField,
    ListMembership,
    ListStatus,
    Tag,
    User,
)

__all__ = ["AsyncActiveCampaign", "caller_of"]

T = TypeVar("T")


class AsyncActiveCampaign:
    """The async twin of :class:`ActiveCampaign`: same arguments, same methods, awaited.

    Listings (``lists.list()``, ``contacts.list()``, ...) are async iterators. One client's
    rate limits are shared by every task using it. ``sleep`` is awaited (``clock.asleep`` of
    a :class:`acexport.testing.VirtualClock`); ``transport`` is an ``httpx.AsyncBaseTransport``.
    Use one client per event loop.
    """

    def __init__(
        self,
        api_url: str | None = None,
        api_key: str | None = None,
        *,
        requests_per_second: float | None = 5.0,
        bulk_imports_per_minute: float | None = 100.0,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        config = ClientConfig.resolve(
            api_url,
            api_key,
            timeout=timeout,
            requests_per_second=requests_per_second,
            bulk_imports_per_minute=bulk_imports_per_minute,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        if http_client is not None and transport is not None:
            raise ConfigError("pass http_client= or transport=, not both")
        caller = AsyncCaller(
            config, http_client=http_client, transport=transport, clock=clock, sleep=sleep
        )
        self._caller = caller
        self.users: AsyncUsers = AsyncUsers(caller)
        self.lists: AsyncLists = AsyncLists(caller)
        self.contacts: AsyncContacts = AsyncContacts(caller)
        self.fields: AsyncFields = AsyncFields(caller)
        self.tags: AsyncTags = AsyncTags(caller)
        self.imports: AsyncImports = AsyncImports(caller)

    @property
    def api_url(self) -> str:
        """The API's base URL, normalised to ``https://host/api/3``."""
        return self._caller.api_url

    @property
    def requests_made(self) -> int:
        """HTTP requests this client has sent, retries included."""
        return self._caller.requests_made

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self.api_url!r})"

    async def close(self) -> None:
        """Close the HTTP connections this client opened (not an ``http_client`` you passed)."""
        await self._caller.close()

    async def __aenter__(self) -> AsyncActiveCampaign:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def caller_of(client: AsyncActiveCampaign) -> AsyncCaller:
    """The seam under ``client`` (see :mod:`acexport._base`), for code built on the client."""
    return client._caller


class _AsyncResource:
    def __init__(self, caller: AsyncCaller) -> None:
        self._caller = caller


class AsyncUsers(_AsyncResource):
    """``client.users``."""

    async def me(self) -> User:
        """The user the API key belongs to: a cheap check that URL and key work."""
        return await self._caller.run(ops.users_me())


class AsyncLists(_AsyncResource):
    """``client.lists``."""

    def list(self) -> AsyncIterator[ContactList]:
        """Every list in the account (all pages, fetched lazily as you iterate)."""
        return self._caller.pages(ops.lists_pager())

    async def get(self, list_id: int) -> ContactList:
        """One list; :class:`NotFoundError` if there is none with that id."""
        return await self._caller.run(ops.get_list(list_id))

    async def create(
        self,
        name: str,
        *,
        sender_url: str,
        sender_reminder: str,
        stringid: str | None = None,
        channel: str = "email",
    ) -> ContactList:
        """Create a list. ``sender_url`` and ``sender_reminder`` are required by ActiveCampaign."""
        return await self._caller.run(
            ops.create_list(
                name,
                stringid=stringid,
                sender_url=sender_url,
                sender_reminder=sender_reminder,
                channel=channel,
            )
        )


class AsyncContacts(_AsyncResource):
    """``client.contacts``."""

    async def sync(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        fields: Mapping[int, str] | None = None,
    ) -> Contact:
        """Create or update the contact with this email; ``fields`` maps custom-field ids to
        values. Values left as None are not sent, so they are not blanked."""
        return await self._caller.run(
            ops.sync_contact(
                email, first_name=first_name, last_name=last_name, phone=phone, fields=fields
            )
        )

    async def get(self, contact_id: int) -> Contact:
        """One contact; :class:`NotFoundError` if there is none with that id."""
        return await self._caller.run(ops.get_contact(contact_id))

    async def find_by_email(self, email: str) -> Contact | None:
        """The contact with exactly this email (case-insensitive), or None."""
        return await self._caller.run(ops.find_contact_by_email(email))

    def list(
        self, list_id: int | None = None, status: ListStatus | None = None
    ) -> AsyncIterator[Contact]:
        """Every contact, or those on ``list_id`` with ``status``, paged by id."""
        return self._caller.pages(ops.contacts_pager(list_id, status))

    async def delete(self, contact_id: int) -> None:
        """Delete a contact (from every list). To take someone off one list, unsubscribe."""
        await self._caller.run(ops.delete_contact(contact_id))

    async def update_list_status(
        self, contact_id: int, list_id: int, status: ListStatus
    ) -> ListMembership:
        """Set a contact's status on a list. ACTIVE re-subscribes a contact who unsubscribed:
        that is a consent decision, and the exporter never makes it."""
        return await self._caller.run(ops.update_list_status(contact_id, list_id, status))

    async def list_memberships(self, contact_id: int) -> Sequence[ListMembership]:
        """The contact's list memberships, with their statuses."""
        return await self._caller.run(ops.contact_memberships(contact_id))

    async def add_tag(self, contact_id: int, tag_id: int) -> ContactTag:
        """Put a tag (by id) on a contact."""
        return await self._caller.run(ops.add_tag(contact_id, tag_id))

    async def tags(self, contact_id: int) -> Sequence[ContactTag]:
        """The contact's tag links; ``remove_tag`` takes a link's ``id``."""
        return await self._caller.run(ops.contact_tags(contact_id))

    async def remove_tag(self, link_id: int) -> None:
        """Take a tag off a contact, by the link's id (from ``tags``), not the tag's."""
        await self._caller.run(ops.remove_tag(link_id))

    async def change_email(self, contact_id: int, email: str) -> Contact:
        """Change a contact's email in place (it keeps its id, lists and tags).
        :class:`UnprocessableEntityError` if another contact has that address."""
        return await self._caller.run(ops.change_email(contact_id, email))


class AsyncFields(_AsyncResource):
    """``client.fields``: custom contact fields."""

    def list(self) -> AsyncIterator[CustomField]:
        """Every custom field, with the ids and perstags a mapping can name."""
        return self._caller.pages(ops.fields_pager())


class AsyncTags(_AsyncResource):
    """``client.tags``."""

    def list(self, search: str | None = None) -> AsyncIterator[Tag]:
        """Every tag, or those whose name contains ``search``."""
        return self._caller.pages(ops.tags_pager(search))

    async def create(self, name: str) -> Tag:
        """Create a contact tag. ActiveCampaign refuses a name that exists (any case)."""
        return await self._caller.run(ops.create_tag(name))


class AsyncImports(_AsyncResource):
    """``client.imports``: bulk import."""

    async def bulk(self, contacts: Sequence[BulkContact], exclude_automations: bool = False) -> str:
        """Queue a bulk import (at most 250 contacts, under 400,000 bytes); returns the batch
        id for :meth:`info`. One invalid email makes ActiveCampaign refuse the whole batch."""
        body = bulk_body(contacts, exclude_automations=exclude_automations)
        check_bulk_limits(len(contacts), len(body))
        return await self._caller.run(ops.bulk_import(body, contact_count=len(contacts)))

    async def info(self, batch_id: str) -> BulkImportInfo:
        """A batch's status, the ids it created and the emails it refused."""
        return await self._caller.run(ops.import_info(batch_id))
