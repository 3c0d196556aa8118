"""The socket guard behind tests/conftest.py's hooks: keeps the fast lane honest.

While a test that is not marked ``integration`` runs (its setup, call and teardown, and the
module-scoped fixtures set up for it), opening an internet-socket connection or binding one
fails the test with a message saying to mark it. Sockets that never leave the process
(``socket.socketpair``, which event loops use to wake themselves, and AF_UNIX) are left alone.
A subprocess is out of its reach: a test that starts one that serves or connects is marked by
hand.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

__all__ = ["SocketGuard", "guarded"]

_INET = (socket.AF_INET, socket.AF_INET6)
_MARK_IT = "mark this test integration (@pytest.mark.integration or a module-level pytestmark)"


class SocketGuard:
    """Makes ``connect``/``connect_ex``/``bind`` on internet sockets fail while installed."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self._exempt = threading.local()  # set while socket.socketpair() builds its pair

    def _check(self, sock: socket.socket, what: str, address: object) -> None:
        if sock.family not in _INET or getattr(self._exempt, "on", False):
            return
        message = (
            f"{what}({address!r}) on a real socket in a test not marked integration: {_MARK_IT}"
        )
        self.violations.append(message)
        sock.close()  # the caller's cleanup may not run for a BaseException: no ResourceWarning
        # pytest's Failed is a BaseException: no `except Exception` or `except OSError` in an
        # HTTP stack (or a retry loop) swallows it and turns it into a connection error.
        pytest.fail(message, pytrace=False)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        cls = socket.socket
        originals: dict[str, Callable[..., Any]] = {
            name: getattr(cls, name) for name in ("connect", "connect_ex", "bind")
        }
        real_socketpair = socket.socketpair
        guard = self

        def wrap(name: str) -> Callable[..., Any]:
            original = originals[name]

            def checked(sock: socket.socket, address: Any, *args: Any) -> Any:
                guard._check(sock, name, address)
                return original(sock, address, *args)

            return checked

        def socketpair(*args: Any, **kwargs: Any) -> tuple[socket.socket, socket.socket]:
            # Where socketpair is emulated over loopback TCP (Windows), it binds and connects.
            self._exempt.on = True
            try:
                return real_socketpair(*args, **kwargs)
            finally:
                self._exempt.on = False

        for name in originals:
            setattr(cls, name, wrap(name))
        socket.socketpair = socketpair
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(cls, name, original)
            socket.socketpair = real_socketpair


def guarded(item: pytest.Item) -> Generator[None, Any, Any]:
    """The body of a ``pytest_runtest_*`` hook wrapper: the guard around one phase of a test."""
    if item.get_closest_marker("integration") is not None:
        return (yield)
    guard = SocketGuard()
    with guard.installed():
        result = yield
    if guard.violations:  # the failure was swallowed somewhere (a thread, a bare except)
        pytest.fail(guard.violations[0], pytrace=False)
    return result
