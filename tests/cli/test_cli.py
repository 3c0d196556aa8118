"""The ``acexport`` command line, run in-process through ``main([...])`` against the sandbox
(the built-in fake on loopback) or a fake server of the test's own."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acexport import ExportProgress, _cli
from acexport._cli import main
from acexport.testing import FakeActiveCampaign

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_segment.csv"
README_FIRST = [
    "export", str(SAMPLE), "--sandbox", "--list-id", "1", "--email", "Email",
    "--first-name", "FirstName", "--last-name", "LastName", "--phone", "Phone",
    "--field", "TIER=Tier", "--field", "BIRTHDAY=Birthday", "--tag", "sample",
]  # fmt: skip
SECRET = "SECRETKEY123"
REPORT_KEYS = {
    "list_id", "received", "exported", "duplicates", "invalid", "rejected", "failed",
    "requests", "elapsed", "dry_run", "cancelled", "errors",
}  # fmt: skip
URL_ENV, KEY_ENV = "ACTIVECAMPAIGN_API_URL", "ACTIVECAMPAIGN_API_KEY"
SUMMARY = re.compile(
    r"exported (\d+) of (\d+) profiles to list 1: (\d+) duplicates, (\d+) invalid, "
    r"(\d+) rejected, (\d+) failed"
)


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture(autouse=True)
def _no_server_left_running() -> Iterator[None]:
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("acexport-fake-ac-")]
    assert left == [], "a fake server is still running"


@pytest.fixture
def sandboxes(monkeypatch: pytest.MonkeyPatch) -> list[FakeActiveCampaign]:
    """The sandbox accounts the commands create, to look into after the run."""
    made: list[FakeActiveCampaign] = []
    original = _cli._sandbox_account

    def record() -> FakeActiveCampaign:
        made.append(original())
        return made[-1]

    monkeypatch.setattr(_cli, "_sandbox_account", record)
    return made


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """A fake whose key is not ours: every request is refused with 403."""
    with FakeActiveCampaign(api_key="other").serve() as server:
        yield server.url


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def clean_rows(n: int) -> list[dict[str, str]]:
    return [
        {"Email": f"person{i}@example.com", "FirstName": f"P{i}", "Tier": "gold"} for i in range(n)
    ]


def sandbox_export(path: Path | str, *extra: str) -> list[str]:
    return ["export", str(path), "--sandbox", "--list-id", "1", "--email", "Email", *extra]


def counts(stdout: str) -> tuple[int, ...]:
    match = SUMMARY.search(stdout)
    assert match, stdout
    return tuple(int(g) for g in match.groups())


# --- the README's first command, run once ---------------------------------------------------


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    report = tmp_path_factory.mktemp("readme") / "report.json"
    out, err = io.StringIO(), io.StringIO()
    made: list[FakeActiveCampaign] = []
    original = _cli._sandbox_account

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
        mp.setattr(_cli, "_sandbox_account", record)
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
def test_report_json_has_the_report_names_and_adds_up(readme_run: dict[str, Any]) -> None:
    data = readme_run["report"]
    assert set(data) == REPORT_KEYS
    assert data["received"] == sum(
        data[k] for k in ("exported", "duplicates", "invalid", "rejected", "failed")
    )
    assert len(data["errors"]) == data["invalid"] + data["rejected"] + data["failed"]
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
def test_json_array_is_streamed_element_by_element(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_cli, "_CHUNK", 7)  # every element and number straddles chunks
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
    elements = iter(_cli._JsonArray(source, "x.json"))
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
def test_stdin_csv(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = "\ufeffEmail,Tier\r\na@example.com,gold\r\nb@example.com,silver\r\nnope,gold\r\n"
    stdin = io.TextIOWrapper(io.BytesIO(data.encode("utf-8")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(sandbox_export("-", "--field", "TIER=Tier", "-q")) == 1
    assert counts(capsys.readouterr().out) == (2, 3, 0, 1, 0, 0)
    assert not stdin.closed  # standard input is left open


@pytest.mark.integration
def test_stdin_jsonl(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"Email": "a@example.com"}\n'))
    assert main(sandbox_export("-", "--format", "jsonl", "-q")) == 0
    assert counts(capsys.readouterr().out)[:2] == (1, 1)


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


# --- progress and Ctrl-C --------------------------------------------------------------------


def test_progress_lines_are_rate_limited() -> None:
    stream = io.StringIO()
    now = [0.0]
    progress = _cli._Progress(
        stream, enabled=True, dry_run=False, fraction=lambda: None, clock=lambda: now[0]
    )
    tick = ExportProgress(
        received=10, exported=5, duplicates=1, invalid=1, rejected=0, failed=0,
        in_flight=3, requests=2, elapsed=0.5,
    )  # fmt: skip
    for t in (0.0, 0.3, 0.9, 1.0, 1.5, 2.2):
        now[0] = t
        progress(tick)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # at 0.0, 1.0 and 2.2
    assert lines[0] == (
        "progress: 10 read, 5 exported, 1 duplicates, 1 invalid, 0 rejected, 0 failed, "
        "3 in flight, 0.5s"
    )


def test_progress_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = _cli._Progress(stream, enabled=True, dry_run=False, fraction=lambda: 0.5)
    tick = ExportProgress(
        received=10, exported=5, duplicates=0, invalid=1, rejected=0, failed=0,
        in_flight=0, requests=2, elapsed=0.5,
    )  # fmt: skip
    progress(tick)
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\r 50% [#####-----] 10 read, 5 exported, 1 invalid, 0s")
    assert text.endswith("\n")
    assert text.count("\n") == 1


class _InterruptingInput(io.StringIO):
    """Standard input that delivers a real SIGINT when given lines are read."""

    def __init__(self, text: str, at: set[int]) -> None:
        super().__init__(text)
        self.at = at
        self.lines = 0

    def __next__(self) -> str:  # type: ignore[override]
        self.lines += 1
        if self.lines in self.at:
            signal.raise_signal(signal.SIGINT)
        return super().__next__()


def _many_rows(n: int) -> str:
    return "Email\n" + "".join(f"p{i}@example.com\n" for i in range(n))


@pytest.mark.integration
def test_first_ctrl_c_cancels_and_prints_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _InterruptingInput(_many_rows(2000), {100}))
    report = tmp_path / "r.json"
    before = signal.getsignal(signal.SIGINT)
    assert main(sandbox_export("-", "--report", str(report), "-q")) == 130
    assert signal.getsignal(signal.SIGINT) is before
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["cancelled"] is True
    assert 0 < data["received"] < 2000
    assert data["received"] == data["exported"] + data["failed"]
    assert "cancelled" in capsys.readouterr().out


@pytest.mark.integration
def test_second_ctrl_c_aborts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _InterruptingInput(_many_rows(2000), {100, 101}))
    before = signal.getsignal(signal.SIGINT)
    assert main(sandbox_export("-", "-q")) == 130
    assert signal.getsignal(signal.SIGINT) is before
    assert "aborted" in capsys.readouterr().err


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
    assert "export" in result.stdout
    assert "--sandbox" in result.stdout
