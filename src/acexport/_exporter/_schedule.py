"""What to do next in a bulk export, and what each answer means for its rows. Pure.

:class:`Scheduler` holds the batches waiting to be submitted and those in flight (submitted,
awaiting ``/import/info``), and settles every row into the counts of an :class:`ExportReport`.
The sync and async exporters ask it for the next action (submit a batch, poll a batch, wait,
read more input, or stop) and tell it what happened; it never sleeps, reads no clock of its own
and touches no socket, so every rule below is tested without either.

Rules:

- A batch is submitted as soon as the bulk-import budget allows; earlier batches are polled in
  between (first poll ``first_poll`` seconds after submission, since ``/import/info`` answers
  ``status: false`` for about a second, then every ``poll_interval`` seconds, growing).
- Polls are capped at ``poll_rate`` a second, the part of the account's request budget that
  submissions do not need: when ActiveCampaign is slow and many batches wait, each is polled
  less often instead of polls crowding out submissions.
- At most ``max_in_flight`` batches are submitted and unsettled at once: no more input is read
  until one settles, so memory stays bounded. Submits and polls may run concurrently in the
  driver; a polled batch is claimed (not polled again) until its answer is settled, and
  every answer is applied here, in the driver's one loop.
- A 400 naming contacts (``failureReasons[].contact`` = index in the batch) rejects those rows
  with ActiveCampaign's reason and resubmits the rest.
- A batch that ends ``failed`` or ``interrupted`` is resubmitted up to ``max_resubmits`` times,
  then (a *poison* contact can fail its whole batch) split in halves, new submissions; a half
  that fails is split again at once, a lone row resubmitted up to ``max_resubmits`` times, then
  failed: only poison rows fail, within ``2 * ceil(log2(n)) + max_resubmits`` more imports
  each (18 for 250). ``split_failing=False``: fail the rows instead. Emails in a batch's
  ``failure`` list are rejected.
- A batch that could not be submitted after the client's retries: its rows are failed. After
  ``max_consecutive_failures`` such batches in a row the export stops (the API is down).
- A batch unfinished ``settle_timeout`` seconds after submission: its rows are failed, with
  the batch id in the reason so it can be checked by hand.
- With a state (``effects`` is a list), every answered submit and every ended batch is
  recorded as an effect for the driver to write: a batch's rows are pending from its submit,
  confirmed when it completes; a batch that timed out or was abandoned stays open in the
  state, for the next run to settle.
"""

from __future__ import annotations

import enum
import json
import math
from collections import deque
from collections.abc import Iterable
from typing import Any

import attrs

from .._core._operations import Operation, bulk_import, import_info
from .._exceptions import APIError, APIStatusError, AuthenticationError, BadRequestError
from .._models import BulkImportInfo, BulkImportStatus
from .._report import RowErrorKind, RowErrors
from ._delta import Effect, Recorded, Settled
from ._pipeline import Batch, PlannedContact

__all__ = [
    "CannotContinue",
    "InFlight",
    "Input",
    "Phase",
    "Poll",
    "Scheduler",
    "Stop",
    "Submit",
    "Tally",
    "Wait",
    "operation",
]


@attrs.define
class Tally:
    """Rows settled by sending: exported, rejected, failed, and their errors."""

    exported: int = 0
    rejected: int = 0
    failed: int = 0
    errors: RowErrors = attrs.field(factory=RowErrors)

    def not_exported(
        self, contacts: Iterable[PlannedContact], kind: RowErrorKind, reason: str
    ) -> int:
        """Count ``contacts`` as ``kind`` (rejected or failed), each with a RowError."""
        n = 0
        for c in contacts:
            self.errors.add(c.index, c.email, kind, reason, c.profile)
            n += 1
        if kind == "rejected":
            self.rejected += n
        elif kind == "failed":
            self.failed += n
        return n


@attrs.define(eq=False)
class InFlight:
    """A submitted batch: its id, when it was sent, when to poll it next."""

    batch: Batch
    batch_id: str
    submitted_at: float
    next_poll: float
    resubmits: int
    polls: int = 0
    poll_errors: int = 0
    #: how many splits made this batch (0: as planned)
    depth: int = 0


_TOLERANCE = 1e-6
_MAX_SUBMITTING = 2


