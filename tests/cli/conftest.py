"""Fixtures for the command-line tests: no credentials from the environment, no fake server
left running, and the sandbox accounts a command creates."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from clitools import KEY_ENV, URL_ENV

from acexport._cli import _connection
from acexport.testing import FakeActiveCampaign


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture(autouse=True)
def _no_server_left_running() -> Iterator[None]:
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("acexport-fake-ac-")]
    assert left == [], "a fake server is still running"


@pytest.fixture
def sandboxes(monkeypatch: pytest.MonkeyPatch) -> list[FakeActiveCampaign]:
    """The sandbox accounts the commands create, to look into after the run."""
    made: list[FakeActiveCampaign] = []
    original = _connection.sandbox_account

    def record() -> FakeActiveCampaign:
        made.append(original())
        return made[-1]

    monkeypatch.setattr(_connection, "sandbox_account", record)
    return made


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """A fake whose key is not ours: every request is refused with 403."""
    with FakeActiveCampaign(api_key="other").serve() as server:
        yield server.url
