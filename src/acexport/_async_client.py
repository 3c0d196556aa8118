"""The asynchronous client: the same sans-I/O calls, awaited (asyncio or trio, via anyio)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

import anyio
import httpx

from ._base import DEFAULT_TIMEOUT, BaseClient
from ._core import _operations as ops
from ._core._call import Sleep
from ._core._retry import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT
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

__all__ = ["AsyncActiveCampaign"]

T = TypeVar("T")


class AsyncActiveCampaign(BaseClient):
    """The async twin of :class:`ActiveCampaign`: same arguments, same methods, awaited.

    Listings (``lists.list()``, ``contacts.list()``, ...) are async iterators. One client's
    rate limits are shared by every task using it.
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
    ) -> None:
        super().__init__(
            api_url,
            api_key,
            requests_per_second=requests_per_second,
            bulk_imports_per_minute=bulk_imports_per_minute,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=timeout)
        self._sleep: Callable[[float], Awaitable[None]] = anyio.sleep
        self.users: AsyncUsers = AsyncUsers(self)
        self.lists: AsyncLists = AsyncLists(self)
        self.contacts: AsyncContacts = AsyncContacts(self)
        self.fields: AsyncFields = AsyncFields(self)
        self.tags: AsyncTags = AsyncTags(self)
        self.imports: AsyncImports = AsyncImports(self)

    async def _call(self, op: ops.Operation[T], on_send: Callable[[], None] | None = None) -> T:
        steps = self._steps(op, on_send)
        try:
            step = next(steps)
            while True:
                if isinstance(step, Sleep):
                    await self._sleep(step.seconds)
                    step = steps.send(None)
                    continue
                try:
                    response = await self._http.send(step)
                except httpx.TransportError as exc:
                    step = steps.throw(exc)
                else:
                    step = steps.send(response)
        except StopIteration as done:
            result: T = done.value
            return result

    async def _pages(
        self, pager: ops.Pager[T], on_send: Callable[[], None] | None = None
    ) -> AsyncIterator[T]:
        op: ops.Operation[ops.Page[T]] | None = pager.first()
        while op is not None:
            page = await self._call(op, on_send)
            for item in page.items:
                yield item
            op = pager.next(op, page)

    async def close(self) -> None:
        """Close the HTTP connections this client opened (not an ``http_client`` you passed)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncActiveCampaign:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class _AsyncResource:
    def __init__(self, client: AsyncActiveCampaign) -> None:
        self._client = client


class AsyncUsers(_AsyncResource):
    """``client.users``."""

    async def me(self) -> User:
        """The user the API key belongs to: a cheap check that URL and key work."""
        return await self._client._call(ops.users_me())


class AsyncLists(_AsyncResource):
    """``client.lists``."""

    def list(self) -> AsyncIterator[ContactList]:
        """Every list in the account (all pages, fetched lazily as you iterate)."""
        return self._client._pages(ops.lists_pager())

    async def get(self, list_id: int) -> ContactList:
        """One list; :class:`NotFoundError` if there is none with that id."""
        return await self._client._call(ops.get_list(list_id))

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
        return await self._client._call(
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
        return await self._client._call(
            ops.sync_contact(
                email, first_name=first_name, last_name=last_name, phone=phone, fields=fields
            )
        )

    async def get(self, contact_id: int) -> Contact:
        """One contact; :class:`NotFoundError` if there is none with that id."""
        return await self._client._call(ops.get_contact(contact_id))

    async def find_by_email(self, email: str) -> Contact | None:
        """The contact with exactly this email (case-insensitive), or None."""
        return await self._client._call(ops.find_contact_by_email(email))

    def list(
        self, list_id: int | None = None, status: ListStatus | None = None
    ) -> AsyncIterator[Contact]:
        """Every contact, or those on ``list_id`` with ``status``, paged by id."""
        return self._client._pages(ops.contacts_pager(list_id, status))

    async def delete(self, contact_id: int) -> None:
        """Delete a contact (from every list). To take someone off one list, unsubscribe."""
        await self._client._call(ops.delete_contact(contact_id))

    async def update_list_status(
        self, contact_id: int, list_id: int, status: ListStatus
    ) -> ListMembership:
        """Set a contact's status on a list. ACTIVE re-subscribes a contact who unsubscribed:
        that is a consent decision, and the exporter never makes it."""
        return await self._client._call(ops.update_list_status(contact_id, list_id, status))

    async def list_memberships(self, contact_id: int) -> Sequence[ListMembership]:
        """The contact's list memberships, with their statuses."""
        return await self._client._call(ops.contact_memberships(contact_id))

    async def add_tag(self, contact_id: int, tag_id: int) -> ContactTag:
        """Put a tag (by id) on a contact."""
        return await self._client._call(ops.add_tag(contact_id, tag_id))


class AsyncFields(_AsyncResource):
    """``client.fields``: custom contact fields."""

    def list(self) -> AsyncIterator[CustomField]:
        """Every custom field, with the ids and perstags a mapping can name."""
        return self._client._pages(ops.fields_pager())


class AsyncTags(_AsyncResource):
    """``client.tags``."""

    def list(self, search: str | None = None) -> AsyncIterator[Tag]:
        """Every tag, or those whose name contains ``search``."""
        return self._client._pages(ops.tags_pager(search))

    async def create(self, name: str) -> Tag:
        """Create a contact tag. ActiveCampaign refuses a name that exists (any case)."""
        return await self._client._call(ops.create_tag(name))


class AsyncImports(_AsyncResource):
    """``client.imports``: bulk import."""

    async def bulk(self, contacts: Sequence[BulkContact], exclude_automations: bool = False) -> str:
        """Queue a bulk import (at most 250 contacts, under 400,000 bytes); returns the batch
        id for :meth:`info`. One invalid email makes ActiveCampaign refuse the whole batch."""
        body = ops.bulk_body(contacts, exclude_automations=exclude_automations)
        ops.check_bulk_limits(len(contacts), len(body))
        return await self._client._call(ops.bulk_import(body, contact_count=len(contacts)))

    async def info(self, batch_id: str) -> BulkImportInfo:
        """A batch's status, the ids it created and the emails it refused."""
        return await self._client._call(ops.import_info(batch_id))
