"""The JSON Lines reader, alone and through ``acexport export``."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from clitools import (
    counts,
    sandbox_export,
)

from acexport._cli import main


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


def test_stdin_jsonl(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"Email": "a@example.com"}\n'))
    assert main(sandbox_export("-", "--format", "jsonl", "-q")) == 0
    assert counts(capsys.readouterr().out)[:2] == (1, 1)


def test_jsonl_reader_yields_objects_and_marks_bad_lines() -> None:
    from acexport._cli._readers import BadProfile
    from acexport._cli._readers._jsonl import jsonl

    text = io.StringIO(
        '{"Email": "a@example.com"}\n\n"text"\n{broken\n{"Email": "b@example.com"}\n'
    )
    rows = list(jsonl(text, "p.jsonl"))
    assert rows[0] == {"Email": "a@example.com"}
    assert rows[3] == {"Email": "b@example.com"}
    assert isinstance(rows[1], BadProfile)
    assert isinstance(rows[2], BadProfile)
    with pytest.raises(ValueError, match="line 3 is a string, not a JSON object"):
        rows[1].get("Email")
    with pytest.raises(ValueError, match="line 4 is not valid JSON"):
        rows[2]["Email"]
