"""The small path's non-idempotent writes: read back after an ambiguous failure.

A reset or timeout once ``POST /contactTags`` (or ``POST /tags``) was sent, or a 2xx answer
that cannot be read, leaves it unknown whether the write was applied; the client does not
retry it. The small path reads the contact's tags (the tag by name) back, then settles or
sends again.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from acexport import (
    ActiveCampaign,
    APIConnectionError,
    APITimeoutError,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    ContactTag,
    ExportReport,
    FieldMapping,
    ResponseValidationError,
    SegmentExporter,
    ServerError,
    Tag,
)
from acexport._core import _operations as ops
from acexport._exporter._small import WRITE_ATTEMPTS, _add_tag, _tag_id
from acexport.testing import FakeActiveCampaign, VirtualClock

MAPPING = FieldMapping(email="e", tags=("vip", "seg"))
TAGS = "/api/3/contactTags"


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"e": f"u{i}@example.com"} for i in range(n)]


def _reset(method: str = "POST", path: str = "/contactTags") -> APIConnectionError:
    return APIConnectionError("connection reset", method=method, url=path)


def _drive(
    steps: Generator[ops.Operation[Any], Any, Any], answers: list[object]
) -> tuple[object, list[str]]:
    """Run ``steps`` by hand: each yielded operation gets the next answer (an exception is
    thrown in). Returns the generator's value (or the exception it raised) and the calls."""
    calls: list[str] = []
    try:
        op = next(steps)
        for answer in answers:
            calls.append(f"{op.method} {op.path}")
            op = steps.throw(answer) if isinstance(answer, BaseException) else steps.send(answer)
    except StopIteration as done:
        return done.value, calls
    except Exception as exc:
        return exc, calls
    raise AssertionError(f"still running after {len(answers)} answers: {op}")


LINK = ContactTag(1, contact_id=7, tag_id=3)


def test_an_applied_tag_is_settled_by_the_read_back() -> None:
    result, calls = _drive(_add_tag(7, 3), [_reset(), (LINK,)])
    assert result is None
    assert calls == ["POST /contactTags", "GET /contacts/7/contactTags"]


def test_a_tag_not_applied_is_sent_again() -> None:
    timeout = APITimeoutError("read timed out", method="POST", url="/contactTags")
    unreadable = ResponseValidationError(
        "truncated JSON", method="POST", url="/contactTags", status_code=201, body="{"
    )
    result, calls = _drive(_add_tag(7, 3), [timeout, (), unreadable, (), LINK])
    assert result is None
    assert calls == ["POST /contactTags", "GET /contacts/7/contactTags"] * 2 + ["POST /contactTags"]


def test_a_write_never_confirmed_fails_after_its_attempts() -> None:
    answers: list[object] = []
    for _ in range(WRITE_ATTEMPTS):
        answers += [_reset(), ()]
    result, calls = _drive(_add_tag(7, 3), answers)
    assert isinstance(result, APIConnectionError)
    assert calls.count("POST /contactTags") == WRITE_ATTEMPTS
    assert calls.count("GET /contacts/7/contactTags") == WRITE_ATTEMPTS


def test_a_failure_that_is_not_ambiguous_is_not_read_back() -> None:
    refused = ServerError("Service Unavailable", method="POST", url="/x", status_code=503)
    result, calls = _drive(_add_tag(7, 3), [refused])
    assert result is refused
    assert calls == ["POST /contactTags"]


def test_a_read_back_that_fails_fails_the_write() -> None:
    read_failed = APIConnectionError("down", method="GET", url="/contacts/7/contactTags")
    result, _ = _drive(_add_tag(7, 3), [_reset(), read_failed])
    assert result is read_failed


def test_a_tag_created_despite_a_reset_is_found_not_created_twice() -> None:
    empty: ops.Page[Tag] = ops.Page((), 0)
    found: ops.Page[Tag] = ops.Page((Tag(9, "VIP"),), 1)
    result, calls = _drive(_tag_id("vip"), [empty, _reset("POST", "/tags"), found])
    assert result == 9
    assert calls == ["GET /tags", "POST /tags", "GET /tags"]


# --- through the fake -------------------------------------------------------------------------


def _check(report: ExportReport, fake: FakeActiveCampaign, n: int) -> None:
    assert (report.exported, report.failed, report.errors) == (n, 0, ())
    for i in range(n):
        contact = fake.contact_by_email(f"u{i}@example.com")
        assert contact is not None
        assert contact.tags == {"vip", "seg"}
    with fake.client() as client:
        names = sorted(tag.name for tag in client.tags.list())
    assert names == ["seg", "vip"]  # no tag created twice


def test_resets_after_tag_writes_are_read_back(
    client: ActiveCampaign, fake: FakeActiveCampaign
) -> None:
    fake.faults.queue("reset_after", path=TAGS, method="POST", times=3)  # applied
    fake.faults.queue("truncated", path=TAGS, method="POST", times=2)  # not applied
    fake.faults.queue("reset_after", path="/api/3/tags", method="POST")
    report = SegmentExporter(client, 1, MAPPING).export(_rows(4))
    _check(report, fake, 4)
    assert fake.stats.faults == {"reset_after": 4, "truncated": 2}


@pytest.mark.anyio
async def test_resets_after_tag_writes_are_read_back_async(
    aclient: AsyncActiveCampaign, fake: FakeActiveCampaign
) -> None:
    fake.faults.queue("reset_after", path=TAGS, method="POST", times=3)
    fake.faults.queue("truncated", path=TAGS, method="POST", times=2)
    fake.faults.queue("reset_after", path="/api/3/tags", method="POST")
    report = await AsyncSegmentExporter(aclient, 1, MAPPING).export(_rows(4))
    _check(report, fake, 4)


@pytest.mark.parametrize("seed", range(8))
def test_a_small_export_under_twenty_percent_faults_fails_no_row(seed: int) -> None:
    # Before the read-back, about 3 rows in 8 failed here (the tag writes after a reset).
    fake = FakeActiveCampaign("test-key", seed=seed, clock=VirtualClock())
    fake.add_list("L")
    fake.faults.set_rates({"reset_after": 0.1, "reset_before": 0.05, "503": 0.05})
    with fake.client() as client:
        report = SegmentExporter(client, 1, MAPPING).export(_rows(7))
    fake.faults.clear()
    _check(report, fake, 7)
