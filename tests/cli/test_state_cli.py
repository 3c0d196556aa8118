"""``acexport export --state`` / ``--full-refresh`` and ``acexport state PATH [--forget EMAIL]``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import KEY_ENV, URL_ENV, clean_rows, counts, write_csv

from acexport._cli import main
from acexport.testing import FakeActiveCampaign

pytestmark = pytest.mark.integration  # an account served on 127.0.0.1

KEY = "state-cli-key"


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeActiveCampaign]:
    """One fake account for every run of a test (the sandbox is a new account each run)."""
    fake = FakeActiveCampaign(api_key=KEY, import_delay=0.05)
    fake.add_list("Segment", id=1)
    with fake.serve() as server:
        monkeypatch.setenv(URL_ENV, server.url)
        monkeypatch.setenv(KEY_ENV, KEY)
        yield fake


def export(path: Path, *extra: str) -> list[str]:
    return ["export", str(path), "--list-id", "1", "--email", "Email", "--quiet", *extra]


def test_a_second_export_with_a_state_sends_only_what_changed(
    account: FakeActiveCampaign, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = clean_rows(40)
    data = write_csv(tmp_path / "segment.csv", rows)
    state = tmp_path / "state.sqlite"
    assert main(export(data, "--first-name", "FirstName", "--state", str(state))) == 0
    assert "0 unchanged" in capsys.readouterr().out
    rows[3]["FirstName"] = "Changed"
    write_csv(data, rows)
    assert main(export(data, "--first-name", "FirstName", "--state", str(state))) == 0
    out = capsys.readouterr().out
    assert "exported 1 of 40 profiles to list 1: 39 unchanged, " in out
    assert counts(out) == (1, 40, 0, 0, 0, 0)
    assert (
        main(export(data, "--first-name", "FirstName", "--state", str(state), "--full-refresh"))
        == 0
    )
    assert "exported 40 of 40 profiles to list 1: 0 unchanged" in capsys.readouterr().out


def test_a_sandbox_export_never_writes_the_state_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "segment.csv", clean_rows(30))
    state = tmp_path / "real" / "state.sqlite"
    assert main([*export(data, "--state", str(state)), "--sandbox"]) == 0
    assert not state.parent.exists()
    loud = [a for a in export(data, "--state", str(state), "--sandbox") if a != "--quiet"]
    assert main(loud) == 0
    out, err = capsys.readouterr()
    assert "sandbox: the state is kept in a temporary file for this run" in err
    assert "exported 30 of 30 profiles to list 1: 0 unchanged" in out  # a new account each time
    assert not state.parent.exists()


def test_state_shows_what_the_file_holds_and_forgets_one_person(
    account: FakeActiveCampaign, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "segment.csv", clean_rows(30))
    state = tmp_path / "state.sqlite"
    assert main(export(data, "--state", str(state))) == 0
    capsys.readouterr()
    assert main(["state", str(state)]) == 0
    shown = capsys.readouterr().out
    assert "list 1: 30 contacts confirmed, 0 open batches" in shown
    assert "last run" in shown
    assert "exported 30 of 30 profiles" in shown
    assert KEY not in shown
    assert main(["state", str(state), "--forget", " PERSON3@example.com "]) == 0
    assert "forgot PERSON3@example.com: 1 row removed" in capsys.readouterr().out
    assert main(["state", str(state)]) == 0
    assert "29 contacts confirmed" in capsys.readouterr().out
    # the forgotten person is sent again next time: nothing of them is left to compare with
    assert main(export(data, "--state", str(state))) == 0
    assert "exported 1 of 30 profiles to list 1: 29 unchanged" in capsys.readouterr().out


def test_state_of_a_missing_file_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "none" / "state.sqlite"
    assert main(["state", str(path)]) == 0
    assert "no export has been recorded here" in capsys.readouterr().out
    assert not path.parent.exists()


def test_state_of_a_file_that_is_not_a_state_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    assert main(["state", str(path)]) == 2
    assert str(path) in capsys.readouterr().err
    assert path.read_text() == "hello\n"


def test_full_refresh_without_a_state_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "segment.csv", clean_rows(3))
    assert main(export(data, "--sandbox", "--full-refresh")) == 2
    assert "--full-refresh goes with --state" in capsys.readouterr().err


def test_state_copy_moves_a_state_into_an_empty_one_and_refuses_a_clash(
    account: FakeActiveCampaign, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "segment.csv", clean_rows(20))
    old, new = tmp_path / "old.sqlite", tmp_path / "new.sqlite"
    assert main(export(data, "--state", str(old))) == 0
    capsys.readouterr()
    assert main(["state", "copy", str(old), str(new)]) == 0
    assert "20 contacts confirmed" in capsys.readouterr().out
    # the copy is a working state: the next export with it sends nothing
    assert main(export(data, "--state", str(new))) == 0
    assert "exported 0 of 20 profiles to list 1: 20 unchanged" in capsys.readouterr().out
    assert main(["state", "copy", str(old), str(new)]) == 2  # never merges two states
    assert "already holds" in capsys.readouterr().err
    assert main(["state", "copy", str(old)]) == 2
