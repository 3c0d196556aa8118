"""Row errors at scale: the bounded collector, ``reasons``, and ``on_error`` (issue 14)."""

from __future__ import annotations

import random
import threading
from typing import Any

import anyio
import pytest

from acexport import (
    AsyncSegmentExporter,
    ConfigError,
    ExportError,
    ExportReport,
    FieldMapping,
    RowError,
    SegmentExporter,
)
from acexport._report import MAX_ERRORS, OTHER_REASON, RowErrors, reason_group
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import make_async_client, make_client

MAPPING = FieldMapping(email="Email", first_name="Name", fields={"TIER": "Tier"}, tags=("seg",))
BULK = "/api/3/import/bulk_import"
INFO = "/api/3/import/info"


def _adds_up(report: ExportReport) -> None:
    not_exported = report.invalid + report.rejected + report.failed
    assert report.received == report.exported + report.duplicates + not_exported
    assert len(report.errors) + report.errors_omitted == not_exported
    assert sum(report.reasons.values()) == not_exported
    assert report.errors_truncated == (report.errors_omitted > 0)
    indexes = [e.index for e in report.errors]
    assert indexes == sorted(indexes)
    assert len(set(indexes)) == len(indexes)
    assert all(e.profile is None for e in report.errors)


# --- the collector -------------------------------------------------------------------------------


def test_keeps_the_lowest_indexes_whatever_the_order_and_counts_all() -> None:
    errors = RowErrors(limit=5)
    order = list(range(40))
    random.Random(3).shuffle(order)
    for i in order:
        errors.add(i, f"e{i}", "invalid" if i % 2 else "failed", f"reason {i % 3}")
    assert [e.index for e in errors] == [0, 1, 2, 3, 4]
    assert [e.kind for e in errors] == ["failed", "invalid", "failed", "invalid", "failed"]
    assert len(errors) == 5
    assert errors.total == 40
    assert errors.omitted == 35
    # "reason 0", "reason 1", "reason 2" are one reason with the number taken out
    assert errors.reasons == {"reason #": 40}


def test_distinct_reasons_are_capped_the_rest_counted_as_other() -> None:
    errors = RowErrors(limit=0, max_reasons=4)
    for i in range(100):
        errors.add(i, None, "invalid", f"problem-{chr(97 + i % 26)}")
    assert len(errors.reasons) == 4
    assert OTHER_REASON in errors.reasons
    assert sum(errors.reasons.values()) == 100
    assert errors.reasons["problem-a"] == 4  # i = 0, 26, 52, 78
    assert len(errors) == 0
    assert errors.omitted == 100


@pytest.mark.parametrize(
    ("reason", "group"),
    [
        ("email has no @", "email has no @"),
        (
            "email's domain 'example' has no top-level domain",
            "email's domain '…' has no top-level domain",
        ),
        (
            "email is 300 characters, over the limit of 254",
            "email is # characters, over the limit of #",
        ),
        (
            "batch 4711 ended failed 3 times; ActiveCampaign gave no reason per contact",
            "batch # ended failed # times; ActiveCampaign gave no reason per contact",
        ),
        (
            "ActiveCampaign refused it: Contact email bob@example.com is invalid",
            "ActiveCampaign refused it: Contact email …@… is invalid",
        ),
        (
            "line 12 is not UTF-8 text (byte 0x9f at byte 3 of the line)",
            "line # is not UTF-8 text (byte # at byte # of the line)",
        ),
    ],
)
def test_reason_groups_take_the_values_out(reason: str, group: str) -> None:
    assert reason_group(reason) == group
    assert reason_group(group) == group


def test_an_on_error_that_raises_is_recorded_and_not_called_again() -> None:
    calls: list[int] = []

    def boom(error: RowError) -> None:
        calls.append(error.index)
        raise OSError("disk full")

    errors = RowErrors(on_error=boom)
    errors.add(0, None, "invalid", "no email")
    errors.add(1, None, "invalid", "no email")
    assert calls == [0]
    assert errors.failure is not None
    assert isinstance(errors.failure.__cause__, OSError)
    assert "on_error raised OSError: disk full" in str(errors.failure)
    assert errors.total == 2


def test_on_error_must_be_callable(client: Any) -> None:
    with pytest.raises(ConfigError, match="on_error must be callable"):
        SegmentExporter(client, 1, MAPPING, on_error="errors.csv")


# --- through the exporters ------------------------------------------------------------------------


def _profiles(n: int, invalid_every: int = 2) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        email = f"user{i}.example.com" if i % invalid_every == 0 else f"user{i}@example.com"
        rows.append({"Email": email, "Name": f"U{i}", "Tier": f"t{i % 3}"})
    return rows


def test_report_is_capped_and_counts_add_up_exactly(
    fake: FakeActiveCampaign, clock: VirtualClock
) -> None:
    rows = _profiles(2 * MAX_ERRORS + 1_000)  # 10,500 invalid rows, 10,500 valid
    excluded = [r["Email"] for r in rows[1::2][-30:]]  # the last valid rows: rejected late
    for email in excluded:
        fake.exclude(email)
    seen: list[RowError] = []
    with make_client(fake, clock) as client:
        report = SegmentExporter(client, 1, MAPPING, on_error=seen.append).export(rows)
    _adds_up(report)
    assert report.invalid == MAX_ERRORS + 500
    assert report.rejected == 30
    assert len(report.errors) == MAX_ERRORS
    assert report.errors_truncated
    assert report.errors_omitted == 530
    # the kept ones are the lowest indexes, though the rejected rows were settled last
    every = sorted(e.index for e in seen)
    assert [e.index for e in report.errors] == every[:MAX_ERRORS]
    assert report.reasons == {
        "email has no @": MAX_ERRORS + 500,
        "ActiveCampaign refused this contact in batch # (an invalid address, or one on the "
        "exclusion list)": 30,
    }
    assert list(report.reasons) == ["email has no @", *list(report.reasons)[1:]]
    summary = report.summary()
    assert f"\n  email has no @: {MAX_ERRORS + 500}\n" in summary
    assert "exclusion list): 30" in summary
    html = report._repr_html_()
    assert "email has no @" in html
    assert f"{report.errors_omitted} more were counted, not kept" in html


