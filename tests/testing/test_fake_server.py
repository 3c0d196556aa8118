"""The fake on a real loopback socket (``fake.serve()``)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from acexport.testing import FakeActiveCampaign, FakeServer, VirtualClock

pytestmark = pytest.mark.integration

KEY = "k"
SYNC = {"contact": {"email": "a@example.com"}}


@pytest.fixture
def fake() -> FakeActiveCampaign:
    return FakeActiveCampaign(KEY, clock=VirtualClock())


@pytest.fixture
def server(fake: FakeActiveCampaign) -> Iterator[FakeServer]:
    with fake.serve() as server:
        yield server


@pytest.fixture
def client(server: FakeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/api/3", headers={"Api-Token": KEY}) as client:
        yield client


def test_url_is_loopback_without_api_prefix(server: FakeServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.host == "127.0.0.1"


def test_serves_endpoints_over_a_socket(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    assert client.get("/users/me").json()["user"]["id"] == "1"
    created = client.post("/contact/sync", json=SYNC)
    assert created.status_code == 201
    assert created.headers["content-type"] == "application/json"
    assert int(created.headers["content-length"]) == len(created.content)
    assert fake.contact_by_email("a@example.com") is not None
    assert client.get("/nope").status_code == 404
    assert client.get("/users/me", headers={"Api-Token": "bad"}).status_code == 403
    assert fake.stats.max_concurrent == 1


def test_query_and_chunked_body(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"contact": '
        yield b'{"email": "chunked@example.com"}}'

    response = client.post(
        "/contact/sync", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    found = client.get("/contacts", params={"email": "CHUNKED@example.com"}).json()
    assert found["meta"]["total"] == "1"


def test_keep_alive_serves_several_requests_on_one_connection(server: FakeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/api/3/users/me", headers={"Api-Token": KEY})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200
            assert response.getheader("Content-Length") == str(len(body))
            assert not response.will_close
        conn.request(
            "POST",
            "/api/3/contact/sync",
            body=json.dumps(SYNC),
            headers={"Api-Token": KEY, "Content-Type": "application/json"},
        )
        assert conn.getresponse().read()
    finally:
        conn.close()


def test_reset_before_surfaces_as_transport_error(
    fake: FakeActiveCampaign, client: httpx.Client
) -> None:
    fake.faults.queue("reset_before", path="/api/3/contact/sync")
    with pytest.raises(httpx.TransportError):
        client.post("/contact/sync", json=SYNC)
    assert fake.contacts == []
    assert client.post("/contact/sync", json=SYNC).status_code == 201  # a new connection works


def test_reset_after_applies_then_drops(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.faults.queue("reset_after")
    with pytest.raises(httpx.TransportError):
        client.post("/contact/sync", json=SYNC)
    assert fake.contact_by_email("a@example.com") is not None


def _drain(sock: socket.socket) -> None:
    for _ in range(10):
        if not sock.recv(1024):
            return


def test_reset_is_a_tcp_reset(fake: FakeActiveCampaign, server: FakeServer) -> None:
    fake.faults.queue("reset_before")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /api/3/users/me HTTP/1.1\r\nHost: x\r\nApi-Token: k\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            _drain(sock)


def test_status_fault_and_html_over_socket(fake: FakeActiveCampaign, client: httpx.Client) -> None:
    fake.faults.queue(503)
    fake.faults.queue("html")
    assert client.get("/users/me").status_code == 503
    html = client.get("/users/me")
    assert html.headers["content-type"].startswith("text/html")


def test_slow_fault_trips_a_client_timeout(fake: FakeActiveCampaign, server: FakeServer) -> None:
    fake.faults.slow_seconds = 0.15
    fake.faults.queue("slow")
    with (
        httpx.Client(
            base_url=f"{server.url}/api/3", headers={"Api-Token": KEY}, timeout=0.03
        ) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post("/contact/sync", json=SYNC)
    # the request was applied even though the client gave up
    assert fake.contact_by_email("a@example.com") is not None


def test_records_max_concurrent_requests() -> None:
    fake = FakeActiveCampaign(KEY, latency=0.05)
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    with (
        fake.serve() as live,
        httpx.Client(base_url=f"{live.url}/api/3", headers={"Api-Token": KEY}) as shared,
    ):

        def worker() -> None:
            barrier.wait(5)
            statuses.append(shared.get("/users/me").status_code)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
    assert statuses == [200] * 4
    assert fake.stats.max_concurrent >= 2


def test_close_is_clean_with_an_idle_keep_alive_connection(fake: FakeActiveCampaign) -> None:
    server = fake.serve()
    client = httpx.Client(base_url=f"{server.url}/api/3", headers={"Api-Token": KEY})
    try:
        assert client.get("/users/me").status_code == 200  # leaves a pooled connection open
        server.close()
        assert server.closed
        server.close()  # idempotent
        with pytest.raises(httpx.TransportError):
            client.get("/users/me")
    finally:
        client.close()
        server.close()
