"""Fault injection for the fake: a :data:`Fault` is one fault; :class:`Faults` (``fake.faults``)
holds every switch (scripted faults, random rates, batch outcomes) and draws from them.

To add a fault: add its name to :data:`FAULT_NAMES` (and to ``_ENDPOINT_ONLY`` if it makes sense
on one endpoint only), describe it in :class:`Faults`' docstring, and make
``Dispatcher._fault_reply`` (``_dispatcher.py``) answer it, or ``Dispatcher.respond`` carry it
to the endpoint that acts on it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from typing import Final, TypeAlias

import attrs

__all__ = ["BATCH_OUTCOMES", "FAULT_NAMES", "Fault", "Faults"]

Fault: TypeAlias = int | str
"""One fault, the value you pass to :meth:`Faults.queue`: an HTTP status code (``500``, ``503``,
``429``...) or a name such as ``"reset_after"`` (:class:`Faults` lists them and what each does)."""

FAULT_NAMES: Final = frozenset(
    {"reset_before", "reset_after", "html", "truncated", "slow", "bulk_rate", "info_false"}
)
"""The named faults :meth:`Faults.queue` and :meth:`Faults.set_rates` accept besides statuses."""

BATCH_OUTCOMES: Final = frozenset({"completed", "failed", "interrupted"})
"""The terminal bulk-import statuses :meth:`Faults.batch_outcomes` accepts."""

BULK_IMPORT_PATH: Final = "/api/3/import/bulk_import"
IMPORT_INFO_PATH: Final = "/api/3/import/info"

# Faults that only make sense on one endpoint: elsewhere they neither match nor get used up.
_ENDPOINT_ONLY: Final = {
    "bulk_rate": ("POST", BULK_IMPORT_PATH),
    "info_false": ("GET", IMPORT_INFO_PATH),
}


def _normalize(fault: object) -> Fault:
    if isinstance(fault, bool):
        raise TypeError(f"not a fault: {fault!r}")
    if isinstance(fault, str) and fault.isdigit():
        fault = int(fault)
    if isinstance(fault, int):
        if not 400 <= fault <= 599:
            raise ValueError(f"a status fault must be a 4xx or 5xx code, got {fault}")
        return fault
    if isinstance(fault, str) and fault in FAULT_NAMES:
        return fault
    raise ValueError(f"unknown fault {fault!r}; use a status code or one of {sorted(FAULT_NAMES)}")


def _applies(fault: Fault, method: str, path: str) -> bool:
    if isinstance(fault, str) and fault in _ENDPOINT_ONLY:
        want_method, want_path = _ENDPOINT_ONLY[fault]
        return method == want_method and path == want_path
    return True


@attrs.define
class _Scripted:
    fault: Fault
    path: str | None
    method: str | None
    remaining: int

    def matches(self, method: str, path: str, template: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.path is not None and not (
            path.startswith(self.path) or template.startswith(self.path)
        ):
            return False
        return _applies(self.fault, method, template)


class Faults:
    """All the fault switches of one fake, reached as ``fake.faults``; one fault is a :data:`Fault`.

    Thread-safe (one lock of its own).

    *Scripted* faults (:meth:`queue`) hit the next matching requests, in the order queued;
    they win over *probabilistic* ones (:meth:`set_rates`), which draw from an RNG seeded by
    the fake's ``seed``, so a run is reproducible. A fault is one of:

    - an HTTP status (``500``, ``502``, ``503``, ``504``...): that status with a JSON
      ``{"message": ...}`` body; the request is not applied. ``429`` comes with
      ``Retry-After: 1``.
    - ``"reset_before"``: the connection drops before the request is applied (server mode:
      the socket is reset without a response; transport mode: :class:`httpx.ConnectError`).
    - ``"reset_after"``: the request IS applied, then the connection drops without a response
      (transport mode: :class:`httpx.ReadError`). The hard case for retries.
    - ``"html"``: 200 with an HTML login page (``text/html``), as a proxy or SSO wall sends.
    - ``"truncated"``: 200 ``application/json`` whose body is cut: ``{"contact": {"id"``.
    - ``"slow"``: answer normally after :attr:`slow_seconds` more (server mode: a real sleep;
      transport mode: a real sleep only when the fake runs on the real clock, else ignored).
    - ``"bulk_rate"``: bulk import's HTTP 400 "Rate limit exceeded." (only matches
      ``POST /api/3/import/bulk_import``).
    - ``"info_false"``: ``/import/info`` answers ``"status": false`` (only matches
      ``GET /api/3/import/info``).

    :meth:`batch_outcomes` decides how the next accepted bulk-import batches end;
    :meth:`poison` makes every batch holding a given address end ``failed``.
    """

    def __init__(self, seed: int = 0) -> None:
        """Create empty fault settings; probabilistic draws use ``random.Random(seed)``."""
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._scripted: list[_Scripted] = []
        self._rates: list[tuple[Fault, float]] = []
        self._rate_paths: tuple[str, ...] | None = None
        self._outcomes: list[tuple[str, float]] = []
        self._poison: set[str] = set()
        self._slow_seconds = 0.25

    @property
    def slow_seconds(self) -> float:
        """How much later a ``"slow"`` fault answers, in seconds (default 0.25)."""
        with self._lock:
            return self._slow_seconds

    @slow_seconds.setter
    def slow_seconds(self, value: float) -> None:
        if value < 0:
            raise ValueError("slow_seconds must be >= 0")
        with self._lock:
            self._slow_seconds = float(value)

    def queue(
        self,
        fault: Fault,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int = 1,
    ) -> None:
        """Inject ``fault`` into the next ``times`` requests that match.

        ``path`` matches when the request path or its template (``/api/3/contacts/{id}``)
        starts with it, e.g. ``"/api/3/import/bulk_import"``; ``method`` is compared
        case-insensitively. ``None`` matches everything (except that ``"bulk_rate"`` and
        ``"info_false"`` only ever match their own endpoint).
        """
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times!r}")
        entry = _Scripted(_normalize(fault), path, method.upper() if method else None, times)
        with self._lock:
            self._scripted.append(entry)

    def set_rates(
        self,
        rates: Mapping[Fault, float] | Mapping[str, float] | Mapping[int, float],
        *,
        paths: Iterable[str] | None = None,
    ) -> None:
        """Replace the probabilistic faults: ``{"503": 0.05, "reset_before": 0.01}``.

        Each request (matching one of ``paths``' prefixes, or any request when ``paths`` is
        ``None``) draws one number from the seeded RNG and gets at most one fault; the
        probabilities must sum to at most 1. An empty mapping turns them off.
        """
        parsed = [(_normalize(name), float(p)) for name, p in rates.items()]
        if any(not 0.0 <= p <= 1.0 for _, p in parsed):
            raise ValueError("fault rates must be within [0, 1]")
        if sum(p for _, p in parsed) > 1.0 + 1e-9:
            raise ValueError("fault rates must sum to at most 1")
        with self._lock:
            self._rates = parsed
            self._rate_paths = tuple(paths) if paths is not None else None

    def batch_outcomes(self, outcomes: Iterable[str], *, applied_fraction: float = 0.5) -> None:
        """Make the next accepted bulk-import batches end with ``outcomes``, in order.

        Each entry is ``"completed"``, ``"failed"`` or ``"interrupted"``. A failed or
        interrupted batch applies only the first ``floor(n * applied_fraction)`` of its ``n``
        contacts; the rest are not applied and (as with ActiveCampaign) not reported: its
        ``failure`` list names only applied-portion contacts that failed (excluded emails),
        and is often empty.
        """
        if not 0.0 <= applied_fraction <= 1.0:
            raise ValueError("applied_fraction must be within [0, 1]")
        items = list(outcomes)
        for item in items:
            if item not in BATCH_OUTCOMES:
                raise ValueError(f"unknown batch outcome {item!r}; use {sorted(BATCH_OUTCOMES)}")
        with self._lock:
            self._outcomes.extend((item, applied_fraction) for item in items)

    def poison(self, emails: Iterable[str]) -> None:
        """Make every accepted bulk-import batch holding one of ``emails`` end ``failed``.

        Addresses are compared case-insensitively and accumulate over calls. Such a batch
        applies none of its contacts and its ``failure`` list is empty (ActiveCampaign: a batch
        may fail because of its input, without naming the contact); it does not use up an
        outcome queued with :meth:`batch_outcomes`. ``contact/sync`` is not affected.
        """
        wanted = [email.lower() for email in emails]
        with self._lock:
            self._poison.update(wanted)

    @property
    def pending(self) -> int:
        """How many scripted fault injections are still queued (counting ``times``)."""
        with self._lock:
            return sum(entry.remaining for entry in self._scripted)

    def clear(self) -> None:
        """Drop every scripted fault, rate and queued batch outcome."""
        with self._lock:
            self._scripted.clear()
            self._rates = []
            self._rate_paths = None
            self._outcomes.clear()
            self._poison.clear()

    # Used by the fake -------------------------------------------------------------------

    def _draw(self, method: str, path: str, template: str) -> Fault | None:
        with self._lock:
            for index, entry in enumerate(self._scripted):
                if entry.matches(method, path, template):
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        del self._scripted[index]
                    return entry.fault
            if not self._rates:
                return None
            if self._rate_paths is not None and not any(
                path.startswith(p) or template.startswith(p) for p in self._rate_paths
            ):
                return None
            roll = self._rng.random()
            cumulative = 0.0
            for fault, probability in self._rates:
                cumulative += probability
                if roll < cumulative:
                    return fault if _applies(fault, method, template) else None
            return None

    def _next_outcome(self, emails: Iterable[str] = ()) -> tuple[str, float]:
        with self._lock:
            if self._poison and any(e.lower() in self._poison for e in emails):
                return ("failed", 0.0)
            if self._outcomes:
                return self._outcomes.pop(0)
            return ("completed", 1.0)
