"""The ``acexport`` command line, run in-process through ``main([...])`` against the sandbox
(the built-in fake on loopback) or a fake server of the test's own."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clitools import (
    KEY_ENV,
    README_FIRST,
    REPORT_KEYS,
    SAMPLE,
    SECRET,
    URL_ENV,
    clean_rows,
    counts,
    sandbox_export,
    write_csv,
)

import acexport.testing
from acexport._cli import _connection, main
from acexport.testing import FakeActiveCampaign


class _FullFake(FakeActiveCampaign):
    """The sandbox's account without ``lean``: it keeps names, fields and tags to look at."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "lean": False})


# --- the README's first command, run once ---------------------------------------------------


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    report = tmp_path_factory.mktemp("readme") / "report.json"
    out, err = io.StringIO(), io.StringIO()
    made: list[FakeActiveCampaign] = []
    original = _connection.sandbox_account

    def record() -> FakeActiveCampaign:
        made.append(original())
        return made[-1]

    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        mp.delenv(URL_ENV, raising=False)
        mp.delenv(KEY_ENV, raising=False)
        mp.setattr(_connection, "sandbox_account", record)
        mp.setattr(acexport.testing, "FakeActiveCampaign", _FullFake)
        code = main([*README_FIRST, "--report", str(report)])
    return {
        "code": code,
        "out": out.getvalue(),
        "err": err.getvalue(),
        "report": json.loads(report.read_text(encoding="utf-8")),
        "fake": made[0],
    }


@pytest.mark.integration
def test_readme_first_command_reports_exported_duplicates_and_invalid(
    readme_run: dict[str, Any],
) -> None:
    assert readme_run["code"] == 1  # the sample has invalid rows on purpose
    exported, received, duplicates, invalid, rejected, failed = counts(readme_run["out"])
    assert exported > 0
    assert duplicates > 0
    assert invalid > 0
    assert received == 40 == exported + duplicates + invalid + rejected + failed
    assert "rows not exported" in readme_run["out"]
    assert re.search(r"  row \d+ <conor\.o'brien@example\.com>: invalid: ", readme_run["out"])
    assert "(no email): invalid: no email" in readme_run["out"]
    assert "sandbox:" in readme_run["err"]
    assert "progress:" in readme_run["err"]


@pytest.mark.integration
def test_readme_first_command_puts_contacts_on_the_list(readme_run: dict[str, Any]) -> None:
    fake: FakeActiveCampaign = readme_run["fake"]
    ada = fake.contact_by_email("ada.lovelace@example.com")
    assert ada is not None
    assert ada.lists == {1: 1}
    assert ada.tags == frozenset({"sample"})
    assert ada.fields == {1: "platinum", 2: "1985-12-10"}
    assert (ada.first_name, ada.last_name, ada.phone) == ("Ada", "Lovelace", "+15550100001")
    assert len(fake.contacts) == readme_run["report"]["exported"]


@pytest.mark.integration
def test_the_sandbox_is_lean_and_still_puts_every_contact_on_the_list(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "many.csv", clean_rows(30))  # 30: the bulk-import path
    assert main(sandbox_export(path, "--field", "TIER=Tier", "--tag", "t", "-q")) == 0
    assert counts(capsys.readouterr().out)[:2] == (30, 30)
    contacts = sandboxes[0].contacts
    assert sorted(c.email for c in contacts) == sorted(r["Email"] for r in clean_rows(30))
    assert all(c.lists == {1: 1} for c in contacts)
    # lean: what the export does not need answered is not kept
    assert all(c.fields == {} and c.tags == frozenset() for c in contacts)


