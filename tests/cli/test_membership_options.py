"""``--state``, ``--on-leave``, ``--max-leave`` and ``--key`` reach the exporter; bad uses exit 2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from clitools import KEY_ENV, URL_ENV, clean_rows, sandbox_export, write_csv

from acexport._cli import main
from acexport.testing import FakeActiveCampaign


@pytest.mark.integration  # the account is served on loopback
def test_state_and_key_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A served fake rather than --sandbox: a sandbox run never writes the state it is given.
    fake = FakeActiveCampaign(api_key="membership-key", import_delay=0.05)
    fake.add_list("Segment", id=1)
    rows = [{**row, "Id": f"c{i}"} for i, row in enumerate(clean_rows(30))]
    path = write_csv(tmp_path / "p.csv", rows)
    state = tmp_path / "state.db"
    args = ["export", str(path), "--list-id", "1", "--email", "Email", "--key", "Id"]
    args += ["--state", str(state), "--on-leave", "unsubscribe", "--max-leave", "0.5", "-q"]
    with fake.serve() as server:
        monkeypatch.setenv(URL_ENV, server.url)
        monkeypatch.setenv(KEY_ENV, "membership-key")
        assert main(args) == 0
    assert len(fake.contacts) == 30
    conn = sqlite3.connect(state)
    keys = conn.execute("SELECT email, customer_key FROM contacts ORDER BY customer_key").fetchall()
    conn.close()
    assert len(keys) == 30
    assert keys[0] == ("person0@example.com", "c0")
    capsys.readouterr()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--on-leave", "unsubscribe"], "--on-leave needs --state"),
        (["--on-leave", "untag", "--state", "s.db"], "give at least one --tag"),
        (["--on-leave", "archive", "--state", "s.db"], "invalid choice"),
        (["--max-leave", "2"], "fraction from 0 to 1"),
        (["--key", "CustomerId"], "CustomerId"),
    ],
)
def test_bad_membership_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    path = write_csv(tmp_path / "p.csv", clean_rows(3))
    assert main(sandbox_export(path, *extra)) == 2
    assert message in capsys.readouterr().err


def test_leavers_not_removed_are_printed() -> None:
    import io

    from acexport import ExportReport, RemovalError
    from acexport._cli._output import Output
    from acexport._cli._reports import print_report

    errors = tuple(RemovalError(f"l{i}@example.com", "refused\x1b[2J") for i in range(12))
    report = ExportReport(list_id=1, received=3, exported=3, removed=2, removal_errors=errors)
    stream = io.StringIO()
    print_report(report, Output(stream), None)
    text = stream.getvalue()
    assert "removed 2 leavers, 12 removals failed" in text
    assert "12 leavers not removed (tried again next run):" in text
    assert "<l0@example.com>: refused\\x1b[2J" in text  # escaped, never a terminal control
    assert "... and 2 more" in text
