"""The JSON array reader: streamed element by element, alone and through ``acexport export``."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pytest
from clitools import (
    sandbox_export,
)

from acexport._cli import main
from acexport._cli._readers import _json_array
from acexport.testing import FakeActiveCampaign


@pytest.mark.integration
def test_json_array_is_streamed_element_by_element(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_json_array, "CHUNK", 7)  # every element and number straddles chunks
    profiles: list[object] = [
        {"Email": "a@example.com", "Tier": 12345678901234, "nested": {"x": [1, "]"]}},
        {"Email": "b@example.com", "Tier": 'g\u00f6ld \\ "quoted" ,]'},
        42,
        {"Email": "c@example.com", "Tier": -1.5e3},
    ]
    path = tmp_path / "p.json"
    path.write_text(" \n" + json.dumps(profiles, indent=1) + "\n", encoding="utf-8")
    report = tmp_path / "r.json"
    code = main(sandbox_export(path, "--field", "TIER=Tier", "--report", str(report), "-q"))
    assert code == 1
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["received"], data["exported"], data["invalid"]) == (4, 3, 1)
    assert data["errors"][0]["index"] == 2
    assert "element 2 is a number, not a JSON object" in data["errors"][0]["reason"]
    capsys.readouterr()


def test_json_array_reader_reads_lazily() -> None:
    class Source(io.StringIO):
        reads = 0

        def read(self, size: int | None = -1, /) -> str:
            Source.reads += 1
            return super().read(size)

    text = "[" + ",".join(json.dumps({"Email": f"p{i}@example.com"}) for i in range(5000)) + "]"
    source = Source(text)
    elements = iter(_json_array.JsonArray(source, "x.json"))
    assert next(elements) == {"Email": "p0@example.com"}
    assert source.tell() < len(text)  # one chunk read, not the whole file
    assert sum(1 for _ in elements) == 4999


@pytest.mark.integration
def test_broken_json_array_stops_the_export_with_a_partial_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.json"
    path.write_text('[{"Email": "a@example.com"}, {"Email": ', encoding="utf-8")
    assert main(sandbox_export(path, "-q")) == 1
    out, err = capsys.readouterr()
    assert "p.json" in err
    assert "invalid JSON" in err
    assert "of 1 profiles" in out


def test_json_that_is_not_an_array_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"Email": "a@example.com"}\n', encoding="utf-8")
    assert main(sandbox_export(path)) == 2
    assert "--format jsonl" in capsys.readouterr().err


@pytest.mark.integration
def test_an_element_with_undecodable_bytes_is_that_element_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(
        b'[{"Email": "a@example.com"}, {"Email": "b@example.com", "Tier": "g\xf6ld"},'
        b' {"Email": "c@example.com"}]'
    )
    report = tmp_path / "r.json"
    assert main(sandbox_export(path, "--field", "TIER=Tier", "--report", str(report), "-q")) == 1
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["received"], data["exported"], data["invalid"]) == (3, 2, 1)
    assert data["errors"][0]["index"] == 1
    assert data["errors"][0]["reason"].startswith("element 1 is not UTF-8 text")
    capsys.readouterr()


@pytest.mark.integration
def test_json_array_in_latin_1_and_gzipped(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.json.gz"
    with gzip.open(path, "wb") as f:
        f.write('[{"Email": "zoe@example.com", "Name": "Zoë"}]'.encode("latin-1"))
    argv = sandbox_export(path, "--first-name", "Name", "--encoding", "latin-1", "-q")
    assert main(argv) == 0
    contact = sandboxes[0].contact_by_email("zoe@example.com")
    assert contact is not None
    assert contact.first_name == "Zoë"
    capsys.readouterr()


@pytest.mark.integration
def test_stdin_json_array_is_read_and_stdin_left_open(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b'[{"Email": "a@example.com"}, {"Email": "b@example.com"}]'
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(sandbox_export("-", "--format", "json", "-q")) == 0
    assert "exported 2 of 2 profiles" in capsys.readouterr().out
    assert not stdin.closed


@pytest.mark.integration
def test_a_gzip_cut_short_stops_the_export_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = gzip.compress(
        json.dumps([{"Email": f"p{i}@example.com"} for i in range(5000)]).encode()
    )
    path = tmp_path / "p.json.gz"
    path.write_bytes(whole[: len(whole) // 2])
    assert main(sandbox_export(path, "-q")) == 1
    out, err = capsys.readouterr()
    assert "export stopped early" in err
    assert "p.json.gz: cannot read on" in err
    assert "profiles to list 1" in out
