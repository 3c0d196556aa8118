"""The identity generator (``_exporter/_identity.py``) driven by hand: every way a change of
email in place can end."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from acexport import NotFoundError, ServerError, UnprocessableEntityError
from acexport._exporter._batch import PlannedContact
from acexport._exporter._identity import Move, Moved, identity_steps
from acexport._models import Contact

URL = "https://acct.api-us1.com/api/3/contacts/1"


def _move(new: str, old: str, contact_id: int | None) -> Move:
    contact = PlannedContact(0, new, None, None, None, {}, b"{}", key="k-" + old)
    return Move(contact, old, contact_id)


def _error(cls: type[Exception], status: int, message: str = "no") -> Exception:
    return cls(message, method="PUT", url=URL, status_code=status)  # type: ignore[call-arg]


def _drive(steps: Generator[Any, Any, Moved], answers: list[Any]) -> tuple[Moved, list[Any]]:
    seen: list[Any] = []
    try:
        step = next(steps)
        while True:
            seen.append(step)
            reply = answers.pop(0)
            step = steps.throw(reply) if isinstance(reply, Exception) else steps.send(reply)
    except StopIteration as done:
        return done.value, seen


def test_every_outcome_of_a_change_of_email() -> None:
    moves = [
        _move("new1@x.io", "old1@x.io", 11),  # known id: one PUT
        _move("new2@x.io", "old2@x.io", None),  # id looked up first, then PUT
        _move("new3@x.io", "old3@x.io", None),  # the old contact was deleted by hand
        _move("new4@x.io", "old4@x.io", 14),  # the new address is another contact's
        _move("new5@x.io", "old5@x.io", 15),  # refused for another reason
        _move("new6@x.io", "old6@x.io", 16),  # the contact is gone (404)
        _move("new7@x.io", "old7@x.io", 17),  # the API stays down
    ]
    answers: list[Any] = [
        Contact(id=11, email="new1@x.io"),
        Contact(id=12, email="old2@x.io"),
        Contact(id=12, email="new2@x.io"),
        None,
        _error(UnprocessableEntityError, 422, "Email address already exists in the system"),
        _error(UnprocessableEntityError, 422, "Field 'email' is invalid"),
        _error(NotFoundError, 404),
        _error(ServerError, 503),
    ]
    result, seen = _drive(identity_steps(moves), answers)
    assert [(m.contact.email, cid) for m, cid in result.done] == [
        ("new1@x.io", 11),
        ("new2@x.io", 12),
        ("new3@x.io", None),
        ("new6@x.io", None),
    ]
    refused = {m.contact.email: (kind, reason) for m, kind, reason in result.refused}
    assert refused["new4@x.io"][0] == "rejected"
    assert "already belongs to another ActiveCampaign contact" in refused["new4@x.io"][1]
    assert refused["new5@x.io"][0] == "rejected"
    assert "refused to change old5@x.io to new5@x.io" in refused["new5@x.io"][1]
    assert refused["new7@x.io"][0] == "failed"
    assert len(seen) == 8  # a PUT each, and one look-up for each unknown id
