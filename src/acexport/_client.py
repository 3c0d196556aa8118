"""The synchronous client: drives the sans-I/O calls of :mod:`acexport._core` over httpx."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

import httpx

from ._base import DEFAULT_TIMEOUT
from ._caller import Caller
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

__all__ = ["ActiveCampaign", "caller_of"]

T = TypeVar("T")


class ActiveCampaign:
    """A client for ActiveCampaign's v3 API.

    ``api_url`` is the account's API URL as Settings → Developer shows it
    (``youraccount.api-us1.com``, with or without ``https://`` and ``/api/3``); ``api_key`` the
    key shown there. Both default to ``ACTIVECAMPAIGN_API_URL`` / ``ACTIVECAMPAIGN_API_KEY``.

    Every call shares the client's rate limits (``requests_per_second``, default 5, the
    account's limit; ``bulk_imports_per_minute``, default 100). Calls are retried on 429 and
    bulk import's 400 "Rate limit exceeded." (after ``Retry-After``), on 500, 502, 503 and 504,
    on connections that could not be opened, and, for idempotent calls only, on resets,
    timeouts and 2xx bodies that are not JSON: at most ``max_retries`` times and
    ``max_retry_wait`` seconds of waiting in all. Never on 400, 401, 403, 404 or 422.
    Safe to share between threads. Use it as a context manager, or call :meth:`close`.

    ``timeout`` bounds each attempt of a request in all (connect, send, wait, read), however
    slowly the server answers; at most 8 MiB of an answer is read. ``transport`` (an httpx
    transport, such as ``httpx.MockTransport``) or ``http_client`` (an ``httpx.Client`` you
    configure and close yourself) replace the HTTP layer. ``clock`` (monotonic seconds) and
    ``sleep`` replace the time source and the waits of rate limiting and retries: tests pass
    :class:`acexport.testing.VirtualClock`'s ``clock.now`` and ``clock.sleep``.
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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
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
        caller = Caller(
            config, http_client=http_client, transport=transport, clock=clock, sleep=sleep
        )
        self._caller = caller
        self.users: Users = Users(caller)
        self.lists: Lists = Lists(caller)
        self.contacts: Contacts = Contacts(caller)
        self.fields: Fields = Fields(caller)
        self.tags: Tags = Tags(caller)
        self.imports: Imports = Imports(caller)

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

    def close(self) -> None:
        """Close the HTTP connections this client opened (not an ``http_client`` you passed)."""
        self._caller.close()

    def __enter__(self) -> ActiveCampaign:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def caller_of(client: ActiveCampaign) -> Caller:
    """The seam under ``client`` (see :mod:`acexport._base`), for code built on the client."""
    return client._caller


class _Resource:
    def __init__(self, caller: Caller) -> None:
        self._caller = caller


class Users(_Resource):
    """``client.users``."""

    def me(self) -> User:
        """The user the API key belongs to: a cheap check that URL and key work."""
        return self._caller.run(ops.users_me())


class Lists(_Resource):
    """``client.lists``."""

    def list(self) -> Iterator[ContactList]:
        """Every list in the account (all pages, fetched lazily as you iterate)."""
        return self._caller.pages(ops.lists_pager())

    def get(self, list_id: int) -> ContactList:
        """One list; :class:`NotFoundError` if there is none with that id."""
        return self._caller.run(ops.get_list(list_id))

    def create(
        self,
        name: str,
        *,
        sender_url: str,
        sender_reminder: str,
        stringid: str | None = None,
        channel: str = "email",
    ) -> ContactList:
        """Create a list. ``sender_url`` and ``sender_reminder`` are required by ActiveCampaign."""
        return self._caller.run(
            ops.create_list(
                name,
                stringid=stringid,
                sender_url=sender_url,
                sender_reminder=sender_reminder,
                channel=channel,
            )
        )


class Contacts(_Resource):
    """``client.contacts``."""

    def sync(
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
        return self._caller.run(
            ops.sync_contact(
                email, first_name=first_name, last_name=last_name, phone=phone, fields=fields
            )
        )

    def get(self, contact_id: int) -> Contact:
        """One contact; :class:`NotFoundError` if there is none with that id."""
        return self._caller.run(ops.get_contact(contact_id))

    def find_by_email(self, email: str) -> Contact | None:
        """The contact with exactly this email (case-insensitive), or None."""
        return self._caller.run(ops.find_contact_by_email(email))

    def list(
        self, list_id: int | None = None, status: ListStatus | None = None
    ) -> Iterator[Contact]:
        """Every contact, or those on ``list_id`` with ``status``, paged by id."""
        return self._caller.pages(ops.contacts_pager(list_id, status))

    def delete(self, contact_id: int) -> None:
        """Delete a contact (from every list). To take someone off one list, unsubscribe."""
        self._caller.run(ops.delete_contact(contact_id))

    def update_list_status(
        self, contact_id: int, list_id: int, status: ListStatus
    ) -> ListMembership:
        """Set a contact's status on a list. ACTIVE re-subscribes a contact who unsubscribed:
        that is a consent decision, and the exporter never makes it."""
        return self._caller.run(ops.update_list_status(contact_id, list_id, status))

    def list_memberships(self, contact_id: int) -> Sequence[ListMembership]:
        """The contact's list memberships, with their statuses."""
        return self._caller.run(ops.contact_memberships(contact_id))

    def add_tag(self, contact_id: int, tag_id: int) -> ContactTag:
        """Put a tag (by id) on a contact."""
        return self._caller.run(ops.add_tag(contact_id, tag_id))

    def tags(self, contact_id: int) -> Sequence[ContactTag]:
        """The contact's tag links; ``remove_tag`` takes a link's ``id``."""
        return self._caller.run(ops.contact_tags(contact_id))

    def remove_tag(self, link_id: int) -> None:
        """Take a tag off a contact, by the link's id (from ``tags``), not the tag's."""
        self._caller.run(ops.remove_tag(link_id))

    def change_email(self, contact_id: int, email: str) -> Contact:
        """Change a contact's email in place (it keeps its id, lists and tags).
        :class:`UnprocessableEntityError` if another contact has that address."""
        return self._caller.run(ops.change_email(contact_id, email))


class Fields(_Resource):
    """``client.fields``: custom contact fields."""

    def list(self) -> Iterator[CustomField]:
        """Every custom field, with the ids and perstags a mapping can name."""
        return self._caller.pages(ops.fields_pager())


class Tags(_Resource):
    """``client.tags``."""

    def list(self, search: str | None = None) -> Iterator[Tag]:
        """Every tag, or those whose name contains ``search``."""
        return self._caller.pages(ops.tags_pager(search))

    def create(self, name: str) -> Tag:
        """Create a contact tag. ActiveCampaign refuses a name that exists (any case)."""
        return self._caller.run(ops.create_tag(name))


class Imports(_Resource):
    """``client.imports``: bulk import."""

    def bulk(self, contacts: Sequence[BulkContact], exclude_automations: bool = False) -> str:
        """Queue a bulk import (at most 250 contacts, under 400,000 bytes); returns the batch
        id for :meth:`info`. One invalid email makes ActiveCampaign refuse the whole batch."""
        body = bulk_body(contacts, exclude_automations=exclude_automations)
        check_bulk_limits(len(contacts), len(body))
        return self._caller.run(ops.bulk_import(body, contact_count=len(contacts)))

    def info(self, batch_id: str) -> BulkImportInfo:
        """A batch's status, the ids it created and the emails it refused."""
        return self._caller.run(ops.import_info(batch_id))
