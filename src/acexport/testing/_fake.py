"""The public fake: :class:`FakeActiveCampaign`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import httpx

from .._async_client import AsyncActiveCampaign
from .._client import ActiveCampaign
from ._clock import VirtualClock
from ._dispatcher import Dispatcher
from ._faults import Faults
from ._limits import RequestCounters
from ._records import FieldRecord, ListRecord, perstag_for, slug
from ._replies import Reply
from ._server import FakeServer
from ._snapshots import FakeBatch, FakeContact, FakeStats

__all__ = ["FakeActiveCampaign"]

_REAL_CLOCKS = (time.monotonic, time.perf_counter, time.time)


class FakeActiveCampaign:
    """A stateful, in-memory ActiveCampaign API v3 for tests, speaking AC's wire format.

    Every request needs the header ``Api-Token: <api_key>`` (else 403
    ``{"message": "Forbidden"}``). Run it either way:

    - in-process: ``httpx.Client(transport=fake.transport(), base_url="https://x.api-us1.com")``
      (the host is ignored; works for ``httpx.AsyncClient`` too);
    - on a socket: ``with fake.serve() as server: ... server.url ...``.

    Limits, all off by default:

    - ``requests_per_second``: a token bucket (capacity = rate but at least 1, continuous
      refill, starting full) over all authenticated requests, bulk imports included. Over
      it: 429 with an integer ``Retry-After`` (rounded up, at least 1) and
      ``{"message": "Too Many Requests"}``. While it is on, replies also carry
      ``RateLimit-Limit`` and ``RateLimit-Remaining``.
    - ``bulk_imports_per_minute``: a bucket (capacity = rate, refilled at rate per minute)
      for multi-contact bulk imports, and one of ``rate * 0.2`` for single-contact ones
      (20/min for AC's 100/min; capacities at least 1). Over it: AC's HTTP 400
      ``"Rate limit exceeded."`` body. Refused calls still use a ``requests_per_second``
      token.

    ``latency`` seconds are added to every response: in server mode as a real sleep in the
    handler thread; in transport mode only when the fake runs on the real clock
    (``clock=None``), since sleeping for real under a :class:`VirtualClock` would defeat it.

    A bulk-import batch shows ``status: false`` for ``import_delay`` seconds, then
    ``"active"`` for ``n * import_seconds_per_contact`` seconds, then its terminal status;
    its contacts are applied when it finishes, lazily, on the first request or inspection
    after that time. ``clock`` (default :func:`time.monotonic`) drives all of this and the
    buckets; pass a :class:`VirtualClock` to control time. ``seed`` seeds probabilistic
    faults and batch ids.

    ``lean=True`` makes bulk imports cheap to keep, for exports of millions of rows (the CLI's
    ``--sandbox`` uses it): of each bulk-imported contact the fake keeps only its id, email and
    list statuses. The names, phone, custom field values and tags a bulk import sends are
    validated as usual, then dropped (no tag is created or linked), and a batch forgets its
    contacts once applied (its ``FakeBatch.emails`` and ``exclude_automations`` are then empty;
    ``contacts``, ``success`` and ``failure`` stay). What ``contact/sync``, the other
    per-contact endpoints and the ``add_*`` methods write is kept in full.

    Thread-safe: one lock guards all state (faults have their own).
    """

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        requests_per_second: float | None = None,
        bulk_imports_per_minute: float | None = None,
        latency: float = 0.0,
        import_delay: float = 1.0,
        import_seconds_per_contact: float = 0.0,
        clock: Callable[[], float] | None = None,
        seed: int = 0,
        lean: bool = False,
    ) -> None:
        """Create an empty account (no lists, fields, tags or contacts). See the class doc."""
        for name, value in (
            ("requests_per_second", requests_per_second),
            ("bulk_imports_per_minute", bulk_imports_per_minute),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None, got {value!r}")
        for name, value in (
            ("latency", latency),
            ("import_delay", import_delay),
            ("import_seconds_per_contact", import_seconds_per_contact),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        self._clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._real_clock = clock is None or clock in _REAL_CLOCKS
        self._lock = threading.RLock()
        self._in_flight = 0
        self.faults: Faults = Faults(seed)
        """Fault-injection knobs (:class:`Faults`)."""
        self._dispatcher = Dispatcher(
            api_key=api_key,
            clock=self._clock,
            faults=self.faults,
            requests_per_second=requests_per_second,
            bulk_imports_per_minute=bulk_imports_per_minute,
            latency=latency,
            import_delay=import_delay,
            import_seconds_per_contact=import_seconds_per_contact,
            seed=seed,
            lean=lean,
        )

    @property
    def api_key(self) -> str:
        """The key requests must send as ``Api-Token``."""
        return self._dispatcher.api_key

    @property
    def clock(self) -> Callable[[], float]:
        """The clock the fake runs on."""
        return self._clock

    # seed data ----------------------------------------------------------------------------

    def add_list(self, name: str, *, id: int | None = None) -> int:
        """Create a list (``stringid`` is a slug of ``name``); returns its id."""
        with self._lock:
            store = self._dispatcher.store
            list_id = store.new_id("list", store.lists, id)
            store.lists[list_id] = ListRecord(list_id, name, slug(name), "", "", self._clock())
            return list_id

    def add_field(
        self,
        title: str,
        *,
        perstag: str | None = None,
        type: str = "text",
        id: int | None = None,
        options: Sequence[str] = (),
    ) -> int:
        """Create a custom contact field and return its id.

        ``perstag`` defaults to the title in capitals (``"Customer tier"`` -> ``CUSTOMER_TIER``).
        ``options`` are the values of a dropdown, radio, listbox or checkbox field's options:
        ``GET /fields`` lists them beside the fields (``fieldOptions``), as ActiveCampaign does.
        The fake stores any value sent to the field, an option or not.
        """
        with self._lock:
            store = self._dispatcher.store
            field_id = store.new_id("field", store.fields, id)
            store.fields[field_id] = FieldRecord(
                field_id,
                title,
                type,
                perstag if perstag is not None else perstag_for(title),
                tuple(options),
            )
            return field_id

    def add_tag(self, name: str) -> int:
        """Create a contact tag and return its id; an existing tag (any case) returns its id."""
        with self._lock:
            store = self._dispatcher.store
            tag = store.find_tag(name) or store.create_tag(name, self._clock())
            return tag.id

    def add_contact(
        self,
        email: str,
        *,
        first_name: str = "",
        last_name: str = "",
        phone: str = "",
        fields: Mapping[int, str] | None = None,
        lists: Mapping[int, int] | None = None,
        tags: Iterable[str] = (),
    ) -> int:
        """Create a contact directly (no validation of ``email``); returns its id.

        ``fields`` maps field id to value, ``lists`` maps list id to status (1 active,
        2 unsubscribed...), ``tags`` are names (created when missing). Raises ``ValueError``
        for an email already present (any case) or an unknown field or list id.
        """
        with self._lock:
            store = self._dispatcher.store
            now = self._clock()
            for field_id in fields or {}:
                if field_id not in store.fields:
                    raise ValueError(f"unknown field id {field_id}")
            for list_id in lists or {}:
                if list_id not in store.lists:
                    raise ValueError(f"unknown list id {list_id}")
            contact = store.create_contact(email, now)
            contact.first_name, contact.last_name, contact.phone = first_name, last_name, phone
            for field_id, value in (fields or {}).items():
                store.set_field_value(contact.id, field_id, value, now)
            for list_id, status in (lists or {}).items():
                store.set_list_status(contact.id, list_id, int(status), now)
            for name in tags:
                tag = store.find_tag(name) or store.create_tag(name, now)
                store.link_tag(contact.id, tag.id, now)
            return contact.id

    def exclude(self, email: str) -> None:
        """Put ``email`` on the account's exclusion list (case-insensitive).

        Bulk imports then skip it and report it in the batch's ``failure`` list;
        ``contact/sync`` still accepts it (as AC does: exclusion affects sending).
        """
        with self._lock:
            self._dispatcher.store.excluded.add(email.lower())

    def reject_emails(self, rule: Callable[[str], bool] | Collection[str]) -> None:
        """Make the server refuse addresses although they look valid.

        ``rule`` is a predicate on the email as sent, or a collection of addresses (compared
        case-insensitively). Refused addresses fail bulk-import validation (HTTP 400 naming
        their index; nothing is queued) and get 422 ``email_invalid`` from ``contact/sync``
        and ``POST /contacts``. Rules accumulate.
        """
        if callable(rule):
            predicate = rule
        else:
            refused = frozenset(email.lower() for email in rule)

            def predicate(email: str) -> bool:
                return email.lower() in refused

        with self._lock:
            self._dispatcher.store.rejected.append(predicate)

    # inspection ---------------------------------------------------------------------------

    def _apply_finished_batches(self) -> float:
        """Apply the bulk-import batches finished by now (as a request would); returns now."""
        now = self._clock()
        self._dispatcher.store.apply_finished_batches(now)
        return now

    def contact_by_email(self, email: str) -> FakeContact | None:
        """A snapshot of the contact with ``email`` (case-insensitive), or ``None``."""
        with self._lock:
            self._apply_finished_batches()
            store = self._dispatcher.store
            contact = store.find_contact(email)
            return None if contact is None else store.snapshot(contact)

    @property
    def contacts(self) -> list[FakeContact]:
        """Snapshots of every contact, by id."""
        with self._lock:
            self._apply_finished_batches()
            store = self._dispatcher.store
            return store.snapshots(store.contacts[cid] for cid in sorted(store.contacts))

    @property
    def batches(self) -> dict[str, FakeBatch]:
        """Every accepted bulk-import batch by ``batchId``, in submission order."""
        with self._lock:
            now = self._apply_finished_batches()
            return {
                bid: batch.snapshot(now) for bid, batch in self._dispatcher.store.batches.items()
            }

    @property
    def stats(self) -> FakeStats:
        """A snapshot of the request counters (:class:`FakeStats`)."""
        with self._lock:
            return self._dispatcher.counters.freeze()

    def reset_stats(self) -> None:
        """Zero the request counters (``max_concurrent`` restarts from what is in flight)."""
        with self._lock:
            self._dispatcher.counters = RequestCounters(max_concurrent=self._in_flight)

    # running it ---------------------------------------------------------------------------

    def _respond(self, method: str, path: str, query: str, token: str | None, body: bytes) -> Reply:
        with self._lock:
            return self._dispatcher.respond(method, path, query, token, body)

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            counters = self._dispatcher.counters
            counters.max_concurrent = max(counters.max_concurrent, self._in_flight)

    def _exit(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one ``httpx.Request`` (the function behind :meth:`transport`).

        Resets raise like a dropped connection would: ``"reset_before"`` raises
        :class:`httpx.ConnectError`, ``"reset_after"`` (applied first) :class:`httpx.ReadError`.
        """
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = request.read()
        self._enter()
        try:
            reply = self._respond(
                request.method,
                request.url.path,
                request.url.query.decode("ascii", "replace"),
                request.headers.get("Api-Token"),
                body,
            )
            if reply.delay > 0 and self._real_clock:
                time.sleep(reply.delay)
        finally:
            self._exit()
        if reply.reset == "before":
            raise httpx.ConnectError("connection reset", request=request)
        if reply.reset is not None:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(
            reply.status,
            headers=[("Content-Type", reply.content_type), *reply.headers],
            content=reply.body,
            request=request,
        )

    def transport(self) -> httpx.MockTransport:
        """An ``httpx.MockTransport`` on :meth:`handler`, for ``httpx.Client`` and ``AsyncClient``.

        The handler is synchronous: under ``AsyncClient`` it runs on the event loop (and a
        real-clock ``latency`` or ``"slow"`` fault blocks the loop while it sleeps).
        """
        return httpx.MockTransport(self.handler)

    def client(self, **options: Any) -> ActiveCampaign:
        """An :class:`~acexport.ActiveCampaign` wired to this fake through :meth:`transport`.

        It uses the fake's key and, when the fake runs on a :class:`VirtualClock`, that clock
        for its rate limits and waits: retries, throttling and batch polling then take no
        real time. ``options`` go to the client (``max_retries=``, ``requests_per_second=``
        ...). Close it (``with fake.client() as client:``) when done.
        """
        return ActiveCampaign(
            "https://fake.api-us1.com",
            self.api_key,
            transport=self.transport(),
            clock=self._clock,
            sleep=self._clock.sleep if isinstance(self._clock, VirtualClock) else None,
            **options,
        )

    def async_client(self, **options: Any) -> AsyncActiveCampaign:
        """The :class:`~acexport.AsyncActiveCampaign` twin of :meth:`client`."""
        return AsyncActiveCampaign(
            "https://fake.api-us1.com",
            self.api_key,
            transport=self.transport(),
            clock=self._clock,
            sleep=self._clock.asleep if isinstance(self._clock, VirtualClock) else None,
            **options,
        )

    def serve(self) -> FakeServer:
        """Start serving on ``127.0.0.1`` (ephemeral port) and return the running server.

        ``with fake.serve() as server: httpx.Client(base_url=server.url)``. ``server.url`` has no
        ``/api/3``. Resets close the socket with a TCP RST and no response.
        """
        return FakeServer(self)

    def __repr__(self) -> str:
        """A short summary (no key)."""
        with self._lock:
            store = self._dispatcher.store
            return (
                f"<FakeActiveCampaign contacts={len(store.contacts)} lists={len(store.lists)} "
                f"batches={len(store.batches)}>"
            )
