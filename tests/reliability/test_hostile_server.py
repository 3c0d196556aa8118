"""A server that answers wrongly on purpose: scripted on 127.0.0.1, or wrapped around the fake.

Bounded in count and time: every client here has a short timeout, and every scripted server
counts its requests; a test that would loop fails on the count, not on a hang.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from acexport import (
    ActiveCampaign,
    APIConnectionError,
    AsyncActiveCampaign,
    ExportError,
    ExportReport,
    FieldMapping,
    ResponseValidationError,
    SegmentExporter,
)
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import KEY

Answer = Callable[[str, str], tuple[int, bytes]]


class _Server:
    """A loopback HTTP server answering every request with ``answer(method, path)``."""

    def __init__(self, answer: Answer) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                outer.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, body = answer(self.command, self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _reply

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _client(url: str, **kwargs: Any) -> ActiveCampaign:
    options: dict[str, Any] = {"requests_per_second": None, "timeout": 5.0, "max_retries": 6}
    return ActiveCampaign(url, KEY, **{**options, "sleep": _no_sleep, **kwargs})


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"the client slept {seconds}s: it retried")


# --- listings that do not advance --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "key", "item"),
    [
        ("fields", "fields", {"title": "T", "perstag": "T"}),
        ("lists", "lists", {"name": "L"}),
        ("tags", "tags", {"tag": "t"}),
    ],
)
@pytest.mark.integration
def test_a_server_repeating_its_first_page_is_stopped(
    method: str, key: str, item: dict[str, str]
) -> None:
    page = {key: [{"id": str(i), **item} for i in range(1, 101)], "meta": {"total": "36000"}}
    body = json.dumps(page).encode()
    with _Server(lambda m, p: (200, body)) as server:
        client = _client(f"http://127.0.0.1:{server.port}")
        with pytest.raises(ResponseValidationError, match="did not advance"):
            list(getattr(client, method).list())
        client.close()
    assert server.requests == 2  # the first page, then its repeat: no more


@pytest.mark.integration
def test_a_server_ignoring_id_greater_is_stopped() -> None:
    page = {"contacts": [{"id": str(i), "email": f"{i}@x.co"} for i in range(1, 101)]}
    body = json.dumps(page).encode()
    with _Server(lambda m, p: (200, body)) as server:
        client = _client(f"http://127.0.0.1:{server.port}")
        with pytest.raises(ResponseValidationError, match="did not advance"):
            list(client.contacts.list())
        client.close()
    assert server.requests == 2


# --- connections that cannot recover fail at once ----------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    with _Server(lambda m, p: (400, b"{}")) as server:
        yield server.port


def _urls(plain_http_port: int) -> list[tuple[str, str]]:
    return [
        (f"http://127.0.0.1:{_closed_port()}", "connection refused"),
        (f"https://127.0.0.1:{plain_http_port}", "check the URL's scheme"),
    ]


@pytest.mark.integration
def test_refused_and_plain_text_tls_fail_at_once(plain_http_port: int) -> None:
    for url, says in _urls(plain_http_port):
        client = _client(url)
        with pytest.raises(APIConnectionError, match=says) as info:
            client.users.me()  # _no_sleep fails the test if it retries
        client.close()
        assert info.value.recoverable is False
        assert client.requests_made == 1
        assert KEY not in str(info.value)


@pytest.mark.integration
@pytest.mark.anyio
async def test_refused_and_plain_text_tls_fail_at_once_async(plain_http_port: int) -> None:
    async def no_sleep(seconds: float) -> None:
        _no_sleep(seconds)

    for url, says in _urls(plain_http_port):
        client = AsyncActiveCampaign(
            url, KEY, requests_per_second=None, timeout=5.0, sleep=no_sleep
        )
        with pytest.raises(APIConnectionError, match=says) as info:
            await client.users.me()
        await client.close()
        assert info.value.recoverable is False
        assert client.requests_made == 1


def test_a_reset_is_still_retried() -> None:
    # The counterpart: what can recover still is retried (a server that drops the first try).
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(200, json={"user": {"id": "1", "username": "u", "email": "e"}})

    slept: list[float] = []
    client = ActiveCampaign(
        "https://acct.api-us1.com",
        KEY,
        requests_per_second=None,
        transport=httpx.MockTransport(handler),
        sleep=slept.append,
    )
    assert client.users.me().id == 1
    assert calls["n"] == 2
    assert len(slept) == 1


# --- exports against a fake with a twist -------------------------------------------------------


def _twisted(
    fake: FakeActiveCampaign, twist: Callable[[httpx.Request, httpx.Response], httpx.Response]
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return twist(request, fake.handler(request))

    return httpx.MockTransport(handler)


def _export(
    fake: FakeActiveCampaign, clock: VirtualClock, transport: httpx.MockTransport, n: int
) -> tuple[ExportReport, ActiveCampaign]:
    client = ActiveCampaign(
        "https://acct.api-us1.com", KEY, transport=transport, clock=clock, sleep=clock.sleep
    )
    profiles = [{"Email": f"p{i}@example.com"} for i in range(n)]
    exporter = SegmentExporter(client, 1, FieldMapping(email="Email", tags=("seg",)))
    try:
        report = exporter.export(profiles)
    except ExportError as exc:
        report = exc.report
    finally:
        client.close()
    return report, client


def _adds_up(report: ExportReport, read: int) -> None:
    assert report.received == read
    assert report.received == (
        report.exported + report.duplicates + report.invalid + report.rejected + report.failed
    )
    assert len(report.errors) == report.invalid + report.rejected + report.failed
    assert KEY not in repr(report)


@pytest.mark.parametrize("times", [1, 10_000])
def test_an_export_whose_polls_answer_infinity_adds_up(
    fake: FakeActiveCampaign, clock: VirtualClock, times: int
) -> None:
    left = {"n": times}

    def twist(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/import/info") and left["n"] > 0:
            left["n"] -= 1
            return httpx.Response(200, content=b'{"status":"completed","success":[Infinity]}')
        return response

    report, _ = _export(fake, clock, _twisted(fake, twist), 40)
    _adds_up(report, 40)
    if times == 1:  # one bad poll is a poll error; the next poll settles the batch
        assert report.exported == 40
    else:  # never a good poll: the rows are failed, with a reason, never counted as exported
        assert report.exported == 0
        assert report.failed == 40


def test_an_export_whose_polls_send_failure_as_a_string_counts_no_refused_row_as_exported(
    fake: FakeActiveCampaign, clock: VirtualClock
) -> None:
    def twist(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/import/info"):
            body = json.dumps({"status": "completed", "success": [], "failure": "p3@example.com"})
            return httpx.Response(200, content=body.encode())
        return response

    report, _ = _export(fake, clock, _twisted(fake, twist), 20)
    _adds_up(report, 20)
    assert report.exported == 0


def test_a_small_export_succeeds_when_writes_answer_without_ids(
    fake: FakeActiveCampaign, clock: VirtualClock
) -> None:
    def twist(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith(
            ("/contactLists", "/contactTags")
        ):
            data = json.loads(response.content)
            for value in data.values():
                if isinstance(value, dict):
                    value.pop("id", None)
            return httpx.Response(response.status_code, json=data)
        return response

    report, client = _export(fake, clock, _twisted(fake, twist), 3)
    _adds_up(report, 3)
    assert report.exported == 3
    assert report.failed == 0
    for i in range(3):
        contact = fake.contact_by_email(f"p{i}@example.com")
        assert contact is not None
        assert contact.lists.get(1) == 1
        assert "seg" in contact.tags
    # no retries: users/me, list, tags lookup, tag create, then 4 calls per contact
    assert client.requests_made <= 4 + 4 * 3


@pytest.mark.parametrize(("rows", "path"), [(40, "/import/bulk_import"), (3, "/contact/sync")])
def test_a_key_echoed_in_refusals_stays_out_of_the_report(
    fake: FakeActiveCampaign, clock: VirtualClock, rows: int, path: str
) -> None:
    def twist(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith(path):
            key = request.headers["Api-Token"]
            body = {"success": 0, "message": f"token {key}", "failureReasons": [key.lower()]}
            return httpx.Response(400, json=body)
        return response

    report, _ = _export(fake, clock, _twisted(fake, twist), rows)
    _adds_up(report, rows)
    assert report.exported == 0
    reasons = [e.reason for e in report.errors]
    assert len(reasons) == rows
    assert all("[REDACTED]" in r for r in reasons)
    assert not any(KEY.lower() in (r + repr(report)).lower() for r in reasons)
