"""Nothing the command prints carries a control character but ``\\n``: values from the input
cannot move the cursor, erase a line or forge a summary."""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import pytest
from clitools import counts, sandbox_export, write_csv

from acexport._cli import main
from acexport._cli._output import Output, printable
from acexport.testing import FakeActiveCampaign

FORGED = "x\rexported 12 of 12 profiles to list 1: 0 duplicates\x1b[K"


def controls(text: str) -> list[str]:
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Zl", "Zp")]


def test_printable_escapes_controls_and_keeps_newlines() -> None:
    assert printable("a\rb\x1b[K\tc\n\x00\x7f\x9b\u2028\u202e") == (
        "a\\rb\\x1b[K\\tc\n\\x00\\x7f\\x9b\\u2028\\u202e"
    )
    assert printable("Zoë <zoe@example.com>") == "Zoë <zoe@example.com>"


def test_output_escapes_writes_but_not_its_own_controls() -> None:
    stream = io.StringIO()
    out = Output(stream)
    out.write("a\rb")
    out.control("\r")
    assert stream.getvalue() == "a\\rb\r"


@pytest.mark.integration
def test_a_forged_summary_in_an_email_is_printed_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"Email": "a@example.com", "Tier": "gold"},
        {"Email": FORGED, "Tier": "x\x1b]0;title\x07"},
    ]
    path = write_csv(tmp_path / "p.csv", rows)
    report = tmp_path / "r.json"
    assert main(sandbox_export(path, "--field", "TIER=Tier", "--report", str(report))) == 1
    out, err = capsys.readouterr()
    assert controls(out) == []
    assert controls(err) == []
    assert counts(out)[:2] == (1, 2)
    assert "<x\\rexported 12 of 12 profiles to list 1: 0 duplicates\\x1b[K>" in out
    # The JSON report keeps the value as it was (JSON escapes it).
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["errors"][0]["email"] == FORGED


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "p\x1b[2J.csv", "--sandbox", "--list-id", "1", "--email", "Email"],
        ["export", "{csv}", "--sandbox", "--list-id", "1", "--email", "E\rmail"],
        ["export", "{csv}", "--sandbox", "--list-id", "1", "--email", "Email", "--format", "\x1b"],
        ["lists", "--sandbox", "--bogus\r\x1b[K"],
    ],
)
def test_error_messages_escape_what_the_user_gave(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "p.csv", [{"Email": "a@example.com"}])
    assert main([arg.replace("{csv}", str(path)) for arg in argv]) == 2
    out, err = capsys.readouterr()
    assert "error" in err
    assert controls(out + err) == []
    assert "\\x1b" in err or "\\r" in err


@pytest.mark.integration
def test_account_names_are_printed_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lists`` and ``fields`` print what the account holds: escaped too."""
    from acexport._cli import _connection

    original = _connection.sandbox_account

    def hostile() -> FakeActiveCampaign:
        fake = original()
        fake.add_list("News\x1b[2J\rletter", id=2)
        fake.add_field("Evil\x07", perstag="EVIL")
        return fake

    monkeypatch.setattr(_connection, "sandbox_account", hostile)
    assert main(["lists", "--sandbox"]) == 0
    assert main(["fields", "--sandbox"]) == 0
    out, err = capsys.readouterr()
    assert controls(out + err) == []
    assert "News\\x1b[2J\\rletter" in out
    assert "Evil\\x07" in out