@pytest.mark.integration
def test_report_json_has_the_report_names_and_adds_up(readme_run: dict[str, Any]) -> None:
    data = readme_run["report"]
    assert set(data) == REPORT_KEYS
    assert data["received"] == sum(
        data[k] for k in ("exported", "unchanged", "duplicates", "invalid", "rejected", "failed")
    )
    assert len(data["errors"]) == data["invalid"] + data["rejected"] + data["failed"]
    assert sum(data["reasons"].values()) == len(data["errors"])
    assert (data["errors_omitted"], data["errors_truncated"]) == (0, False)
    assert all(set(e) == {"index", "email", "kind", "reason"} for e in data["errors"])
    assert data["list_id"] == 1
    assert data["dry_run"] is False
    assert data["cancelled"] is False
    assert [e["index"] for e in data["errors"]] == sorted(e["index"] for e in data["errors"])


# --- inputs ---------------------------------------------------------------------------------


@pytest.mark.integration
def test_clean_csv_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "clean.csv", clean_rows(5))
    assert main(sandbox_export(path, "--field", "TIER=Tier", "--quiet")) == 0
    out, err = capsys.readouterr()
    assert counts(out) == (5, 5, 0, 0, 0, 0)
    assert err == ""  # --quiet: no progress, no notes


@pytest.mark.integration
def test_duplicates_alone_still_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [*clean_rows(3), {"Email": "PERSON0@EXAMPLE.COM", "FirstName": "x", "Tier": ""}]
    assert main(sandbox_export(write_csv(tmp_path / "d.csv", rows), "-q")) == 0
    assert counts(capsys.readouterr().out)[:3] == (3, 4, 1)


@pytest.mark.integration
def test_dry_run_sends_nothing(
    sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*README_FIRST, "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("dry run: would export 32 of 40 profiles to list 1")
    assert sandboxes[0].contacts == []
    assert sandboxes[0].batches == {}


# --- errors and exit codes ------------------------------------------------------------------


@pytest.mark.integration
def test_unknown_list_in_sandbox_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(SAMPLE), "--sandbox", "--list-id", "7", "--email", "Email"]) == 2
    err = capsys.readouterr().err
    assert "list 7 does not exist" in err
    assert "acexport lists --sandbox" in err
    assert "Traceback" not in err


def test_missing_credentials_name_both_variables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(SAMPLE), "--list-id", "1", "--email", "Email"]) == 2
    err = capsys.readouterr().err
    assert URL_ENV in err
    assert KEY_ENV in err
    assert "--sandbox" in err


