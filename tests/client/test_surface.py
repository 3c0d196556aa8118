"""The public surface: __all__, sync/async parity, context managers, config errors."""

from __future__ import annotations

import collections.abc
import inspect
import os
import re
import types
import typing
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import acexport
from acexport import (
    ActiveCampaign,
    AsyncActiveCampaign,
    AsyncSegmentExporter,
    ConfigError,
    SegmentExporter,
)
from acexport._async_caller import AsyncCaller
from acexport._async_client import (
    AsyncContacts,
    AsyncFields,
    AsyncImports,
    AsyncLists,
    AsyncTags,
    AsyncUsers,
)
from acexport._caller import Caller
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
    (SegmentExporter, AsyncSegmentExporter),
]

#: Each sync type and its async twin, wherever it appears in an annotation.
TWINS: dict[Any, Any] = {
    **dict(PAIRS),
    httpx.Client: httpx.AsyncClient,
    httpx.BaseTransport: httpx.AsyncBaseTransport,
    Caller: AsyncCaller,
}
#: Callables the async side awaits: ``Callable[[float], None]`` becomes
#: ``Callable[[float], Awaitable[None]]``. (Callbacks such as ``on_progress`` stay plain.)
AWAITED_CALLBACKS = {"sleep"}


def _public_methods(cls: type) -> dict[str, Callable[..., Any]]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") or name == "__init__"
    }


def _to_async(tp: Any, *, parameter: str | None = None) -> Any:
    """The annotation the async twin must have where the sync side has ``tp``."""
    if tp in TWINS:
        return TWINS[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is collections.abc.Iterator:  # a listing: an async iterator on the async side
        return AsyncIterator[_to_async(args[0])]  # type: ignore[misc]
    if origin is collections.abc.Iterable and parameter is not None:
        # an input: the async side takes an async iterable too
        return Iterable[args[0]] | AsyncIterable[args[0]]  # type: ignore[valid-type]
    if origin is collections.abc.Callable and parameter in AWAITED_CALLBACKS:
        params, result = args
        return Callable[params, Awaitable[result]]  # type: ignore[valid-type]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_to_async(a, parameter=parameter) for a in args)]  # noqa: UP007
    return tp


@pytest.mark.parametrize(("sync", "async_"), PAIRS)
def test_sync_and_async_expose_the_same_methods_and_parameters(sync: type, async_: type) -> None:
    s, a = _public_methods(sync), _public_methods(async_)
    assert set(s) == set(a) | ({"close"} & set(s))
    for name in s:
        if name not in a:
            continue
        sp = [(p.name, p.kind, p.default) for p in inspect.signature(s[name]).parameters.values()]
        ap = [(p.name, p.kind, p.default) for p in inspect.signature(a[name]).parameters.values()]
        assert sp == ap, name


@pytest.mark.parametrize(("sync", "async_"), PAIRS)
def test_async_annotations_are_the_sync_ones_twins(sync: type, async_: type) -> None:
    s, a = _public_methods(sync), _public_methods(async_)
    checked = 0
    for name in s.keys() & a.keys():
        sh, ah = typing.get_type_hints(s[name]), typing.get_type_hints(a[name])
        assert sh.keys() == ah.keys(), name
        for param, annotation in sh.items():
            expected = _to_async(annotation, parameter=None if param == "return" else param)
            assert ah[param] == expected, f"{async_.__name__}.{name}: {param}"
            checked += 1
    assert checked >= len(s)  # every method has at least its return annotated


@pytest.mark.parametrize(("sync", "async_"), PAIRS)
def test_what_returns_a_value_is_a_coroutine_and_what_iterates_is_an_async_iterator(
    sync: type, async_: type
) -> None:
    s, a = _public_methods(sync), _public_methods(async_)
    for name in (s.keys() & a.keys()) - {"__init__"}:
        returns = typing.get_type_hints(s[name])["return"]
        if typing.get_origin(returns) is collections.abc.Iterator:
            assert not inspect.iscoroutinefunction(a[name]), name  # called without await
            assert typing.get_origin(typing.get_type_hints(a[name])["return"]) is (
                collections.abc.AsyncIterator
            ), name
        else:
            assert not inspect.iscoroutinefunction(s[name]), name
            assert inspect.iscoroutinefunction(a[name]), f"{async_.__name__}.{name} is not async"


def test_properties_and_context_managers_match() -> None:
    for sync, async_ in PAIRS:
        sp = {n for n, _ in inspect.getmembers(sync, lambda m: isinstance(m, property))}
        ap = {n for n, _ in inspect.getmembers(async_, lambda m: isinstance(m, property))}
        assert sp == ap, sync.__name__
        for prop in sp:
            s_hints = typing.get_type_hints(getattr(sync, prop).fget)
            a_hints = typing.get_type_hints(getattr(async_, prop).fget)
            assert a_hints["return"] == _to_async(s_hints["return"]), prop
    assert typing.get_type_hints(ActiveCampaign.__enter__)["return"] is ActiveCampaign
    assert typing.get_type_hints(AsyncActiveCampaign.__aenter__)["return"] is AsyncActiveCampaign
    assert inspect.iscoroutinefunction(AsyncActiveCampaign.__aenter__)
    assert inspect.iscoroutinefunction(AsyncActiveCampaign.__aexit__)
    assert inspect.iscoroutinefunction(AsyncActiveCampaign.close)


@pytest.mark.anyio
async def test_async_listings_are_async_iterators_at_call_time(
    client: ActiveCampaign, aclient: AsyncActiveCampaign
) -> None:
    listings: list[tuple[str, str, tuple[Any, ...]]] = [
        ("lists", "list", ()),
        ("contacts", "list", ()),
        ("fields", "list", ()),
        ("tags", "list", ("vip",)),
    ]
    for resource, method, args in listings:
        sync_result = getattr(getattr(client, resource), method)(*args)
        assert isinstance(sync_result, Iterator), resource
        async_result = getattr(getattr(aclient, resource), method)(*args)
        assert isinstance(async_result, AsyncIterator), resource
        assert not inspect.isawaitable(async_result), resource
        assert [x async for x in async_result] == list(sync_result), resource


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
