"""``--report``: refused before anything is sent when it cannot be written or would overwrite
the input; written through a temporary file beside it, renamed at the end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clitools import SAMPLE, counts, sandbox_export, write_csv

from acexport._cli import main
from acexport._cli._errors import UsageError
from acexport._cli._reports import ReportFile
from acexport._report import ExportReport
from acexport.testing import FakeActiveCampaign


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".acexport-report-")]


def test_report_naming_the_input_is_refused_before_sending(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "p.csv", [{"Email": "a@example.com"}])
    before = path.read_bytes()
    for same in (str(path), str(tmp_path / "." / "p.csv")):
        assert main(sandbox_export(path, "--report", same)) == 2
        assert "is the input file" in capsys.readouterr().err
    (tmp_path / "link.csv").symlink_to(path)
    assert main(sandbox_export(tmp_path / "link.csv", "--report", str(path))) == 2
    assert path.read_bytes() == before
    assert sandboxes == []
    assert leftovers(tmp_path) == []


def test_a_folder_that_refuses_files_is_found_before_sending(
    sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    # os.access says yes to root on /proc; creating a file there fails for everyone.
    assert main(sandbox_export(SAMPLE, "--report", "/proc/acexport-report.json")) == 2
    err = capsys.readouterr().err
    assert "--report /proc/acexport-report.json: cannot create a file in /proc" in err
    assert sandboxes == []


def test_a_special_file_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(sandbox_export(SAMPLE, "--report", os.devnull)) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert Path(os.devnull).exists()


def test_the_report_replaces_the_file_in_one_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    report.write_text("old", encoding="utf-8")
    path = write_csv(tmp_path / "p.csv", [{"Email": "a@example.com"}])
    assert main(sandbox_export(path, "--report", str(report), "-q")) == 0
    assert json.loads(report.read_text(encoding="utf-8"))["exported"] == 1
    assert leftovers(tmp_path) == []
    capsys.readouterr()


def test_a_later_usage_error_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    argv = ["export", str(SAMPLE), "--sandbox", "--list-id", "7", "--email", "Email"]
    assert main([*argv, "--report", str(report)]) == 2
    assert "list 7 does not exist" in capsys.readouterr().err
    assert not report.exists()
    assert leftovers(tmp_path) == []


def test_a_report_that_cannot_be_written_at_the_end_exits_1_not_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full_disk(self: ReportFile, report: ExportReport) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ReportFile, "commit", full_disk)
    path = write_csv(tmp_path / "p.csv", [{"Email": "a@example.com"}])
    assert main(sandbox_export(path, "--report", str(tmp_path / "r.json"), "-q")) == 1
    out, err = capsys.readouterr()
    assert counts(out)[:2] == (1, 1)  # the export ran and said so
    assert "could not write --report" in err


def test_report_file_unit(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        ReportFile(str(tmp_path), None)
    with pytest.raises(UsageError, match="does not exist"):
        ReportFile(str(tmp_path / "nope" / "r.json"), None)
    reserved = ReportFile(str(tmp_path / "r.json"), None)
    assert len(leftovers(tmp_path)) == 1  # created before the export
    reserved.commit(ExportReport(list_id=1))
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["list_id"] == 1
    reserved.discard()  # after commit: nothing to do
    assert leftovers(tmp_path) == []
    assert (tmp_path / "r.json").exists()
