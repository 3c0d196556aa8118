"""The JSON Lines reader, alone and through ``acexport export``."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from clitools import counts, sandbox_export, write_csv

from acexport._cli import main
from acexport._cli._errors import UsageError
from acexport._cli._readers import BadProfile
from acexport._cli._readers._jsonl import jsonl
from acexport._cli._readers._lines import Lines
from acexport.testing import FakeActiveCampaign


@pytest.mark.integration
def test_jsonl_bad_line_is_a_row_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"Email": "a@example.com", "Tier": "gold"}\n'
        "\n"
        '{"Email": "b@example.com", "Tier": 3}\n'
        '{"Email": "c@example.com", oops\n'
        "[1, 2]\n"
        '{"Email": "d@example.com", "Tier": null}\n',
        encoding="utf-8",
    )
    report = tmp_path / "r.json"
    code = main(sandbox_export(path, "--field", "TIER=Tier", "--report", str(report), "-q"))
    assert code == 1
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["received"], data["exported"], data["invalid"]) == (5, 3, 2)
    reasons = [e["reason"] for e in data["errors"]]
    assert "line 4 is not valid JSON" in reasons[0]
    assert "line 5 is an array, not a JSON object" in reasons[1]
    assert "line 4 is not valid JSON" in capsys.readouterr().out


@pytest.mark.integration
def test_stdin_jsonl(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"Email": "a@example.com"}\n'))
    assert main(sandbox_export("-", "--format", "jsonl", "-q")) == 0
    assert counts(capsys.readouterr().out)[:2] == (1, 1)


def lines_of(data: bytes) -> Lines:
    return Lines("p.jsonl", binary=io.BytesIO(data))


def reason(profile: object) -> str:
    assert isinstance(profile, BadProfile), profile
    with pytest.raises(ValueError) as info:
        profile.get("Email")
    return str(info.value)


def test_jsonl_reader_yields_objects_and_marks_bad_lines() -> None:
    data = b'{"Email": "a@example.com"}\n\n"text"\n{broken\n{"Email": "b@\xffexample.com"}\n{"Email": "c@example.com"}\n'
    rows = list(jsonl(lines_of(data), ["Email"]))
    assert rows[0] == {"Email": "a@example.com"}
    assert rows[4] == {"Email": "c@example.com"}
    assert "line 3 is a string, not a JSON object" in reason(rows[1])
    assert "line 4 is not valid JSON" in reason(rows[2])
    assert "line 5 is not UTF-8 text (byte 0xff" in reason(rows[3])


def test_jsonl_reader_reads_text_streams() -> None:
    text = io.StringIO('\n{"Email": "a@example.com"}\n')
    assert list(jsonl(Lines("stdin", text=text), ["Email"])) == [{"Email": "a@example.com"}]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Email,Tier\na@example.com,gold\n", "line 1 is not a JSON object (it looks like CSV"),
        (b'[{"Email": "a@example.com"}]\n', "pass --format json"),
        (
            b'\n{"Mail": "a@example.com", "Tier": 1}\n',
            "(line 2) has no key 'Email'; its keys are 'Mail', 'Tier'",
        ),
        (b"\n\n", "is empty"),
        (b'{"Email": "\xff"}\n', "not UTF-8"),
    ],
)
def test_a_file_that_is_not_json_lines_is_a_usage_error(data: bytes, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        jsonl(lines_of(data), ["Email"])
    assert expected in str(info.value)


def test_format_jsonl_on_a_csv_exits_2_before_sending(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "p.csv", [{"Email": f"p{i}@example.com"} for i in range(41)])
    assert main(sandbox_export(path, "--format", "jsonl")) == 2
    err = capsys.readouterr().err
    assert "--format csv" in err
    assert sandboxes == []  # refused before connecting


def test_a_mapped_key_missing_from_the_first_object_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"Email": "a@example.com", "Tier": "gold"}\n', encoding="utf-8")
    assert main(sandbox_export(path, "--field", "TIER=Teir")) == 2
    assert "has no key 'Teir'; its keys are 'Email', 'Tier'" in capsys.readouterr().err