@pytest.mark.parametrize("command", ["lists", "fields", "check"])
def test_missing_credentials_for_every_command(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(URL_ENV, "https://acct.api-us1.com")
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert KEY_ENV in err
    assert URL_ENV in err


@pytest.mark.integration
def test_unknown_custom_field_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(sandbox_export(SAMPLE, "--field", "LOYALTY=Tier")) == 2
    err = capsys.readouterr().err
    assert "'LOYALTY'" in err
    assert "TIER" in err


def test_report_in_a_missing_folder_exits_2_before_exporting(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(sandbox_export(SAMPLE, "--report", str(tmp_path / "nope" / "r.json")))
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    assert sandboxes == []


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(sandbox_export(SAMPLE, "--field", "TIER")) == 2
    assert "ID_OR_PERSTAG=COLUMN" in capsys.readouterr().err
    assert main(["export", str(SAMPLE), "--sandbox", "--email", "Email"]) == 2
    assert "--list-id" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert "export" in capsys.readouterr().out


@pytest.mark.integration
def test_api_key_option_warns_and_is_never_shown(
    refusing_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--api-url", refusing_server, "--api-key", SECRET])
    assert code == 2
    out, err = capsys.readouterr()
    assert "warning: --api-key" in err
    assert "shell history" in err
    assert "refused the API key" in err
    assert SECRET not in out + err


@pytest.mark.integration
def test_refused_env_key_exits_2_and_is_never_shown(
    refusing_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(URL_ENV, refusing_server)
    monkeypatch.setenv(KEY_ENV, SECRET)
    report = tmp_path / "r.json"
    for argv in (
        ["export", str(SAMPLE), "--list-id", "1", "--email", "Email", "--report", str(report)],
        ["lists"],
        ["fields"],
        ["check"],
    ):
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert "refused the API key" in err
        assert KEY_ENV in err
        assert SECRET not in out + err
    assert not report.exists()


def test_api_key_is_redacted_from_argument_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--api-key", SECRET, "lists"]) == 2
    assert main(["lists", f"--api-key={SECRET}", "--bogus", SECRET]) == 2
    assert main(["export", "--api-key", SECRET]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "go after the command" in err


def test_help_shows_no_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    for argv in (["--help"], ["export", "--help"], ["check", "--help"]):
        assert main(argv) == 0
    assert SECRET not in capsys.readouterr().out


# --- lists, fields, check -------------------------------------------------------------------


@pytest.mark.integration
def test_lists_in_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lists", "--sandbox"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NAME"]
    assert lines[1].split(maxsplit=1) == ["1", "Sandbox list"]


@pytest.mark.integration
def test_fields_in_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "--sandbox"]) == 0
    rows = [line.split(maxsplit=3) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["ID", "PERSTAG", "TYPE", "TITLE"]
    assert ["2", "BIRTHDAY", "date", "Birthday"] in rows
    assert {row[1] for row in rows[1:]} == {"TIER", "BIRTHDAY", "COMPANY"}


@pytest.mark.integration
def test_fields_shows_the_options_of_fields_that_have_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _connection.sandbox_account

    def with_options() -> FakeActiveCampaign:
        fake = original()
        fake.add_field("Color", type="dropdown", options=["Red", "Dark, blue"], id=40)
        fake.add_field("Size", type="radio", options=[f"s{i}" for i in range(12)], id=41)
        return fake

    monkeypatch.setattr(_connection, "sandbox_account", with_options)
    assert main(["fields", "--sandbox"]) == 0
    out = capsys.readouterr().out
    fields, options = out.split("\n\n")
    assert ["40", "COLOR", "dropdown", "Color"] in [
        r.split(maxsplit=3) for r in fields.splitlines()
    ]
    assert options.splitlines() == [
        "ID  OPTIONS",
        "40  'Red', 'Dark, blue'",
        "41  " + ", ".join(f"'s{i}'" for i in range(10)) + " and 2 more",
    ]


@pytest.mark.integration
def test_an_unreachable_url_names_the_option_it_came_from(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ACTIVECAMPAIGN_API_KEY", "a-key-of-some-length-0123456789")
    assert main(["check", "--api-url", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == (
        f"acexport: error: could not reach ActiveCampaign at http://127.0.0.1:{port}/api/3/users/me: "
        f"connection refused by 127.0.0.1:{port}: nothing accepts connections there; check the "
        "API URL's host and port (ConnectError: [Errno 111] Connection refused); check --api-url "
        "and the network"
    )
    monkeypatch.setenv("ACTIVECAMPAIGN_API_URL", f"http://127.0.0.1:{port}")
    assert main(["check"]) == 2
    assert capsys.readouterr().err.rstrip().endswith("check ACTIVECAMPAIGN_API_URL and the network")


@pytest.mark.integration
def test_check_in_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"OK: http://127\.0\.0\.1:\d+/api/3 as admin@example\.com "
        r"\(\d+ requests/s, \d+ bulk imports/min\)\n",
        out,
    )


@pytest.mark.integration
def test_check_against_a_real_style_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeActiveCampaign(api_key=SECRET).serve() as server:
        monkeypatch.setenv(URL_ENV, server.url)
        monkeypatch.setenv(KEY_ENV, SECRET)
        assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"OK: {server.url}/api/3 as admin@example.com (5 requests/s, 100 bulk imports/min)\n"
    )


# --- python -m acexport ---------------------------------------------------------------------


def test_python_m_acexport_help() -> None:
    env = {k: v for k, v in os.environ.items() if k not in (URL_ENV, KEY_ENV)}
    result = subprocess.run(
        [sys.executable, "-m", "acexport", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: acexport")
