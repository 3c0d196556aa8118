from __future__ import annotations

import pytest

from acexport import ConfigError
from acexport._config import API_KEY_ENV, API_URL_ENV, ClientConfig, normalize_api_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("acct.api-us1.com", "https://acct.api-us1.com/api/3"),
        ("https://acct.api-us1.com", "https://acct.api-us1.com/api/3"),
        ("https://acct.api-us1.com/", "https://acct.api-us1.com/api/3"),
        ("https://acct.api-us1.com/api/3", "https://acct.api-us1.com/api/3"),
        ("https://acct.api-us1.com/api/3/", "https://acct.api-us1.com/api/3"),
        ("acct.api-us1.com/api/3", "https://acct.api-us1.com/api/3"),
        ("  https://acct.api-us1.com  ", "https://acct.api-us1.com/api/3"),
        ("HTTPS://Acct.Api-Us1.com", "https://acct.api-us1.com/api/3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/3"),
        ("http://localhost:9000/api/3", "http://localhost:9000/api/3"),
        ("http://127.1.2.3", "http://127.1.2.3/api/3"),
        ("http://[::1]:8000", "http://[::1]:8000/api/3"),
        ("https://eu.example.com:8443", "https://eu.example.com:8443/api/3"),
    ],
)
def test_accepted_url_forms(given: str, expected: str) -> None:
    assert normalize_api_url(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("http://acct.api-us1.com", "clear text"),
        ("http://10.0.0.5", "clear text"),
        ("http://localhost.evil.com", "clear text"),
        ("ftp://acct.api-us1.com", "https://"),
        ("https://acct.api-us1.com/api/2", "unexpected path"),
        ("https://user:pw@acct.api-us1.com", "user name"),
        ("https://acct.api-us1.com/?x=1", "query"),
        ("", "empty"),
    ],
)
def test_refused_url_forms(given: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        normalize_api_url(given)


def _resolve(url: str | None, key: str | None, env: dict[str, str]) -> ClientConfig:
    return ClientConfig.resolve(
        url,
        key,
        timeout=30,
        requests_per_second=5,
        bulk_imports_per_minute=100,
        max_retries=3,
        max_retry_wait=60,
        environ=env,
    )


def test_environment_supplies_url_and_key() -> None:
    config = _resolve(None, None, {API_URL_ENV: "acct.api-us1.com", API_KEY_ENV: " k-123 "})
    assert config.base_url == "https://acct.api-us1.com/api/3"
    assert config.api_key == "k-123"
    assert "k-123" not in repr(config)


def test_arguments_win_over_environment() -> None:
    config = _resolve(
        "https://b.example.com", "arg-key", {API_URL_ENV: "a.example.com", API_KEY_ENV: "env"}
    )
    assert config.base_url == "https://b.example.com/api/3"
    assert config.api_key == "arg-key"


@pytest.mark.parametrize(
    ("url", "key", "names"),
    [
        (None, "k", API_URL_ENV),
        ("a.example.com", None, API_KEY_ENV),
        ("a.example.com", "  ", API_KEY_ENV),
    ],
)
def test_missing_settings_name_the_variable(url: str | None, key: str | None, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        _resolve(url, key, {})


def test_bad_key_is_described_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        _resolve("a.example.com", "abc def-SECRET", {})
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0},
        {"requests_per_second": 0},
        {"bulk_imports_per_minute": -1},
        {"max_retries": -1},
    ],
)
def test_bad_limits_are_refused(kwargs: dict[str, float]) -> None:
    settings: dict[str, float] = {
        "timeout": 30,
        "requests_per_second": 5,
        "bulk_imports_per_minute": 100,
        "max_retries": 3,
        "max_retry_wait": 60,
    }
    settings.update(kwargs)
    with pytest.raises(ConfigError):
        ClientConfig.resolve("a.example.com", "k", environ={}, **settings)  # type: ignore[arg-type]


HEX_KEY = "0123456789abcdef" * 4 + "c0ffee42"  # 72 hex characters, like ActiveCampaign's keys


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (HEX_KEY, "https://acct.api-us1.com"),  # ActiveCampaign(key, url)
        (HEX_KEY, "acct.api-us1.com"),
        (HEX_KEY.upper(), "https://acct.activehosted.com/api/3"),
        ("https://" + HEX_KEY, "KEY-not-a-url-42"),
        (HEX_KEY + "/api/3", "KEY-not-a-url-42"),
        ("https://" + "a1b2c3" * 12 + ".com", "KEY-not-a-url-42"),  # a label no DNS name has
        ("https://acct.api-us1.com", "https://acct.api-us1.com"),
        ("https://acct.api-us1.com", "acct.api-eu2.com"),
        ("https://acct.api-us1.com", "acct.api-us1.com/api/3"),
    ],
)
def test_swapped_url_and_key_are_refused_without_echo(url: str, key: str) -> None:
    with pytest.raises(ConfigError, match="swapped") as info:
        _resolve(url, key, {})
    text = f"{info.value!s} {info.value!r}"
    assert HEX_KEY.lower() not in text.lower()
    assert "a1b2c3" not in text
    assert key not in text


def test_the_swap_check_leaves_real_urls_and_keys_alone() -> None:
    config = _resolve("acct.api-us1.com", HEX_KEY, {})
    assert config.base_url == "https://acct.api-us1.com/api/3"
    assert _resolve("http://127.0.0.1:8080", "k", {}).base_url == "http://127.0.0.1:8080/api/3"
    assert _resolve("https://deadbeef.example.com", HEX_KEY, {}).api_key == HEX_KEY
