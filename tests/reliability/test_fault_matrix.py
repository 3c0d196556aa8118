"""Every fault the fake can inject, alone and mixed, through both exporters.

MockTransport + VirtualClock (nothing really sleeps) for the table, and a few cases over the
loopback server with real time and a short client timeout. Every case checks the same
invariants (see ``_check``): the report adds up, every row is either in the fake (on list 1,
with its fields and tags) or in ``errors`` as failed with a reason naming the cause, no contact
is sent more often than the retries explain, the run ends in bounded time, and the API key
appears nowhere (logs at DEBUG, exceptions, the report, warnings).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest

from acexport import (
    ActiveCampaign,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    ConfigError,
    ExportError,
    ExportProgress,
    ExportReport,
    FieldMapping,
    SegmentExporter,
)
from acexport._async_client import caller_of as async_caller_of
from acexport._client import caller_of
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import KEY, make_async_client, make_client

BULK = "/api/3/import/bulk_import"
INFO = "/api/3/import/info"
MAPPING = FieldMapping(email="Email", first_name="Name", fields={"TIER": "Tier"}, tags=("seg",))
MAX_RETRIES = 6  # the client's default
MODES = ["sync", "async"]


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"Email": f"r{i}@example.com", "Name": f"R{i}", "Tier": f"t{i % 3}"} for i in range(n)]


# --- running one export in either mode, capturing everything a key could leak into -----------


class Outcome:
    def __init__(self) -> None:
        self.report: ExportReport | None = None
        self.error: BaseException | None = None
        self.warnings: list[warnings.WarningMessage] = []
        self.exporter: Any = None


def _export(
    mode: str,
    make: Callable[[str], Any],
    source: Callable[[], Any],
    **kwargs: Any,
) -> Outcome:
    """``make(mode)`` builds the client; ``source()`` the profiles. ExportError is caught."""
    out = Outcome()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if mode == "sync":
            client = make(mode)
            try:
                out.exporter = SegmentExporter(client, 1, MAPPING, **kwargs)
                out.report = out.exporter.export(source())
            except ExportError as exc:
                out.error = exc
            finally:
                client.close()
        else:

            async def main() -> None:
                client = make(mode)
                try:
                    out.exporter = AsyncSegmentExporter(client, 1, MAPPING, **kwargs)
                    out.report = await out.exporter.export(source())
                except ExportError as exc:
                    out.error = exc
                finally:
                    await client.close()

            anyio.run(main)
    out.warnings = list(caught)
    if out.error is not None:
        out.report = out.error.report  # type: ignore[attr-defined]
    return out


def adds_up(report: ExportReport) -> None:
    assert report.received == (
        report.exported + report.duplicates + report.invalid + report.rejected + report.failed
    ), report
    assert len(report.errors) == report.invalid + report.rejected + report.failed
    assert all(e.reason for e in report.errors)


def no_secret(out: Outcome, caplog: pytest.LogCaptureFixture) -> None:
    texts = [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records]
    texts += [caplog.text]
    texts += [str(w.message) for w in out.warnings]
    if out.report is not None:
        texts += [repr(out.report), out.report.summary(), out.report._repr_html_()]
        texts += [e.reason for e in out.report.errors]
    exc: BaseException | None = out.error
    if exc is not None:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        while exc is not None:
            texts += [str(exc), repr(exc), repr(getattr(exc, "args", ()))]
            exc = exc.__cause__ or exc.__context__
    for text in texts:
        assert KEY not in text


def landed(fake: FakeActiveCampaign, row: dict[str, Any]) -> bool:
    c = fake.contact_by_email(row["Email"])
    if c is None:
        return False
    assert c.lists == {1: 1}, c
    assert c.fields == {1: row["Tier"]}, c
    assert c.tags == {"seg"}, c
    assert c.first_name == row["Name"]
    return True


# --- the table ----------------------------------------------------------------------------------


def q(*entries: tuple[Any, str | None, int]) -> Callable[[FakeActiveCampaign], None]:
    def setup(fake: FakeActiveCampaign) -> None:
        for fault, path, times in entries:
            fake.faults.queue(fault, path=path, times=times)

    return setup


def outcomes(items: list[str], fraction: float) -> Callable[[FakeActiveCampaign], None]:
    def setup(fake: FakeActiveCampaign) -> None:
        fake.faults.batch_outcomes(items, applied_fraction=fraction)

    return setup


def rates(table: dict[Any, float], paths: list[str] | None = None) -> Callable[..., None]:
    def setup(fake: FakeActiveCampaign) -> None:
        fake.faults.set_rates(table, paths=paths)

    return setup


def both(*setups: Callable[[FakeActiveCampaign], None]) -> Callable[[FakeActiveCampaign], None]:
    def setup(fake: FakeActiveCampaign) -> None:
        for s in setups:
            s(fake)

    return setup


# (id, setup, rows, exporter kwargs, failed-reason substring or None = all exported,
#  expect ExportError, extra bulk contacts the faults explain, virtual-seconds bound)
CASES: list[
    tuple[
        str, Callable[[FakeActiveCampaign], None], int, dict[str, Any], str | None, bool, int, float
    ]
] = [
    ("429-storm-bulk", q((429, BULK, 5)), 600, {}, None, False, 0, 600),
    (
        "429-storm-everywhere",
        q((429, None, 4), (429, INFO, 4), (429, BULK, 4)),
        600,
        {},
        None,
        False,
        0,
        600,
    ),
    ("bulk-rate-400", q(("bulk_rate", BULK, 5)), 600, {}, None, False, 0, 900),
    ("500", q((500, BULK, 3), (500, INFO, 3)), 600, {}, None, False, 0, 600),
    ("502", q((502, BULK, 3), (502, INFO, 3)), 600, {}, None, False, 0, 600),
    ("503", q((503, BULK, 3), (503, INFO, 3)), 600, {}, None, False, 0, 600),
    ("504", q((504, BULK, 3), (504, INFO, 3)), 600, {}, None, False, 0, 600),
    ("reset-before-bulk", q(("reset_before", BULK, 3)), 600, {}, None, False, 0, 600),
    # applied, then the connection drops: the retry sends the batch again (an upsert)
    ("reset-after-bulk", q(("reset_after", BULK, 2)), 600, {}, None, False, 2 * 250, 600),
    ("reset-after-info", q(("reset_after", INFO, 4)), 600, {}, None, False, 0, 600),
    ("html-info", q(("html", INFO, 3)), 600, {}, None, False, 0, 600),
    ("truncated-info", q(("truncated", INFO, 3)), 600, {}, None, False, 0, 600),
    ("html-bulk", q(("html", BULK, 2)), 600, {}, None, False, 0, 600),
    ("truncated-bulk", q(("truncated", BULK, 2)), 600, {}, None, False, 0, 600),
    ("info-false-a-while", q(("info_false", INFO, 8)), 600, {}, None, False, 0, 600),
    (
        "info-false-past-settle-timeout",
        q(("info_false", INFO, 10_000)),
        600,
        {"settle_timeout": 60},
        "still not started after 60s",
        False,
        0,
        600,
    ),
    (
        "info-503-for-good",
        q((503, INFO, 10_000)),
        600,
        {"settle_timeout": 900},
        "could not be read",
        False,
        0,
        3600,
    ),
    (
        "interrupted-then-ok",
        outcomes(["interrupted", "failed"], 0.5),
        600,
        {},
        None,
        False,
        500,
        600,
    ),
    ("interrupted-nothing-applied", outcomes(["interrupted"], 0.0), 600, {}, None, False, 250, 600),
    (
        # nine failures: a batch failing 1 + 2 resubmits is split in halves, which land.
        # Which batches or halves get them depends on the threads' timing; each failure
        # re-sends at most 250 contacts.
        "failed-three-times-then-split",
        outcomes(["failed"] * 9, 0.4),
        600,
        {"max_resubmits": 2},
        None,
        False,
        9 * 250,
        900,
    ),
    (
        # a poison row fails every batch that holds it: only it fails, after bounded imports
        "poison-row",
        lambda fake: fake.faults.poison(["r300@example.com"]),
        600,
        {"max_resubmits": 2},
        "with this contact alone",
        False,
        2 * 250 + 8 * 250 + 2,  # 2 resubmits of 250, halves at 8 levels (<= 250 each), 2 retries
        900,
    ),
    (
        "bulk-503-for-good",  # three batches in a row refused: the export stops
        q((503, BULK, 10_000)),
        900,
        {},
        "503",
        True,
        0,
        3600,
    ),
    (
        "mixed-scripted",
        both(
            q((429, BULK, 2), ("reset_after", BULK, 1), (502, INFO, 2), ("truncated", INFO, 1)),
            outcomes(["completed", "interrupted"], 0.5),
        ),
        900,
        {},
        None,
        False,
        250 + 250,
        900,
    ),
    (
        "mixed-rates",
        rates(
            {
                503: 0.05,
                429: 0.05,
                "reset_before": 0.03,
                "reset_after": 0.03,
                "html": 0.02,
                "truncated": 0.02,
            }
        ),
        1000,
        {},
        None,
        False,
        4 * 250,  # reset_after on a bulk import re-sends one batch each
        1800,
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("setup", "n", "kwargs", "failed_reason", "raises", "extra", "bound"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_fault(
    mode: str,
    setup: Callable[[FakeActiveCampaign], None],
    n: int,
    kwargs: dict[str, Any],
    failed_reason: str | None,
    raises: bool,
    extra: int,
    bound: float,
    fake: FakeActiveCampaign,
    clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    setup(fake)
    rows = _rows(n)

    def make(m: str) -> Any:
        return make_client(fake, clock) if m == "sync" else make_async_client(fake, clock)

    started = clock.now()
    out = _export(mode, make, lambda: rows, **kwargs)
    elapsed = clock.now() - started
    report = out.report
    assert report is not None
    adds_up(report)
    no_secret(out, caplog)
    assert report.received == n if not raises else report.received <= n
    assert elapsed <= bound, elapsed
    assert (out.error is not None) is raises, out.error

    failed = {e.index: e for e in report.errors}
    assert all(e.kind == "failed" for e in failed.values())
    if failed_reason is None:
        assert report.exported == n, report
    else:
        assert failed, report
        assert all(failed_reason in e.reason for e in failed.values()), report.errors[:3]
    for i, row in enumerate(rows[: report.received]):
        if i not in failed:
            assert landed(fake, row), row
    assert len(fake.contacts) >= report.exported

    stats = fake.stats
    batches = -(-n // 250)
    resubmits = kwargs.get("max_resubmits", 2)
    assert stats.bulk_contacts <= n + extra
    if extra == 0:
        assert stats.bulk_contacts <= n  # no batch was sent twice
    assert stats.calls("POST", BULK) <= batches * (1 + resubmits) * (1 + MAX_RETRIES)
    assert report.requests == stats.requests


# --- cancellation ------------------------------------------------------------------------------


def _endless(limit: int = 50_000) -> Iterator[dict[str, Any]]:
    for i in range(limit):  # bounded: the cancel event stops it long before
        yield {"Email": f"e{i}@example.com", "Name": f"E{i}", "Tier": "t0"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("faulty", [False, True], ids=["clean", "faulty"])
def test_cancel_event_mid_export(
    mode: str,
    faulty: bool,
    fake: FakeActiveCampaign,
    clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    if faulty:
        fake.faults.set_rates({503: 0.05, "reset_after": 0.03, 429: 0.03})
        fake.faults.batch_outcomes(["interrupted"], applied_fraction=0.5)
    cancel = threading.Event()  # works for both exporters (anything with is_set())

    def on_progress(p: ExportProgress) -> None:
        if p.received >= 700:
            cancel.set()

    def make(m: str) -> Any:
        return make_client(fake, clock) if m == "sync" else make_async_client(fake, clock)

    out = _export(mode, make, _endless, on_progress=on_progress, cancel=cancel)
    report = out.report
    assert out.error is None
    assert report is not None
    assert report.cancelled
    adds_up(report)
    no_secret(out, caplog)
    assert 700 <= report.received < 50_000
    # What was in flight settled. Failed rows are only: a batch that ended interrupted (not
    # resubmitted once cancelled), and rows read but not yet submitted when the cancel came
    # (at most the batch read ahead plus the partial one).
    # Depending on timing, the interrupted batch either settles before the cancel (it is
    # resubmitted: exported, or cut short by the cancel, saying so) or after it (failed).
    interrupted = [e for e in report.errors if "ended interrupted" in e.reason]
    unsent = [e for e in report.errors if e not in interrupted]
    assert all("cancelled before it was sent" in e.reason for e in unsent), unsent[:3]
    assert len(report.errors) == report.failed
    assert len(interrupted) in ((0, 250) if faulty else (0,))
    assert len(unsent) < 2 * 250
    assert report.exported == report.received - report.failed
    assert report.exported <= len(fake.contacts) <= report.received


def test_task_cancellation_report_still_adds_up(
    fake: FakeActiveCampaign, clock: VirtualClock
) -> None:
    holder: dict[str, Any] = {}

    async def main() -> None:
        client = make_async_client(fake, clock)
        async with anyio.create_task_group() as tg:

            def on_progress(p: ExportProgress) -> None:
                if p.received >= 250:
                    tg.cancel_scope.cancel()  # cancel the task running export()

            exporter = AsyncSegmentExporter(client, 1, MAPPING, on_progress=on_progress)
            holder["exporter"] = exporter
            tg.start_soon(exporter.export, _rows(1000))
        await client.close()

    anyio.run(main)
    report = holder["exporter"].report
    assert report is not None
    # 250 rows in flight plus the 6 read into the next, unfinished batch (the read loop yields
    # at profile 256): all of them failed, none silently missing
    adds_up(report)
    assert report.received >= 256
    assert report.failed == report.received - report.exported
    assert all("interrupted" in e.reason for e in report.errors)


@pytest.mark.anyio
async def test_task_cancellation_while_waiting_adds_up(
    fake: FakeActiveCampaign, clock: VirtualClock
) -> None:
    """Cancelled while every batch is in flight (waiting to poll): those rows end failed."""
    fake.faults.queue("info_false", path=INFO, times=10_000)

    async def sleeper(seconds: float) -> None:
        await anyio.sleep(0.001)
        clock.advance(seconds)

    client = make_async_client(fake, clock, sleep=sleeper)
    exporter = AsyncSegmentExporter(client, 1, MAPPING)
    with anyio.move_on_after(0.5):  # real time; the export is parked in virtual-clock waits
        await exporter.export(_rows(500))
    await client.close()
    report = exporter.report
    assert report is not None
    adds_up(report)
    assert report.failed == 500
    assert all("interrupted" in e.reason for e in report.errors)


# --- over the loopback server: real sockets, real time -------------------------------------------

RPS, BULK_PM = 200, 4000


@pytest.fixture
def live() -> Iterator[tuple[FakeActiveCampaign, str]]:
    fake = FakeActiveCampaign(
        api_key=KEY, requests_per_second=RPS, bulk_imports_per_minute=BULK_PM, import_delay=0.05
    )
    fake.add_list("Newsletter")
    fake.add_field("Tier", perstag="TIER")
    with fake.serve() as server:
        yield fake, server.url


SERVER_CASES = [
    # (id, setup, failed reason or None, extra bulk contacts)
    ("slow-info", q(("slow", INFO, 1)), None, 0),
    ("slow-bulk", q(("slow", BULK, 1)), None, 250),  # applied late; the retry re-sends it
    (
        "reset-before-and-after",
        q(("reset_before", BULK, 1), ("reset_after", BULK, 1), ("reset_after", INFO, 2)),
        None,
        250,
    ),
]


@pytest.mark.integration
@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("setup", "failed_reason", "extra"), [pytest.param(*c[1:], id=c[0]) for c in SERVER_CASES]
)
def test_fault_over_a_socket(
    mode: str,
    setup: Callable[[FakeActiveCampaign], None],
    failed_reason: str | None,
    extra: int,
    live: tuple[FakeActiveCampaign, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, url = live
    fake.faults.slow_seconds = 0.6
    setup(fake)
    rows = _rows(600)
    # timeout bounds a whole attempt: below the 0.6 s "slow" faults, above a loaded machine's
    # ordinary answers on loopback
    kw = {"requests_per_second": RPS, "bulk_imports_per_minute": BULK_PM, "timeout": 0.5}

    def make(m: str) -> Any:
        return (
            ActiveCampaign(url, KEY, **kw) if m == "sync" else AsyncActiveCampaign(url, KEY, **kw)
        )

    t0 = time.monotonic()
    out = _export(mode, make, lambda: rows, poll_interval=0.05)
    assert time.monotonic() - t0 < 30
    report = out.report
    assert out.error is None
    assert report is not None
    adds_up(report)
    no_secret(out, caplog)
    assert report.exported == 600, report.errors[:3]
    assert all(landed(fake, row) for row in rows)
    assert fake.stats.bulk_contacts <= 600 + extra
    assert fake.stats.refused_429 == 0


# --- transport security ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://acct.api-us1.com", "http://10.0.0.5:8080", "http://example.com/api/3"]
)
def test_plain_http_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        ActiveCampaign(url, KEY)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    with pytest.raises(ConfigError):
        AsyncActiveCampaign(url, KEY)


def _ssl_context(http: httpx.Client | httpx.AsyncClient) -> ssl.SSLContext:
    pool = http._transport._pool  # type: ignore[attr-defined]
    return pool._ssl_context  # type: ignore[no-any-return]


def test_tls_verification_is_on_by_default() -> None:
    with ActiveCampaign("https://acct.api-us1.com", KEY) as client:
        ctx = _ssl_context(caller_of(client).http)
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        assert ctx.check_hostname
    aclient = AsyncActiveCampaign("https://acct.api-us1.com", KEY)
    ctx = _ssl_context(async_caller_of(aclient).http)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    anyio.run(aclient.close)


def test_the_key_is_not_in_the_clients_repr() -> None:
    with ActiveCampaign("https://acct.api-us1.com", KEY) as client:
        assert KEY not in repr(client)
        assert KEY not in repr(caller_of(client).config)
