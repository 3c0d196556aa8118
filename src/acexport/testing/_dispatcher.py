"""The fake's request dispatcher: one request in, one :class:`Reply` out.

:meth:`Dispatcher.respond` does, in order, what happens to every request: apply the bulk-import
batches that have finished, count the request, draw an injected fault, check the ``Api-Token``,
take a token from the ``requests_per_second`` quota, then route to an endpoint handler (the
``_endpoints_*.py`` modules, merged into :data:`ROUTES` here). Transport-agnostic:
``FakeActiveCampaign.handler`` and the loopback server put the reply on a wire. Not thread-safe;
the owner holds its lock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qsl

import attrs

from . import _endpoints_account, _endpoints_bulk, _endpoints_contacts
from ._faults import Fault, Faults
from ._limits import AccountQuota, RequestCounters
from ._replies import (
    BULK_RATE_BODY,
    JSON,
    LOGIN_PAGE,
    STATUS_PHRASES,
    TRUNCATED_BODY,
    Reply,
    reply_json,
)
from ._routing import BadBody, Request, RouteTable
from ._store import Store

__all__ = ["ROUTES", "Dispatcher"]

ROUTES: Final = RouteTable.merge(
    [_endpoints_account.routes, _endpoints_contacts.routes, _endpoints_bulk.routes]
)
"""Every endpoint the fake serves; anything else is 404 ``{"message": "Not Found"}``."""


class Dispatcher:
    """Everything behind the fake's HTTP surface: the account's data, quotas, faults, counters."""

    def __init__(
        self,
        *,
        api_key: str,
        clock: Callable[[], float],
        faults: Faults,
        requests_per_second: float | None,
        bulk_imports_per_minute: float | None,
        latency: float,
        import_delay: float,
        import_seconds_per_contact: float,
        seed: int,
        lean: bool = False,
    ) -> None:
        now = clock()
        self.api_key = api_key
        self.clock = clock
        self.faults = faults
        self.latency = latency
        self.import_delay = import_delay
        self.import_seconds_per_contact = import_seconds_per_contact
        self.store = Store(now, lean=lean)
        self.counters = RequestCounters()
        self.rng = random.Random(seed)
        self.batch_seq = 0
        self.rate: AccountQuota | None = None
        if requests_per_second is not None:
            self.rate = AccountQuota.full(max(1.0, requests_per_second), requests_per_second, now)
        self.bulk_multi: AccountQuota | None = None
        self.bulk_single: AccountQuota | None = None
        if bulk_imports_per_minute is not None:
            self.bulk_multi = AccountQuota.full(
                max(1.0, bulk_imports_per_minute), bulk_imports_per_minute / 60.0, now
            )
            single = bulk_imports_per_minute * 0.2
            self.bulk_single = AccountQuota.full(max(1.0, single), single / 60.0, now)

    def respond(self, method: str, path: str, query: str, token: str | None, body: bytes) -> Reply:
        """Answer one request."""
        now = self.clock()
        self.store.apply_finished_batches(now)
        method = method.upper()
        path = path.rstrip("/") or "/"
        found = ROUTES.match(path)
        template = found[0] if found else path
        counters = self.counters
        counters.requests += 1
        key = (method, template)
        counters.by_endpoint[key] = counters.by_endpoint.get(key, 0) + 1

        fault = self.faults._draw(method, path, template)
        reply: Reply | None = None
        extra = 0.0
        reset: str | None = None
        info_false = False
        if fault is not None:
            name = str(fault)
            counters.faults[name] = counters.faults.get(name, 0) + 1
            reply = self._fault_reply(fault)
            if fault == "slow":
                extra = self.faults.slow_seconds
            elif fault == "reset_after":
                reset = "after"
            elif fault == "info_false":
                info_false = True
        if reply is None:
            params = dict(parse_qsl(query, keep_blank_values=True))
            req = Request(method, path, params, body, found[1] if found else [], now, info_false)
            reply = self._serve(req, template if found else None, token)
            if reset:
                reply = attrs.evolve(reply, reset=reset)
        return attrs.evolve(reply, delay=self.latency + extra)

    def _fault_reply(self, fault: Fault) -> Reply | None:
        """The reply that replaces the real one, or ``None`` if the request is still served."""
        if isinstance(fault, int):
            headers = [("Retry-After", "1")] if fault == 429 else []
            phrase = STATUS_PHRASES.get(fault, "Error")
            return reply_json(fault, {"message": phrase}, headers)
        if fault == "reset_before":
            return Reply(0, reset="before")
        if fault == "html":
            return Reply(200, LOGIN_PAGE, "text/html; charset=UTF-8")
        if fault == "truncated":
            return Reply(200, TRUNCATED_BODY, JSON)
        if fault == "bulk_rate":
            return reply_json(400, BULK_RATE_BODY)
        return None  # slow, reset_after, info_false: served normally

    def _serve(self, req: Request, template: str | None, token: str | None) -> Reply:
        """Authenticate, take a rate-limit token and call the endpoint's handler."""
        if token != self.api_key:
            self.counters.refused_403 += 1
            return reply_json(403, {"message": "Forbidden"})
        extra_headers: list[tuple[str, str]] = []
        if self.rate is not None:
            wait = self.rate.take(req.now)
            limit_header = ("RateLimit-Limit", str(math.floor(self.rate.capacity)))
            if wait is not None:
                self.counters.refused_429 += 1
                retry = str(max(1, math.ceil(wait - 1e-9)))
                return reply_json(
                    429,
                    {"message": "Too Many Requests"},
                    [("Retry-After", retry), limit_header, ("RateLimit-Remaining", "0")],
                )
            extra_headers = [
                limit_header,
                ("RateLimit-Remaining", str(math.floor(self.rate.tokens + 1e-9))),
            ]
        handler = ROUTES.get(req.method, template) if template else None
        if handler is None:
            return reply_json(404, {"message": "Not Found"}, extra_headers)
        try:
            reply = handler(self, req)
        except BadBody as exc:
            reply = reply_json(400, {"message": str(exc)})
        if extra_headers:
            reply = attrs.evolve(reply, headers=reply.headers + tuple(extra_headers))
        return reply