FAULTS: list[tuple[str, Any]] = [
    (
        "429s-and-resets",
        lambda f: (
            f.faults.queue(429, path=BULK, times=3),
            f.faults.queue("reset_after", path=INFO, times=2),
        ),
    ),
    (
        "batches-fail-for-good",
        lambda f: f.faults.batch_outcomes(["failed"] * 30, applied_fraction=0.0),
    ),
    ("bulk-down", lambda f: f.faults.queue(503, path=BULK, times=10_000)),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("name", "setup"), FAULTS, ids=[name for name, _ in FAULTS])
def test_on_error_sees_every_error_once_from_the_driver(
    fake: FakeActiveCampaign, clock: VirtualClock, mode: str, name: str, setup: Any
) -> None:
    rows = _profiles(1_200, invalid_every=7)
    for r in rows[1:40:3]:
        if "@" in r["Email"]:
            fake.exclude(r["Email"])
    setup(fake)
    seen: list[RowError] = []
    threads: set[int] = set()

    def on_error(error: RowError) -> None:
        threads.add(threading.get_ident())
        seen.append(error)

    report: ExportReport
    if mode == "sync":
        with make_client(fake, clock) as client:
            exporter = SegmentExporter(client, 1, MAPPING, on_error=on_error, max_resubmits=1)
            try:
                report = exporter.export(iter(rows))
            except ExportError as exc:
                report = exc.report
    else:

        async def main() -> ExportReport:
            async with make_async_client(fake, clock) as client:
                exporter = AsyncSegmentExporter(
                    client, 1, MAPPING, on_error=on_error, max_resubmits=1
                )
                try:
                    return await exporter.export(iter(rows))
                except ExportError as exc:
                    return exc.report

        report = anyio.run(main)
    _adds_up(report)
    assert threads == {threading.get_ident()}  # the driver's thread, never a worker's
    indexes = [e.index for e in seen]
    assert len(indexes) == len(set(indexes))  # exactly once
    assert len(seen) == report.invalid + report.rejected + report.failed
    assert {(e.index, e.kind, e.reason) for e in seen} == {
        (e.index, e.kind, e.reason) for e in report.errors
    }
    # each carries the very profile the row came from, settled early or late
    assert all(e.profile is rows[e.index] for e in seen)
    kinds = {e.kind for e in seen}
    assert "invalid" in kinds
    assert kinds - {"invalid"}, "the faults must make rows rejected or failed too"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_on_error_that_raises_stops_the_export_with_a_report(
    fake: FakeActiveCampaign, clock: VirtualClock, mode: str
) -> None:
    rows = _profiles(5_000, invalid_every=3)
    calls: list[int] = []

    def on_error(error: RowError) -> None:
        calls.append(error.index)
        if len(calls) == 50:
            raise OSError("no space left on device")

    if mode == "sync":
        with make_client(fake, clock) as client, pytest.raises(ExportError) as info:
            SegmentExporter(client, 1, MAPPING, on_error=on_error).export(iter(rows))
    else:

        async def main() -> None:
            async with make_async_client(fake, clock) as client:
                await AsyncSegmentExporter(client, 1, MAPPING, on_error=on_error).export(iter(rows))

        with pytest.raises(ExportError) as info:
            anyio.run(main)
    exc = info.value
    assert "on_error raised OSError: no space left on device" in str(exc)
    assert isinstance(exc.__cause__, OSError)
    assert len(calls) == 50  # not called again
    report = exc.report
    assert report is not None
    _adds_up(report)
    assert report.received < len(rows)  # reading stopped


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_on_error_that_raises_on_a_settled_batch_stops_the_export(
    fake: FakeActiveCampaign, clock: VirtualClock, mode: str
) -> None:
    rows = _profiles(20_000, invalid_every=10**9)  # all valid but row 0's
    for r in rows[1:300]:
        fake.exclude(r["Email"])  # rejected when the first batches are polled
    seen: list[RowError] = []

    def on_error(error: RowError) -> None:
        seen.append(error)
        if error.kind == "rejected":
            raise RuntimeError("the dead-letter table is gone")

    if mode == "sync":
        with make_client(fake, clock) as client, pytest.raises(ExportError) as info:
            SegmentExporter(client, 1, MAPPING, on_error=on_error).export(iter(rows))
    else:

        async def main() -> None:
            async with make_async_client(fake, clock) as client:
                await AsyncSegmentExporter(client, 1, MAPPING, on_error=on_error).export(iter(rows))

        with pytest.raises(ExportError) as info:
            anyio.run(main)
    exc = info.value
    assert "on_error raised RuntimeError: the dead-letter table is gone" in str(exc)
    assert isinstance(exc.__cause__, RuntimeError)
    assert [e.kind for e in seen] == ["invalid", "rejected"]  # not called after it raised
    report = exc.report
    assert report is not None
    _adds_up(report)
    assert report.rejected == 299
    assert report.received < len(rows)  # nothing more was read
