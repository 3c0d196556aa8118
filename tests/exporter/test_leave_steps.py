"""The leavers' generators, driven by hand (no I/O): what each answer means for each leaver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from acexport import (
    BulkImportInfo,
    BulkImportStatus,
    NotFoundError,
    ServerError,
    Tag,
    TrackedContact,
)
from acexport._caller import drive
from acexport._core._call import Sleep
from acexport._core._operations import Operation, Page
from acexport._exporter._membership import Removal, guard, unsubscribe_steps, untag_steps

LEAVERS = [TrackedContact(f"l{i}@x.io") for i in range(600)]


def not_found(op: Operation[Any]) -> NotFoundError:
    return NotFoundError("gone", method=op.method, url=op.path, status_code=404, body="")


def run(steps: Any, answer: Callable[[Any], Any]) -> tuple[Removal, list[Any]]:
    seen: list[Any] = []

    def perform(step: Any) -> Any:
        seen.append(step)
        result = answer(step)
        if isinstance(result, Exception):
            raise result
        return result

    return drive(steps, perform, (Exception,)), seen


def test_unsubscribe_sends_250_a_batch_and_settles_each_by_its_answer() -> None:
    infos = {
        "b0": BulkImportInfo("b0", BulkImportStatus.COMPLETED, failed_emails=("L3@x.io",)),
        "b1": BulkImportInfo("b1", BulkImportStatus.FAILED),
    }
    submitted: list[bytes] = []

    def answer(step: Any) -> Any:
        if isinstance(step, Sleep):
            return None
        if step.path == "/import/bulk_import":
            submitted.append(step.body)
            return f"b{len(submitted) - 1}"
        batch = dict(step.params)["batchId"]
        return infos.get(batch, BulkImportInfo(batch, BulkImportStatus.ACTIVE))

    removal, seen = run(
        unsubscribe_steps(LEAVERS, 7, poll_interval=2.0, settle_timeout=10.0), answer
    )
    assert len(submitted) == 3  # 250 + 250 + 100
    assert submitted[0].startswith(b'{"contacts":[{"email":"l0@x.io","unsubscribe":[{"listid":7}]}')
    assert b'"subscribe":' not in submitted[0]  # never subscribes anyone
    assert set(removal.removed) == {c.email for c in LEAVERS[:250]} - {"l3@x.io"}
    reasons = {e.email: e.reason for e in removal.errors}
    assert reasons["l3@x.io"] == "ActiveCampaign refused the unsubscribe"
    assert reasons["l300@x.io"] == "the unsubscribe import ended failed"
    assert reasons["l599@x.io"] == "the unsubscribe import had not finished after 10 s"
    assert len(removal.removed) + len(removal.errors) == 600
    assert sum(isinstance(s, Sleep) for s in seen) == 5  # bounded by settle_timeout


def test_unsubscribe_keeps_a_chunk_whose_submit_failed() -> None:
    def answer(step: Any) -> Any:
        if step.path == "/import/bulk_import":
            return ServerError("down", method="POST", url=step.path, status_code=503, body="")
        raise AssertionError("nothing to poll")

    removal, _ = run(unsubscribe_steps(LEAVERS[:10], 7, poll_interval=1, settle_timeout=5), answer)
    assert removal.removed == ()
    assert [e.email for e in removal.errors] == [c.email for c in LEAVERS[:10]]
    assert removal.errors[0].reason.startswith("the unsubscribe import was not accepted: down")


def test_untag_with_a_tag_that_no_longer_exists_makes_no_call_per_leaver() -> None:
    def answer(step: Any) -> Any:
        assert step.path == "/tags", step
        return Page((Tag(5, "segment:vip-old"),), total=1)  # a search hit, not the tag

    removal, seen = run(untag_steps(LEAVERS[:3], ("segment:vip",)), answer)
    assert removal.removed == ("l0@x.io", "l1@x.io", "l2@x.io")
    assert removal.errors == ()
    assert len(seen) == 1


def test_untag_a_stale_contact_id_is_looked_up_again_by_email() -> None:
    from acexport import Contact, ContactTag

    calls: list[str] = []

    def answer(step: Any) -> Any:
        calls.append(f"{step.method} {step.path}")
        if step.path == "/tags":
            return Page((Tag(5, "vip"),), total=1)
        if step.path == "/contacts/41/contactTags":
            return not_found(step)
        if step.path == "/contacts":
            return Contact(42, "l0@x.io")
        if step.path == "/contacts/42/contactTags":
            return (ContactTag(9, 42, 5), ContactTag(10, 42, 6))
        return None

    removal, _ = run(untag_steps([TrackedContact("l0@x.io", 41)], ("vip",)), answer)
    assert removal.removed == ("l0@x.io",)
    assert calls == [
        "GET /tags",
        "GET /contacts/41/contactTags",
        "GET /contacts",
        "GET /contacts/42/contactTags",
        "DELETE /contactTags/9",  # only the mapping's tag; tag 6 stays
    ]


def test_the_guard() -> None:
    assert guard(100, 10, 0.1) is None
    assert guard(0, 0, 0.1) is None
    assert guard(100, 0, 0.0) is None
    problem = guard(100, 11, 0.1)
    assert problem is not None
    assert problem.startswith("removed nobody: 11 of the 100 contacts")
    assert "max_leave=0.1" in problem
    dry = guard(3, 3, 0.5, dry_run=True)
    assert dry is not None
    assert dry.startswith("this dry run found 3 of the 3")
