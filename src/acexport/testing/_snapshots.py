"""The fake's public snapshot types: :class:`FakeContact`, :class:`FakeBatch`, :class:`FakeStats`.

Frozen copies handed to tests by ``FakeActiveCampaign.contacts``, ``.batches`` and ``.stats``;
later changes to the fake do not show in them. The mutable records they are copied from live in
``_records.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

import attrs

__all__ = ["BatchStatus", "FakeBatch", "FakeContact", "FakeStats"]

BatchStatus: TypeAlias = bool | str
"""``False`` (not started yet), ``"active"``, or a terminal ``"completed"``/``"failed"``/
``"interrupted"``: exactly what ``/import/info`` shows as ``status``."""


def _int_str(value: Mapping[int, str]) -> Mapping[int, str]:
    return dict(value)


def _int_int(value: Mapping[int, int]) -> Mapping[int, int]:
    return dict(value)


def _endpoint_counts(value: Mapping[tuple[str, str], int]) -> Mapping[tuple[str, str], int]:
    return dict(value)


def _str_int(value: Mapping[str, int]) -> Mapping[str, int]:
    return dict(value)


def _frozen_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class FakeContact:
    """A snapshot of one contact in the fake (later changes do not show in it).

    ``fields`` maps custom-field id to value; ``tags`` holds tag *names*; ``lists`` maps list
    id to the contact's status on it (0 unconfirmed, 1 active, 2 unsubscribed, 3 bounced).
    """

    id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    fields: Mapping[int, str] = attrs.field(factory=dict, converter=_int_str)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_set)
    lists: Mapping[int, int] = attrs.field(factory=dict, converter=_int_int)


@attrs.frozen
class FakeBatch:
    """A snapshot of one accepted bulk-import batch.

    ``status`` is what ``/import/info`` shows now (``False``, ``"active"`` or terminal);
    ``outcome`` is the terminal status it has or will have. ``success`` holds the ids
    (strings) of contacts the batch created; ``failure`` the emails it failed (excluded
    addresses). Both stay empty until the batch ends. ``exclude_automations`` has one flag per
    contact (the contact's own flag, else the request's top-level one, else ``False``).
    Times are on the fake's clock.
    """

    id: str
    status: BatchStatus
    outcome: str
    contacts: int
    emails: tuple[str, ...]
    exclude_automations: tuple[bool, ...]
    success: tuple[str, ...]
    failure: tuple[str, ...]
    submitted_at: float
    active_at: float
    finishes_at: float

    @property
    def finished(self) -> bool:
        """Whether the batch has reached its terminal status."""
        return self.status in ("completed", "failed", "interrupted")


@attrs.frozen
class FakeStats:
    """A snapshot of the fake's request counters (see ``FakeActiveCampaign.stats``).

    - ``requests``: every request received, refused or faulted ones included.
    - ``by_endpoint``: ``(method, path template)`` to count, e.g.
      ``("POST", "/api/3/import/bulk_import")``; unknown paths count under their own path.
    - ``refused_403``: wrong or missing ``Api-Token``.
    - ``refused_429``: refused by the ``requests_per_second`` bucket (not injected 429s).
    - ``refused_bulk_rate``: bulk imports refused by the ``bulk_imports_per_minute`` buckets.
    - ``bulk_requests`` / ``bulk_contacts``: bulk imports accepted (queued) and their contacts.
    - ``faults``: injected faults by name (``"503"``, ``"reset_after"``...).
    - ``max_concurrent``: the most requests in flight at once (meaningful in server mode).
    """

    requests: int = 0
    by_endpoint: Mapping[tuple[str, str], int] = attrs.field(
        factory=dict, converter=_endpoint_counts
    )
    refused_403: int = 0
    refused_429: int = 0
    refused_bulk_rate: int = 0
    bulk_requests: int = 0
    bulk_contacts: int = 0
    faults: Mapping[str, int] = attrs.field(factory=dict, converter=_str_int)
    max_concurrent: int = 0

    def calls(self, method: str, path: str) -> int:
        """How many requests hit ``method`` + ``path`` (a template such as ``/api/3/lists``)."""
        return self.by_endpoint.get((method.upper(), path), 0)
