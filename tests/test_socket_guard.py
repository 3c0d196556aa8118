"""The socket guard (tests/_socket_guard.py) that keeps ``-m "not integration"`` socket-free.

These tests open real sockets on purpose, so they are integration tests themselves: the guard
is installed by hand here, not by conftest's hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import httpx
import pytest

from _socket_guard import SocketGuard
from acexport.testing import FakeActiveCampaign

pytestmark = pytest.mark.integration

Failed = pytest.fail.Exception


def test_binding_fails_with_the_advice_and_is_recorded() -> None:
    guard = SocketGuard()
    with (
        guard.installed(),
        socket.socket() as sock,
        pytest.raises(Failed, match="mark this test integration"),
    ):
        sock.bind(("127.0.0.1", 0))
    assert len(guard.violations) == 1
    assert guard.violations[0].startswith("bind(('127.0.0.1', 0))")


def test_an_http_request_to_a_served_fake_fails_the_test_not_as_a_connect_error() -> None:
    fake = FakeActiveCampaign()
    with fake.serve() as server:  # bound before the guard is installed
        guard = SocketGuard()
        with (
            guard.installed(),
            httpx.Client() as http,
            pytest.raises(Failed, match=r"^connect\(.*mark this test integration"),
        ):
            http.get(server.url + "/api/3/users/me")
    assert fake.stats.requests == 0
    assert guard.violations


def test_a_failure_swallowed_in_a_thread_is_still_recorded() -> None:
    guard = SocketGuard()

    def swallow() -> None:
        with contextlib.suppress(BaseException):  # as a careless worker thread might
            socket.create_connection(("127.0.0.1", 9), timeout=1)

    with guard.installed():
        thread = threading.Thread(target=swallow)
        thread.start()
        thread.join(5)
    assert not thread.is_alive()
    assert [v.split("(")[0] for v in guard.violations] == ["connect"]


def test_in_process_sockets_and_event_loops_are_left_alone() -> None:
    guard = SocketGuard()
    with guard.installed():
        a, b = socket.socketpair()
        with a, b:
            a.sendall(b"ping")
            assert b.recv(4) == b"ping"
        assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
    assert guard.violations == []


def test_everything_is_restored_after() -> None:
    originals = (socket.socket.connect, socket.socket.bind, socket.socketpair)
    with SocketGuard().installed():
        assert socket.socket.bind is not originals[1]
    assert (socket.socket.connect, socket.socket.bind, socket.socketpair) == originals
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert sock.getsockname()[1] > 0
