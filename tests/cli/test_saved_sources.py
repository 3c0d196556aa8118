"""A saved export's ``python:`` source: imported from beside the config file, called with no
arguments, an iterable or an async iterable of profiles; each way it can go wrong said."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from acexport import ConfigError
from acexport._cli._config import load_config
from acexport._cli._jobs import check_source, open_source

MODULE = """
import asyncio

def rows():
    return [{"email": "a@example.com"}, {"email": "b@example.com"}]

def gen():
    yield {"email": "c@example.com"}

async def agen():
    for i in range(3):
        await asyncio.sleep(0)
        yield {"email": f"{i}@example.com"}

def arows():
    return agen()

def text():
    return "not profiles"

def boom():
    raise RuntimeError("warehouse down")
"""


def config_for(tmp_path: Path, source: str, module: str = MODULE) -> Path:
    (tmp_path / "saved_segments_mod.py").write_text(textwrap.dedent(module))
    path = tmp_path / "acexport.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [connections.main]
            api_url = "youraccount.api-us1.com"
            api_key_env = "ACTIVECAMPAIGN_API_KEY"
            [exports.x]
            connection = "main"
            list_id = 1
            source = "{source}"
            [exports.x.mapping]
            email = "email"
            """
        )
    )
    return path


def profiles(path: Path) -> list[object]:
    config = load_config(path)
    source = open_source(config, config.exports["x"])
    try:
        return list(source.profiles)
    finally:
        source.close()


@pytest.mark.parametrize(
    ("function", "emails"),
    [
        ("rows", ["a@example.com", "b@example.com"]),
        ("gen", ["c@example.com"]),
        ("arows", ["0@example.com", "1@example.com", "2@example.com"]),
        ("agen", ["0@example.com", "1@example.com", "2@example.com"]),
    ],
)
def test_iterables_and_async_iterables(tmp_path: Path, function: str, emails: list[str]) -> None:
    path = config_for(tmp_path, f"python:saved_segments_mod:{function}")
    got = profiles(path)
    assert [p["email"] for p in got] == emails  # type: ignore[index]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("python:saved_segments_mod:text", r"returned str; it must return an iterable"),
        ("python:saved_segments_mod:boom", r"raised RuntimeError: warehouse down"),
        ("python:saved_segments_mod:nothing", r"saved_segments_mod has no function 'nothing'"),
        ("python:no_such_module_here:f", r"cannot import no_such_module_here: ModuleNotFound"),
    ],
)
def test_what_goes_wrong_is_said(tmp_path: Path, source: str, message: str) -> None:
    path = config_for(tmp_path, source)
    with pytest.raises(ConfigError, match=message) as info:
        profiles(path)
    assert str(info.value).startswith(f"{path}:4: exports.x")


def test_check_source_imports_but_does_not_call(tmp_path: Path) -> None:
    path = config_for(tmp_path, "python:saved_segments_mod:boom")
    config = load_config(path)
    check_source(config, config.exports["x"])  # boom() would raise if it were called


def test_a_missing_file_source_is_a_usage_error(tmp_path: Path) -> None:
    path = config_for(tmp_path, "missing.csv")
    config = load_config(path)
    with pytest.raises(Exception, match=r"cannot read .*missing.csv"):
        check_source(config, config.exports["x"])
