"""The CSV reader, alone and through ``acexport export``."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest
from clitools import (
    counts,
    sandbox_export,
)

from acexport._cli import main


def test_stdin_csv(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = "\ufeffEmail,Tier\r\na@example.com,gold\r\nb@example.com,silver\r\nnope,gold\r\n"
    stdin = io.TextIOWrapper(io.BytesIO(data.encode("utf-8")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(sandbox_export("-", "--field", "TIER=Tier", "-q")) == 1
    assert counts(capsys.readouterr().out) == (2, 3, 0, 1, 0, 0)
    assert not stdin.closed  # standard input is left open


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.csv", None, "cannot read"),
        ("p.txt", "Email\n", "--format"),
        ("empty.csv", "", "is empty"),
        ("p.csv", "Mail,Tier\nx@example.com,gold\n", "no column 'Email'"),
    ],
)
def test_unreadable_input_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str | None,
    expected: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(sandbox_export(path)) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_csv_reader_yields_rows_by_header() -> None:
    from acexport._cli._readers._csv import csv_rows

    reader = csv.DictReader(io.StringIO('Email,Tier\na@example.com,gold\n"b@example.com","x,y"\n'))
    assert list(csv_rows(reader, "p.csv")) == [
        {"Email": "a@example.com", "Tier": "gold"},
        {"Email": "b@example.com", "Tier": "x,y"},
    ]
