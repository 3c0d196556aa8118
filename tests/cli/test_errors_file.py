"""``--errors FILE``: every row not exported, with its cells, row number, kind and reason,
written as the export goes and put in place at the end; fixed, it exports as it is."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from clitools import counts, sandbox_export, write_csv

from acexport._cli import _connection, main
from acexport._report import MAX_ERRORS
from acexport.testing import FakeActiveCampaign

HEAD = ["acexport_row", "acexport_kind", "acexport_reason"]


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".acexport-")]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def bad_rows(n: int, every: int = 3) -> list[dict[str, str]]:
    """``n`` rows; every ``every``-th has an email without its @ (``user3.example.com``)."""
    return [
        {
            "Email": f"user{i}.example.com" if i % every == 0 else f"user{i}@example.com",
            "FirstName": f"U{i}",
            "Tier": ("gold", "silver")[i % 2],
            "Note": f"unmapped {i}",
        }
        for i in range(n)
    ]


def fixed(email: str) -> str:
    return email.replace(".example.com", "@example.com", 1)


@pytest.fixture
def rejecting(monkeypatch: pytest.MonkeyPatch) -> list[FakeActiveCampaign]:
    """Sandbox accounts that refuse addresses starting with "refuse" (bulk import's 400)."""
    made: list[FakeActiveCampaign] = []
    original = _connection.sandbox_account

    def account() -> FakeActiveCampaign:
        fake = original()
        fake.reject_emails(lambda email: email.startswith("refuse"))
        made.append(fake)
        return fake

    monkeypatch.setattr(_connection, "sandbox_account", account)
    return made


@pytest.mark.integration  # the sandbox serves on loopback
def test_errors_csv_round_trips(
    tmp_path: Path, rejecting: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = bad_rows(600)
    for i in (7, 8, 400):  # valid-looking, refused by the account: rejected after sending
        rows[i]["Email"] = f"refuse{i}@example.com"
    path = write_csv(tmp_path / "segment.csv", rows)
    errors = tmp_path / "errors.csv"
    mapping = ["--first-name", "FirstName", "--field", "TIER=Tier"]
    assert main(sandbox_export(path, *mapping, "--errors", str(errors))) == 1
    out, err = capsys.readouterr()
    _, received, _, invalid, rejected, failed = counts(out)
    assert (received, invalid, rejected, failed) == (600, 200, 3, 0)
    assert "email has no @: 200" in out
    assert f"203 rows not exported written to {errors}" in err
    assert leftovers(tmp_path) == []

    written = read_csv(errors)
    with errors.open(newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == [*HEAD, "Email", "FirstName", "Tier", "Note"]
    assert len(written) == 203
    by_row = {int(r["acexport_row"]): r for r in written}
    assert len(by_row) == 203
    for number, r in by_row.items():
        original = rows[number - 2]  # line 1 is the header
        assert {k: r[k] for k in original} == original  # every cell, unmapped ones too
        if original["Email"].startswith("refuse"):
            assert r["acexport_kind"] == "rejected"
            assert "ActiveCampaign refused it" in r["acexport_reason"]
        else:
            assert (r["acexport_kind"], r["acexport_reason"]) == ("invalid", "email has no @")

    # Fix the emails in the file (a person would, in a spreadsheet) and export it as it is.
    for r in written:
        r["Email"] = fixed(r["Email"]).replace("refuse", "accepted")
    write_csv(errors, written)
    again = tmp_path / "errors-again.csv"
    assert main(sandbox_export(errors, *mapping, "--errors", str(again), "-q")) == 0
    out, _ = capsys.readouterr()
    assert counts(out)[:2] == (203, 203)
    fake = rejecting[-1]
    for r in written:
        contact = fake.contact_by_email(r["Email"])
        assert contact is not None  # the sandbox is lean: it keeps no names
        assert contact.lists == {1: 1}
    assert read_csv(again) == []  # only the header: nothing left to fix


@pytest.mark.integration  # the sandbox serves on loopback
def test_errors_jsonl_keeps_each_object_and_its_line(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    rows: list[Any] = [
        {"Email": "a@example.com", "Tier": 1, "Tags": ["x", "y"]},
        {"Email": "b.example.com", "Tier": 2, "Tags": []},
        "not an object",
    ]
    path = tmp_path / "segment.jsonl"
    path.write_text(
        "\n".join([json.dumps(rows[0]), json.dumps(rows[1]), "", json.dumps(rows[2]), "{oops"])
        + "\n",
        encoding="utf-8",
    )
    errors = tmp_path / "errors.jsonl"
    assert main(sandbox_export(path, "--errors", str(errors), "-q")) == 1
    capsys.readouterr()
    lines = [json.loads(x) for x in errors.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {**dict(zip(HEAD, (2, "invalid", "email has no @"), strict=True)), **rows[1]},
        {
            **dict(zip(HEAD, (4, "invalid", "line 4 is a string, not a JSON object"), strict=True)),
            "acexport_text": '"not an object"',
        },
        {
            **dict(zip(HEAD, (5, "invalid", "line 5 is not valid JSON"), strict=True)),
            "acexport_text": "{oops",
        },
    ]


@pytest.mark.integration  # the sandbox serves on loopback
def test_errors_file_from_a_json_array_as_csv_has_the_mapped_columns(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "segment.json.gz"
    data = [{"Email": "a@example.com"}, {"Email": "nope", "Other": 1}]
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    errors = tmp_path / "errors.csv"
    assert main(sandbox_export(path, "--errors", str(errors), "-q")) == 1
    capsys.readouterr()
    assert read_csv(errors) == [
        {
            "acexport_row": "1",  # a JSON array's elements count from 0
            "acexport_kind": "invalid",
            "acexport_reason": "email has no @",
            "Email": "nope",
        }
    ]


@pytest.mark.integration  # the sandbox serves on loopback
def test_the_report_stays_bounded_and_the_errors_file_has_every_row(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    n = MAX_ERRORS + 2_000
    path = write_csv(tmp_path / "segment.csv", bad_rows(n, every=1))  # every row invalid
    report, errors = tmp_path / "report.json", tmp_path / "errors.csv"
    code = main(sandbox_export(path, "--report", str(report), "--errors", str(errors), "-q"))
    assert code == 1
    out, _ = capsys.readouterr()
    assert f"email has no @: {n}" in out
    assert f"... and {n - 10} more, every one of them in {errors}" in out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["invalid"] == n
    assert len(data["errors"]) == MAX_ERRORS
    assert data["errors_omitted"] == 2_000
    assert data["errors_truncated"] is True
    assert data["reasons"] == {"email has no @": n}
    assert [e["index"] for e in data["errors"]] == list(range(MAX_ERRORS))
    assert "profile" not in data["errors"][0]
    written = read_csv(errors)
    assert [int(r["acexport_row"]) for r in written] == list(range(2, n + 2))
    assert leftovers(tmp_path) == []


@pytest.mark.integration  # the sandbox serves on loopback
def test_without_errors_file_the_cli_says_how_to_get_every_row(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "segment.csv", bad_rows(MAX_ERRORS + 5, every=1))
    assert main(sandbox_export(path, "-q")) == 1
    out, _ = capsys.readouterr()
    assert "--errors FILE.csv writes every row not exported" in out


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("errors.txt", "name it .csv or .jsonl"),
        ("segment.csv", "is the input file"),
        ("report.json", "is also the --report file"),
        ("missing/errors.csv", "does not exist"),
        ("folder.csv", "is a directory"),
    ],
)
def test_errors_file_refused_before_sending(
    tmp_path: Path,
    sandboxes: list[FakeActiveCampaign],
    capsys: pytest.CaptureFixture[str],
    name: str,
    message: str,
) -> None:
    path = write_csv(tmp_path / "segment.csv", bad_rows(5))
    (tmp_path / "folder.csv").mkdir()
    before = path.read_bytes()
    argv = sandbox_export(path, "--errors", str(tmp_path / name))
    assert main([*argv, "--report", str(tmp_path / "report.json")]) == 2
    assert message in capsys.readouterr().err
    assert sandboxes == []  # nothing was sent
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.integration  # the sandbox serves on loopback
def test_an_errors_file_that_cannot_be_written_stops_the_export(
    tmp_path: Path,
    sandboxes: list[FakeActiveCampaign],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from acexport._cli import _error_rows

    calls: list[int] = []

    def full_disk(row: Any) -> str:
        calls.append(1)
        if len(calls) > 3:
            raise OSError(28, "No space left on device")
        return str(row)

    monkeypatch.setattr(_error_rows, "_cell", full_disk)
    path = write_csv(tmp_path / "segment.csv", bad_rows(3_000, every=1))
    report = tmp_path / "report.json"
    argv = sandbox_export(path, "--errors", str(tmp_path / "e.csv"), "--report", str(report), "-q")
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "export stopped early: could not write --errors" in err
    assert "No space left on device" in err
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["received"] < 3_000  # reading stopped
    assert data["received"] == data["invalid"]
    assert counts(out)[1] == data["received"]
