"""The CSV reader, alone and through ``acexport export``."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pytest
from clitools import SAMPLE, counts, sandbox_export

from acexport._cli import main
from acexport._cli._errors import UsageError
from acexport._cli._readers import BadProfile
from acexport._cli._readers._csv import csv_rows
from acexport._cli._readers._lines import Lines
from acexport.testing import FakeActiveCampaign


@pytest.mark.integration
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


def lines_of(data: bytes, encoding: str = "utf-8", label: str = "UTF-8") -> Lines:
    return Lines("p.csv", binary=io.BytesIO(data), encoding=encoding, label=label)


def test_csv_reader_yields_rows_by_header() -> None:
    data = b'\xef\xbb\xbfEmail,Tier\r\na@example.com,gold\r\n\r\n"b@example.com","x,y\nz"\r\n'
    assert list(csv_rows(lines_of(data), ["Email"])) == [
        {"Email": "a@example.com", "Tier": "gold"},
        {"Email": "b@example.com", "Tier": "x,y\nz"},
    ]


def reason(profile: object) -> str:
    assert isinstance(profile, BadProfile), profile
    with pytest.raises(ValueError) as info:
        profile.get("Email")
    return str(info.value)


def test_an_undecodable_row_is_that_row_only() -> None:
    rows = [b"p%d@example.com,gold\n" % i for i in range(20_000)]
    rows[14_999] = b"p14999@example.com,g\xf6ld\n"  # Latin-1 in a UTF-8 file
    profiles = list(csv_rows(lines_of(b"Email,Tier\n" + b"".join(rows)), ["Email"]))
    assert len(profiles) == 20_000
    bad = [i for i, p in enumerate(profiles) if isinstance(p, BadProfile)]
    assert bad == [14_999]
    text = reason(profiles[14_999])
    assert "line 15001 is not UTF-8 text (byte 0xf6" in text
    assert "--encoding" in text
    assert profiles[14_998] == {"Email": "p14998@example.com", "Tier": "gold"}
    assert profiles[15_000] == {"Email": "p15000@example.com", "Tier": "gold"}


def test_lines_ending_in_a_lone_carriage_return() -> None:
    data = b'Email,Note\ra@example.com,"x\r\ny"\rb@example.com,ok\r\nc@example.com,\xff\r'
    profiles = list(csv_rows(lines_of(data), ["Email"]))
    assert profiles[:2] == [
        {"Email": "a@example.com", "Note": "x\r\ny"},
        {"Email": "b@example.com", "Note": "ok"},
    ]
    assert "line 5 is not UTF-8" in reason(profiles[2])


def test_an_undecodable_byte_in_a_quoted_multiline_cell() -> None:
    data = b'Email,Note\na@example.com,"one\ntw\xff"\nb@example.com,ok\n'
    profiles = list(csv_rows(lines_of(data), ["Email"]))
    assert "line 3 is not UTF-8" in reason(profiles[0])
    assert profiles[1] == {"Email": "b@example.com", "Note": "ok"}


def test_latin_1_is_read_with_its_encoding() -> None:
    data = "Email,Name\nzoe@example.com,Zoë\n".encode("latin-1")
    assert list(csv_rows(lines_of(data, "latin-1", "latin-1"), ["Email"])) == [
        {"Email": "zoe@example.com", "Name": "Zoë"}
    ]


def test_ragged_rows_are_invalid_rows() -> None:
    data = (
        b"Email,Tier\na@example.com,gold\nb@example.com\nc@example.com,x,extra\nd@example.com,y\n"
    )
    profiles = list(csv_rows(lines_of(data), ["Email"]))
    assert "line 3 has 1 cells, the header has 2" in reason(profiles[1])
    assert "line 4 has 3 cells, the header has 2" in reason(profiles[2])
    assert profiles[3] == {"Email": "d@example.com", "Tier": "y"}


def test_a_cell_over_csvs_default_limit_is_read() -> None:
    big = "x" * 300_000
    data = f"Email,Note\na@example.com,{big}\nb@example.com,ok\n".encode()
    profiles = list(csv_rows(lines_of(data), ["Email"]))
    assert profiles[0] == {"Email": "a@example.com", "Note": big}
    assert len(profiles) == 2


def test_semicolons_need_the_delimiter_and_the_error_says_so() -> None:
    data = b"Email;Tier\na@example.com;gold\n"
    with pytest.raises(UsageError, match="pass --delimiter ';'"):
        csv_rows(lines_of(data), ["Email"])
    assert list(csv_rows(lines_of(data), ["Email"], ";")) == [
        {"Email": "a@example.com", "Tier": "gold"}
    ]


def test_an_undecodable_header_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="header row cannot be read"):
        csv_rows(lines_of(b"Em\xffail\na@example.com\n"), ["Email"])


# --- through acexport export ----------------------------------------------------------------


@pytest.mark.integration
def test_a_bad_byte_is_reported_at_its_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [b"p%d@example.com,gold\n" % i for i in range(15_100)]
    rows[14_999] = b"p14999@example.com,g\xf6ld\n"
    path = tmp_path / "p.csv"
    path.write_bytes(b"Email,Tier\n" + b"".join(rows))
    report = tmp_path / "r.json"
    code = main(
        sandbox_export(path, "--field", "TIER=Tier", "--dry-run", "--report", str(report), "-q")
    )
    assert code == 1
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["received"], data["exported"], data["invalid"]) == (15_100, 15_099, 1)
    assert data["errors"][0]["index"] == 14_999
    assert "line 15001 is not UTF-8 text" in data["errors"][0]["reason"]
    assert "row 14999" in capsys.readouterr().out


@pytest.mark.integration
def test_encoding_latin_1_exports_the_right_characters(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes("Email,FirstName\nzoe@example.com,Zoë\n".encode("latin-1"))
    argv = sandbox_export(path, "--first-name", "FirstName", "--encoding", "latin-1", "-q")
    assert main(argv) == 0
    contact = sandboxes[0].contact_by_email("zoe@example.com")
    assert contact is not None
    assert contact.first_name == "Zoë"
    capsys.readouterr()


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-16", "only encodings that keep ASCII"), ("klingon", "unknown encoding")],
)
def test_unusable_encodings_exit_2(
    encoding: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(sandbox_export(SAMPLE, "--encoding", encoding)) == 2
    assert expected in capsys.readouterr().err


@pytest.mark.integration
def test_semicolon_csv_and_ragged_rows_through_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "Email;Tier\na@example.com;gold\nb@example.com\nc@example.com;x;y\n", encoding="utf-8"
    )
    report = tmp_path / "r.json"
    assert main(sandbox_export(path, "--delimiter", ";", "--report", str(report), "-q")) == 1
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["received"], data["exported"], data["invalid"]) == (3, 1, 2)
    assert [e["index"] for e in data["errors"]] == [1, 2]
    assert "cells, the header has 2" in data["errors"][0]["reason"]
    capsys.readouterr()


@pytest.mark.integration
def test_gzipped_csv_is_read_by_its_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        f.write("Email,Tier\n" + "".join(f"p{i}@example.com,gold\n" for i in range(300)))
    assert main(sandbox_export(path, "--field", "TIER=Tier", "-q")) == 0
    assert counts(capsys.readouterr().out)[:2] == (300, 300)


def test_a_file_that_is_not_gzip_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv.gz"
    path.write_text("Email\na@example.com\n", encoding="utf-8")
    assert main(sandbox_export(path)) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err
    assert "gzip" in err.lower()


@pytest.mark.integration
def test_a_csv_gzip_cut_short_stops_the_export_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "Email\n" + "".join(f"p{i}@example.com\n" for i in range(50_000))
    whole = gzip.compress(text.encode())
    path = tmp_path / "p.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    assert main(sandbox_export(path, "--dry-run", "-q")) == 1
    out, err = capsys.readouterr()
    assert "export stopped early" in err
    assert "p.csv.gz: cannot read on after line" in err
    assert "profiles to list 1" in out
