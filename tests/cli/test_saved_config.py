"""The saved-exports file: what it holds once checked, and one line per mistake naming the
file, its line, the key and what to write instead."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import acexport
from acexport import ConfigError
from acexport._cli._config import load_config

GOOD = """\
[connections.main]
api_url = "youraccount.api-us1.com"
api_key_env = "ACTIVECAMPAIGN_API_KEY"
data_transfer_acknowledged = true

[exports.vip]
connection = "main"
list_id = 3
source = "segments/vip.csv"
state = "state/vip.sqlite"
on_leave = "untag"
max_leave = 0.05
max_not_exported = "2%"
[exports.vip.mapping]
email = "Email"
first_name = "FirstName"
key = "CustomerId"
tags = ["vip"]
[exports.vip.mapping.fields]
LOYALTY_TIER = "Tier"
"""


def write(tmp_path: Path, text: str, name: str = "acexport.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value).splitlines()


def test_the_issue_example_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    config = load_config(write(folder, GOOD))
    vip = config.exports["vip"]
    assert vip.source == str(folder / "segments" / "vip.csv")
    assert vip.state == str(folder / "state" / "vip.sqlite")
    assert (vip.list_id, vip.connection, vip.on_leave, vip.max_leave) == (3, "main", "untag", 0.05)
    assert (vip.max_not_exported, vip.max_not_exported_share) == (0.02, True)
    assert vip.mapping.key == "CustomerId"
    assert vip.mapping.tags == ("vip",)
    assert vip.mapping.fields == {"LOYALTY_TIER": "Tier"}
    assert vip.mapping.columns() == ["Email", "FirstName", "CustomerId", "Tier"]
    assert vip.line == 6
    main = config.connections["main"]
    assert main.data_transfer_acknowledged is True
    assert main.api_key_env == "ACTIVECAMPAIGN_API_KEY"


def test_optional_keys_absent_stay_unset(tmp_path: Path) -> None:
    text = GOOD.replace('on_leave = "untag"\n', "").replace("max_leave = 0.05\n", "")
    text = text.replace('key = "CustomerId"\n', "").replace('max_not_exported = "2%"\n', "")
    vip = load_config(write(tmp_path, text)).exports["vip"]
    assert (vip.on_leave, vip.max_leave, vip.mapping.key) == (None, None, None)
    assert vip.max_not_exported == 0


def test_api_key_command_as_string_or_array(tmp_path: Path) -> None:
    text = GOOD.replace(
        'api_key_env = "ACTIVECAMPAIGN_API_KEY"', 'api_key_command = ["pass", "show", "ac"]'
    )
    assert load_config(write(tmp_path, text)).connections["main"].api_key_command == (
        "pass",
        "show",
        "ac",
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("list_id = 3", 'list_id = "3"', ':8: exports.vip.list_id: is a string; write list_id = 3'),
        ("list_id = 3", "list_id = 0", ":8: exports.vip.list_id: must be a list id"),
        ("list_id = 3", "lst_id = 3", ':8: exports.vip.lst_id: unknown key; did you mean "list_id"?'),
        ('on_leave = "untag"', 'on_leave = "untagg"', ':11: exports.vip.on_leave: must be "unsubscribe" or "untag", not the string \'untagg\'; write on_leave = "untag"'),
        ('on_leave = "untag"', "on_leave = true", ":11: exports.vip.on_leave: must be"),
        ("max_leave = 0.05", "max_leave = 0", ":12: exports.vip.max_leave: must be a fraction of the list above 0 and at most 1"),
        ("max_leave = 0.05", "max_leave = 1.5", ":12: exports.vip.max_leave: must be a fraction"),
        ("max_leave = 0.05", 'max_leave = "5%"', ":12: exports.vip.max_leave: must be a fraction"),
        ('key = "CustomerId"', "key = 7", ':17: exports.vip.mapping.key: must be a non-empty string, not a number 7; write key = "CustomerId"'),
        ('key = "CustomerId"', 'key = ""', ":17: exports.vip.mapping.key: must be a non-empty string"),
        ('tags = ["vip"]', 'tags = "vip"', ':18: exports.vip.mapping.tags: must be an array of tag names; write tags = ["vip"]'),
        ('email = "Email"', 'emial = "Email"', ':15: exports.vip.mapping.emial: unknown key; did you mean "email"?'),
        ('email = "Email"', 'emial = "Email"', ':14: exports.vip.mapping: email is missing; add email = "Email"'),
        ('LOYALTY_TIER = "Tier"', "LOYALTY_TIER = 3", ":20: exports.vip.mapping.fields.LOYALTY_TIER: must name the column"),
        ("data_transfer_acknowledged = true", 'data_transfer_acknowledged = "yes"', ":4: connections.main.data_transfer_acknowledged: must be true or false (no quotes)"),
        ('connection = "main"', 'connection = "mian"', ':7: exports.vip.connection: no [connections.mian]; write connection = "main"'),
        ('source = "segments/vip.csv"', 'source = "segments/vip.xlsx"', ":9: exports.vip.source: cannot tell the format of 'segments/vip.xlsx'"),
        ('source = "segments/vip.csv"', 'source = "python:segments"', ':9: exports.vip.source: \'python:segments\' is not a Python source; write source = "python:package.module:function"'),
        ('max_not_exported = "2%"', 'max_not_exported = "lots"', ":13: exports.vip.max_not_exported: must be a number of rows"),
        ('max_not_exported = "2%"', "max_not_exported = -1", ":13: exports.vip.max_not_exported: must be a number of rows"),
        ('api_url = "youraccount.api-us1.com"', 'api_url = "ftp://x.example"', ":2: connections.main.api_url: the API URL must use https://"),
        ("[exports.vip]", "[exports.'v i p']", ":6: exports.v i p: the name 'v i p' is used for report files"),
        ("[exports.vip]\n", "[exprots.x]\n[exports.vip]\n", ":6: exprots: unknown section; did you mean [exports.NAME]?"),
    ],
)  # fmt: skip
def test_each_mistake_is_one_line_with_file_line_key_and_fix(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    found = problems(tmp_path, GOOD.replace(old, new, 1))
    path = str(tmp_path / "acexport.toml")
    assert any(line.startswith(path) and expected in line for line in found), found


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("list_id = 3", 'list_id = "x"').replace('tags = ["vip"]', "tags = 1")
    text = text.replace('connection = "main"', 'connection = "other"')
    found = problems(tmp_path, text)
    assert len(found) == 3, found
    assert [f.split(": ")[1] for f in found] == [
        "exports.vip.list_id",
        "exports.vip.mapping.tags",
        "exports.vip.connection",
    ]


def test_a_literal_api_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "0123456789abcdef0123456789abcdef0123456789abcdef"
    text = GOOD.replace('api_key_env = "ACTIVECAMPAIGN_API_KEY"', f'api_key = "{secret}"')
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    assert ":3: connections.main.api_key: a literal API key is refused" in found[0]
    assert 'write api_key_env = "ACTIVECAMPAIGN_API_KEY"' in found[0]
    assert secret not in found[0]


def test_a_key_put_in_api_key_env_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "0123456789abcdef0123456789abcdef0123456789abcdef"
    text = GOOD.replace('"ACTIVECAMPAIGN_API_KEY"', f'"{secret}"')
    found = problems(tmp_path, text)
    assert "connections.main.api_key_env: must name an environment variable" in found[0]
    assert secret not in "\n".join(found)


def test_both_or_neither_key_source(tmp_path: Path) -> None:
    both = GOOD.replace(
        'api_key_env = "ACTIVECAMPAIGN_API_KEY"',
        'api_key_env = "ACTIVECAMPAIGN_API_KEY"\napi_key_command = "pass show ac"',
    )
    assert (
        "give exactly one of api_key_env and api_key_command, not api_key_env and"
        in (problems(tmp_path, both)[0])
    )
    neither = GOOD.replace('api_key_env = "ACTIVECAMPAIGN_API_KEY"\n', "")
    assert "not neither" in problems(tmp_path, neither)[0]


def test_max_leave_goes_with_on_leave(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace('on_leave = "untag"\n', ""))
    assert found == [
        f"{tmp_path / 'acexport.toml'}:11: exports.vip.max_leave: goes with on_leave; add "
        'on_leave = "untag" (or "unsubscribe"), or remove max_leave'
    ]


def test_missing_sections_and_keys(tmp_path: Path) -> None:
    found = problems(tmp_path, "")
    assert any("there is no [connections.NAME] section; add one" in f for f in found)
    assert any("there is no [exports.NAME] section; add one" in f for f in found)
    text = GOOD.replace("list_id = 3\n", "").replace('source = "segments/vip.csv"\n', "")
    found = problems(tmp_path, text)
    assert any(":6: exports.vip: list_id is missing; add list_id = 3" in f for f in found)
    assert any('source is missing; add source = "segments/vip.csv"' in f for f in found)


def test_duplicate_names_and_broken_toml_name_the_line(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD + '\n[exports.vip]\nconnection = "main"\n')
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'acexport.toml'}: not valid TOML:")
    assert "line 22" in found[0]
    assert "not valid TOML" in problems(tmp_path, "[connections.main\n")[0]


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the saved-exports file.*--config FILE"):
        load_config(tmp_path / "nope.toml")


def test_load_exports_returns_them_by_name_in_file_order(tmp_path: Path) -> None:
    text = GOOD + GOOD[GOOD.index("[exports.vip]") :].replace("exports.vip", "exports.lapsed")
    exports = acexport.load_exports(write(tmp_path, text))
    assert list(exports) == ["vip", "lapsed"]
    assert exports["lapsed"].list_id == 3
    assert exports["vip"].connection == "main"
    assert "SavedExport('vip'" in repr(exports["vip"])