@attrs.frozen
class Submit:
    batch: Batch
    resubmits: int = 0
    #: what happened to the earlier attempt, for a resubmission ("batch X ended interrupted")
    history: str = ""
    #: how many splits made this batch (0: as planned)
    depth: int = 0


@attrs.frozen
class Poll:
    flight: InFlight


@attrs.frozen
class Wait:
    seconds: float


@attrs.frozen
class Input:
    """Read more profiles (the scheduler has room for another batch)."""


@attrs.frozen
class Stop:
    """Everything submitted has settled."""


class CannotContinue(Exception):
    """The export cannot go on (credentials revoked, list deleted, API down)."""

    def __init__(self, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


def _contact_indexes(error: APIStatusError, batch_size: int) -> dict[int, str] | None:
    """``{position in batch: reason}`` from a bulk 400's ``failureReasons``, if it names any."""
    try:
        body = json.loads(error.body)
    except ValueError:
        return None
    reasons = body.get("failureReasons") if isinstance(body, dict) else None
    if not isinstance(reasons, list):
        return None
    named: dict[int, str] = {}
    for item in reasons:
        if not isinstance(item, dict):
            continue
        pos = item.get("contact")
        try:
            i = int(pos)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if 0 <= i < batch_size:
            reason = str(item.get("failureReason") or item.get("reason") or "refused")
            named[i] = f"ActiveCampaign refused it: {reason.strip()}"
    return named or None


def operation(action: Submit | Poll) -> Operation[Any]:
    """The API call an action makes: the bulk import, or the batch's status."""
    if isinstance(action, Submit):
        batch = action.batch
        return bulk_import(batch.body(), contact_count=len(batch))
    return import_info(action.flight.batch_id)


class Phase(enum.Enum):
    """Where a bulk export is in its life; the one state that says what may still be sent.

    ``READING``: input is read, batches submitted and polled. ``DRAINING``: the input ended;
    what is pending is still submitted, what is in flight polled. ``STOPPING``: cancelled, the
    iterable raised, or a fatal error: nothing new is submitted, what is in flight still
    settles. ``HALTED``: a second fatal error: nothing more is sent at all.
    """

    READING = "reading"
    DRAINING = "draining"
    STOPPING = "stopping"
    HALTED = "halted"

    @property
    def submits(self) -> bool:
        """True while batches may still be submitted."""
        return self in (Phase.READING, Phase.DRAINING)


@attrs.define
class Scheduler:
    """The state of one bulk export's sending. See the module docstring for the rules."""

    max_in_flight: int = 100
    first_poll: float = 1.0
    poll_interval: float = 2.0
    max_poll_interval: float = 15.0
    max_resubmits: int = 2
    split_failing: bool = True
    settle_timeout: float = 3600.0
    max_poll_errors: int = 5
    max_consecutive_failures: int = 3
    poll_rate: float | None = None
    submit_lead: float = 0.05
    tally: Tally = attrs.field(factory=Tally)
    pending: deque[Submit] = attrs.field(factory=deque)
    submitting: list[Submit] = attrs.field(factory=list)
    in_flight: deque[InFlight] = attrs.field(factory=deque)
    phase: Phase = Phase.READING
    #: What the driver must write to the export's state (None: the export has no state).
    effects: list[Effect] | None = None
    _consecutive_failures: int = 0
    _poll_slot: float = -math.inf

    # --- what to do next --------------------------------------------------------------------

    def _unsettled(self) -> int:
        return len(self.in_flight) + len(self.submitting)

    def wants_input(self) -> bool:
        return (
            self.phase is Phase.READING
            and not self.pending
            and self._unsettled() < self.max_in_flight
        )

    def next_action(
        self, now: float, *, bulk_wait: float = 0.0
    ) -> Submit | Poll | Wait | Input | Stop:
        """The next thing to do. ``bulk_wait``: seconds until the bulk budget has a slot."""
        # Deadlines within a microsecond count as reached: a float clock does not advance by
        # 1e-17, so waiting for such a remainder would never end.
        soon = now + _TOLERANCE
        due = self._due_poll(soon) if soon >= self._poll_slot else None
        can_submit = (
            bool(self.pending)
            and self.phase.submits
            and self._unsettled() < self.max_in_flight
            # Two submissions may overlap (enough when a request takes up to two bulk slots);
            # more would only wait in the rate limiter, holding workers that polls need.
            and len(self.submitting) < _MAX_SUBMITTING
        )
        # Submit when the bulk slot is (nearly) free, so a submission never holds a request
        # slot waiting; use the gap before it for polls, then wait for it.
        if can_submit and bulk_wait <= self.submit_lead + _TOLERANCE:
            action = self.pending.popleft()
            self.submitting.append(action)
            return action
        if due is not None:
            due.next_poll = math.inf  # claimed until its answer is settled
            if self.poll_rate:
                self._poll_slot = max(now, self._poll_slot) + 1.0 / self.poll_rate
            return Poll(due)
        next_poll = max(
            self._poll_slot, min((f.next_poll for f in self.in_flight), default=math.inf)
        )
        if can_submit:
            return Wait(max(0.0, min(bulk_wait - self.submit_lead, next_poll - now)))
        if self.wants_input():
            return Input()
        if self.in_flight or self.submitting:
            return Wait(max(0.0, next_poll - now))
        # Nothing in flight and nothing to read: done (batches still pending only when
        # stopping; the driver settles them as not sent).
        return Stop()

    def _due_poll(self, now: float) -> InFlight | None:
        best: InFlight | None = None
        for f in self.in_flight:
            if f.next_poll <= now and (best is None or f.next_poll < best.next_poll):
                best = f
        return best

    # --- what happened ----------------------------------------------------------------------

    def add(self, batch: Batch) -> None:
        self.pending.append(Submit(batch))

    def answer(self, action: Submit | Poll, outcome: object, now: float) -> None:
        """Apply what a submit or poll gave: its result, or the :class:`APIError` it raised."""
        if isinstance(action, Submit):
            if isinstance(outcome, APIError):
                self.submit_failed(action, outcome)
            else:
                self.submitted(action, str(outcome), now)
        elif isinstance(outcome, APIError):
            self.poll_failed(action.flight, outcome, now)
        else:
            assert isinstance(outcome, BulkImportInfo)
            self.polled(action.flight, outcome, now)

    def _unclaim(self, action: Submit) -> None:
        if action in self.submitting:
            self.submitting.remove(action)

    def submitted(self, action: Submit, batch_id: str, now: float) -> None:
        self._unclaim(action)
        self._consecutive_failures = 0
        if self.effects is not None:
            self.effects.append(Recorded(batch_id, action.batch.contacts))
        self.in_flight.append(
            InFlight(
                action.batch,
                batch_id,
                now,
                now + self.first_poll,
                action.resubmits,
                depth=action.depth,
            )
        )

    def submit_failed(self, action: Submit, error: APIError) -> None:
        """The client gave up submitting ``action`` (retries spent, or a refusal)."""
        self._unclaim(action)
        batch = action.batch
        if isinstance(error, AuthenticationError):
            self._requeue_front(action)
            raise CannotContinue(
                f"ActiveCampaign refused the API key mid-export: {error.message}", error
            )
        if isinstance(error, BadRequestError):
            named = _contact_indexes(error, len(batch))
            if named:
                for i, reason in sorted(named.items()):
                    self.tally.not_exported([batch.contacts[i]], "rejected", reason)
                rest = [c for i, c in enumerate(batch.contacts) if i not in named]
                if rest:
                    self.pending.appendleft(Submit(batch.subset(rest), action.resubmits))
                return
            self.tally.not_exported(batch, "rejected", f"ActiveCampaign refused the batch: {error}")
            return
        self.tally.not_exported(batch, "failed", f"could not submit the batch: {error}")
        self._consecutive_failures += 1
        if self._consecutive_failures >= self.max_consecutive_failures:
            raise CannotContinue(
                f"{self._consecutive_failures} batches in a row could not be submitted; "
                f"last error: {error}",
                error,
            )

    def polled(self, flight: InFlight, info: BulkImportInfo, now: float) -> None:
        flight.polls += 1
        flight.poll_errors = 0
        if not info.finished:
            if now - flight.submitted_at >= self.settle_timeout:
                self._drop(flight)
                state = info.status.value if info.status else "not started"
                self.tally.not_exported(
                    flight.batch,
                    "failed",
                    f"batch {flight.batch_id} still {state} after {self.settle_timeout:.0f}s; "
                    "check it in ActiveCampaign",
                )
                return
            interval = min(self.max_poll_interval, self.poll_interval * (1 + flight.polls // 5))
            flight.next_poll = now + interval
            return
        self._drop(flight)
        refused = {e.strip().lower() for e in info.failed_emails}
        bad = [c for c in flight.batch if c.email.lower() in refused] if refused else []
        if bad:
            self.tally.not_exported(
                bad,
                "rejected",
                f"ActiveCampaign refused this contact in batch {flight.batch_id} "
                "(an invalid address, or one on the exclusion list)",
            )
        good = (
            [c for c in flight.batch if c.email.lower() not in refused]
            if bad
            else flight.batch.contacts
        )
        if self.effects is not None:
            landed = good if info.status is BulkImportStatus.COMPLETED else ()
            self.effects.append(Settled(flight.batch_id, landed))
        if info.status is BulkImportStatus.COMPLETED:
            self.tally.exported += len(good)
            return
        status = info.status.value if info.status else "unknown"
        if not good:
            return
        self._failed_again(flight, flight.batch.subset(good) if bad else flight.batch, status)

    def _failed_again(self, flight: InFlight, batch: Batch, status: str) -> None:
        """A batch ended failed or interrupted: resubmit it, split it, or fail its rows."""
        tries = flight.resubmits + 1
        if self.phase.submits:
            # A batch as planned is retried whole first (most failures are by chance); a
            # split half that fails is split again at once, and a lone row is retried.
            whole = len(batch) == 1 or flight.depth == 0 or not self.split_failing
            if whole and flight.resubmits < self.max_resubmits:
                self.pending.appendleft(
                    Submit(
                        batch,
                        flight.resubmits + 1,
                        f"batch {flight.batch_id} ended {status} (some rows may have been applied)",
                        flight.depth,
                    )
                )
                return
            if len(batch) > 1 and self.split_failing:
                half = (len(batch) + 1) // 2
                history = (
                    f"batch {flight.batch_id} ended {status} {tries} times; split in halves "
                    "to find the rows that make it fail"
                )
                for part in (batch.contacts[half:], batch.contacts[:half]):
                    self.pending.appendleft(
                        Submit(batch.subset(part), 0, history, flight.depth + 1)
                    )
                return
        alone = flight.depth and len(batch) == 1
        reason = f"batch {flight.batch_id} ended {status} {tries} times" + (
            f" with this contact alone (split {flight.depth} times from a batch that kept "
            "failing): ActiveCampaign refuses something in it without saying what"
            if alone
            else "; ActiveCampaign gave no reason per contact"
        )
        self.tally.not_exported(batch, "failed", reason)

    def poll_failed(self, flight: InFlight, error: APIError, now: float) -> None:
        """``/import/info`` failed after the client's retries."""
        if isinstance(error, AuthenticationError):
            raise CannotContinue(
                f"ActiveCampaign refused the API key mid-export: {error.message}", error
            )
        flight.poll_errors += 1
        if (
            flight.poll_errors >= self.max_poll_errors
            or now - flight.submitted_at >= self.settle_timeout
        ):
            self._drop(flight)
            self.tally.not_exported(
                flight.batch,
                "failed",
                f"the status of batch {flight.batch_id} could not be read ({error}); "
                "check it in ActiveCampaign",
            )
            return
        flight.next_poll = now + self.max_poll_interval

    def _drop(self, flight: InFlight) -> None:
        self.in_flight.remove(flight)

    def _requeue_front(self, action: Submit) -> None:
        self.pending.appendleft(action)

    # --- ending -----------------------------------------------------------------------------

    def end_input(self) -> None:
        """No more batches will be added."""
        if self.phase is Phase.READING:
            self.phase = Phase.DRAINING

    def stop(self) -> None:
        """Submit nothing more; what is in flight still settles."""
        if self.phase is not Phase.HALTED:
            self.phase = Phase.STOPPING

    def halt(self) -> None:
        """Send nothing more at all."""
        self.phase = Phase.HALTED

    def abandon(self, reason: str) -> None:
        """Settle every row not yet settled as failed (the export is ending early)."""
        while self.pending:
            action = self.pending.popleft()
            earlier = f"; earlier, {action.history}" if action.history else ""
            self.tally.not_exported(action.batch, "failed", f"{reason}{earlier}")
        while self.submitting:
            self.tally.not_exported(
                self.submitting.pop().batch,
                "failed",
                f"{reason} (its submission was not confirmed)",
            )
        while self.in_flight:
            flight = self.in_flight.popleft()
            self.tally.not_exported(
                flight.batch, "failed", f"{reason} (batch {flight.batch_id} was not confirmed)"
            )
