"""The small-export path (under 10 contacts: contact endpoints, not bulk import), through both
exporters: finding the tags, and how each row ends when a call fails or the export is cancelled.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from acexport import ExportError, ExportProgress, ExportReport, FieldMapping
from acexport._core._operations import PAGE_LIMIT
from acexport.testing import FakeActiveCampaign
from helpers import Exporting

pytestmark = pytest.mark.anyio

MAPPING = FieldMapping(email="Email", first_name="Name", tags=("vip",))
MAX_RETRIES = 6  # the client's default


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"Email": f"s{i}@example.com", "Name": f"S{i}"} for i in range(n)]


def _adds_up(report: ExportReport) -> None:
    assert report.received == (
        report.exported + report.duplicates + report.invalid + report.rejected + report.failed
    )
    assert len(report.errors) == report.invalid + report.rejected + report.failed


async def test_a_tag_past_the_first_page_is_found_not_created_again(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    for i in range(PAGE_LIMIT + 20):  # the search for "vip" matches these too
        fake.add_tag(f"vip-{i:03d}")
    existing = fake.add_tag("VIP")  # the last one, on the second page, in another case
    report = await exporting.export(_rows(3), MAPPING)
    _adds_up(report)
    assert (report.exported, report.errors) == (3, ())
    assert fake.stats.bulk_requests == 0
    contact = fake.contact_by_email("s2@example.com")
    assert contact is not None
    assert contact.tags == {"VIP"}
    assert fake.add_tag("probe") == existing + 1  # no tag was created in between


async def test_tags_that_cannot_be_found_fail_every_row_and_send_no_contact(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.faults.queue(500, path="/api/3/tags", times=1 + MAX_RETRIES)
    report = await exporting.export(_rows(4), MAPPING)
    _adds_up(report)
    assert (report.received, report.exported, report.failed) == (4, 0, 4)
    assert [e.index for e in report.errors] == [0, 1, 2, 3]
    assert all(e.kind == "failed" for e in report.errors)
    assert all(e.reason.startswith("could not find or create the tags:") for e in report.errors)
    assert all("500" in e.reason for e in report.errors)
    assert fake.contacts == []


async def test_a_refused_key_while_finding_tags_stops_the_export(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    fake.faults.queue(403, path="/api/3/tags", times=5)
    with pytest.raises(ExportError) as info:
        await exporting.export(_rows(3), MAPPING)
    report = info.value.report
    _adds_up(report)
    assert (report.received, report.exported, report.failed) == (3, 0, 3)
    assert fake.contacts == []


async def test_cancel_during_a_small_export_fails_the_rows_not_yet_sent(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    cancel = threading.Event()

    def on_progress(progress: ExportProgress) -> None:
        if progress.exported >= 2:
            cancel.set()

    report = await exporting.export(_rows(5), MAPPING, cancel=cancel, on_progress=on_progress)
    _adds_up(report)
    assert report.cancelled
    assert (report.exported, report.failed) == (2, 3)
    assert [e.index for e in report.errors] == [2, 3, 4]
    assert all(e.reason == "the export was cancelled before it was sent" for e in report.errors)
    assert sorted(c.email for c in fake.contacts) == ["s0@example.com", "s1@example.com"]


async def test_an_error_other_than_a_refusal_fails_only_that_row(
    exporting: Exporting, fake: FakeActiveCampaign
) -> None:
    # The first subscription (POST contactLists) answers 404: not retried, not a refusal.
    fake.faults.queue(404, path="/api/3/contactLists", method="POST", times=1)
    report = await exporting.export(_rows(3), MAPPING)
    _adds_up(report)
    assert (report.exported, report.failed, report.rejected) == (2, 1, 0)
    (error,) = report.errors
    assert (error.index, error.kind) == (0, "failed")
    assert error.reason.startswith("not delivered:")
    assert "404" in error.reason
    first = fake.contact_by_email("s0@example.com")
    assert first is not None
    assert first.lists == {}  # synced, but the subscription did not happen
    assert first.tags == set()  # the row stopped at the failed call
    assert fake.contact_by_email("s1@example.com").lists == {1: 1}  # type: ignore[union-attr]
