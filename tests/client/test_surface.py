"""The public surface: __all__, sync/async parity, context managers, config errors."""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import httpx
import pytest

import acexport
from acexport import ActiveCampaign, AsyncActiveCampaign, ConfigError
from acexport._async_client import (
    AsyncContacts,
    AsyncFields,
    AsyncImports,
    AsyncLists,
    AsyncTags,
    AsyncUsers,
)
from acexport._client import Contacts, Fields, Imports, Lists, Tags, Users, caller_of


def test_all_is_sorted_complete_and_importable() -> None:
    assert acexport.__all__ == sorted(acexport.__all__)
    for name in acexport.__all__:
        assert hasattr(acexport, name), name
    public = {
        n for n, v in vars(acexport).items() if not n.startswith("_") and not inspect.ismodule(v)
    }
    public.discard("annotations")
    assert public <= set(acexport.__all__), public - set(acexport.__all__)


def test_modules_are_private() -> None:
    src = Path(acexport.__file__).parent
    for path in src.rglob("*.py"):
        rel = path.relative_to(src)
        if rel.parts[0] == "testing" or rel.name in ("__init__.py", "__main__.py", "py.typed"):
            continue
        assert any(part.startswith("_") for part in rel.parts), rel


PAIRS = [
    (ActiveCampaign, AsyncActiveCampaign),
    (Users, AsyncUsers),
    (Lists, AsyncLists),
    (Contacts, AsyncContacts),
    (Fields, AsyncFields),
    (Tags, AsyncTags),
    (Imports, AsyncImports),
]


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") or name == "__init__"
    }


@pytest.mark.parametrize(("sync", "async_"), PAIRS)
def test_sync_and_async_expose_the_same_methods_and_parameters(sync: type, async_: type) -> None:
    s, a = _public_methods(sync), _public_methods(async_)
    assert set(s) == set(a) | ({"close"} & set(s))
    for name in s:
        if name not in a:
            continue
        sp = [(p.name, p.kind, p.default) for p in s[name].parameters.values()]
        ap = [(p.name, p.kind, p.default) for p in a[name].parameters.values()]
        assert sp == ap, name


def test_resources_are_identical_on_both_clients() -> None:
    names = ("users", "lists", "contacts", "fields", "tags", "imports")
    c = ActiveCampaign("https://a.example.com", "k")
    with c:
        for name in names:
            assert hasattr(c, name)
    a = AsyncActiveCampaign("https://a.example.com", "k")
    for name in names:
        assert type(getattr(a, name)).__name__ == "Async" + type(getattr(c, name)).__name__


def test_context_manager_closes_what_it_created() -> None:
    with ActiveCampaign("https://a.example.com", "k") as c:
        http = caller_of(c).http
    assert http.is_closed


def test_a_passed_http_client_is_left_open() -> None:
    http = httpx.Client()
    with ActiveCampaign("https://a.example.com", "k", http_client=http):
        pass
    assert not http.is_closed
    http.close()


@pytest.mark.anyio
async def test_async_context_manager_closes_what_it_created() -> None:
    async with AsyncActiveCampaign("https://a.example.com", "k") as c:
        http = caller_of(c).http
    assert http.is_closed


def test_missing_settings_name_the_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTIVECAMPAIGN_API_URL", raising=False)
    monkeypatch.delenv("ACTIVECAMPAIGN_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ACTIVECAMPAIGN_API_URL"):
        ActiveCampaign()
    with pytest.raises(ConfigError, match="ACTIVECAMPAIGN_API_KEY"):
        AsyncActiveCampaign("https://a.example.com")


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIVECAMPAIGN_API_URL", "acct.api-us1.com")
    monkeypatch.setenv("ACTIVECAMPAIGN_API_KEY", "env-key")
    with ActiveCampaign() as c:
        assert c.api_url == "https://acct.api-us1.com/api/3"


def test_plain_http_off_loopback_is_refused() -> None:
    with pytest.raises(ConfigError, match="clear text"):
        ActiveCampaign("http://acct.api-us1.com", "k")


def test_version_is_a_string() -> None:
    assert re.match(r"\d+\.\d+", acexport.__version__)
    assert os.sep not in acexport.__version__
