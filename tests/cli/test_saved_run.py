"""``acexport run`` / ``validate`` / ``exports`` and ``load_exports``, in-process against the
sandbox or a fake account of the test's own, served on loopback."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import KEY_ENV, REPORT_KEYS, SECRET, write_csv

import acexport
from acexport import APIConnectionError, ConfigError
from acexport._cli import main
from acexport._cli._config import Connection, load_config
from acexport._cli._run import said
from acexport._cli._secrets import api_key
from acexport._config import normalize_api_url
from acexport._state import SqliteState
from acexport.testing import FakeActiveCampaign

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of examples/ (its state files land in the copy)."""
    folder = tmp_path / "examples"
    folder.mkdir()
    for name in ("acexport.toml", "sample_segment.csv", "example_segments.py"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder / "acexport.toml"


@pytest.fixture
def account() -> Iterator[tuple[FakeActiveCampaign, str]]:
    fake = FakeActiveCampaign(api_key=SECRET)
    fake.add_list("Customers", id=3)
    fake.add_field("Tier", perstag="TIER")
    with fake.serve() as server:
        yield fake, server.url


def saved(
    tmp_path: Path,
    url: str,
    *,
    ack: bool = True,
    key: str = f'api_key_env = "{KEY_ENV}"',
    extra: str = "",
    mapping: str = "",
    list_id: int = 3,
) -> Path:
    path = tmp_path / "acexport.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [connections.main]
            api_url = "{url}"
            {key}
            data_transfer_acknowledged = {"true" if ack else "false"}

            [exports.few]
            connection = "main"
            list_id = {list_id}
            source = "few.csv"
            {extra}
            [exports.few.mapping]
            email = "Email"
            first_name = "FirstName"
            tags = ["saved"]
            {mapping}
            """
        )
    )
    rows = [{"Email": f"p{i}@example.com", "FirstName": f"P{i}", "Tier": "gold"} for i in range(4)]
    rows.append({"Email": "not-an-email", "FirstName": "X", "Tier": "gold"})
    write_csv(tmp_path / "few.csv", rows)
    return path


def test_the_example_file_runs_against_the_sandbox(
    examples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    argv = ["run", "--sandbox", "--config", str(examples), "--all", "--report-dir", str(reports)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "exported 32 of 40 profiles to list 1" in out
    assert "exported 17 of 20 profiles to list 1" in out
    assert "2 of 2 exports held" in out
    assert "== sample (" in err
    for name in ("sample", "vip"):
        data = json.loads((reports / f"{name}.json").read_text())
        assert set(data) == REPORT_KEYS
    assert json.loads((reports / "sample.json").read_text())["invalid"] == 5
    assert "sandbox: the state is kept in a temporary file for this run" in err
    # The sandbox never writes the export's real state (a new account every run; personal data).
    assert not (examples.parent / "state").exists()
    assert main(["exports", "--config", str(examples)]) == 0
    listed = capsys.readouterr().out
    assert "sample: connection main (youraccount.api-us1.com), list 1" in listed
    assert "never run (no state file yet)" in listed
    assert "vip: connection main" in listed
    assert "no state" in listed


def test_the_example_file_validates_against_the_sandbox(
    examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--sandbox", "--config", str(examples)]) == 0
    assert "OK: " in capsys.readouterr().out


def test_without_the_acknowledgement_nothing_is_sent(
    tmp_path: Path,
    account: tuple[FakeActiveCampaign, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = account
    monkeypatch.setenv(KEY_ENV, SECRET)
    config = saved(tmp_path, url, ack=False, mapping='[exports.few.mapping.fields]\nTIER = "Tier"')
    assert main(["run", "few", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert fake.stats.requests == 0
    assert "has not acknowledged the data transfer, so nothing was sent" in err
    assert "to ActiveCampaign, at 127.0.0.1" in err  # to whom
    assert "email (column Email), first name (column FirstName)" in err  # what leaves
    assert "custom field TIER (column Tier), the tags saved" in err
    assert "under [connections.main]:\n  data_transfer_acknowledged = true" in err
    assert SECRET not in out + err
    with pytest.raises(ConfigError, match="has not acknowledged"):
        acexport.load_exports(config)["few"].run()
    assert fake.stats.requests == 0
    assert main(["validate", "--config", str(config)]) == 2
    assert "data_transfer_acknowledged = true" in capsys.readouterr().err


def test_run_on_an_account_with_the_key_from_the_environment(
    tmp_path: Path,
    account: tuple[FakeActiveCampaign, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = account
    monkeypatch.setenv(KEY_ENV, SECRET)
    config = saved(tmp_path, url, extra="max_not_exported = 1")
    assert main(["run", "few", "--config", str(config), "-q"]) == 0
    out, err = capsys.readouterr()
    assert "exported 4 of 5 profiles to list 3" in out
    assert "1 not exported, within max_not_exported of few" in out
    assert fake.contact_by_email("p0@example.com") is not None
    assert SECRET not in out + err


@pytest.mark.parametrize(("threshold", "code"), [("", 1), ("max_not_exported = '20%'", 0)])
def test_rows_not_exported_beyond_the_threshold_exit_1(
    tmp_path: Path,
    account: tuple[FakeActiveCampaign, str],
    monkeypatch: pytest.MonkeyPatch,
    threshold: str,
    code: int,
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    config = saved(tmp_path, account[1], extra=threshold)
    assert main(["run", "--all", "--config", str(config), "-q"]) == code


def test_the_key_from_a_command(
    tmp_path: Path, account: tuple[FakeActiveCampaign, str], capsys: pytest.CaptureFixture[str]
) -> None:
    command = json.dumps([sys.executable, "-c", f"print('  {SECRET}  ')"])
    config = saved(
        tmp_path, account[1], key=f"api_key_command = {command}", extra="max_not_exported = 1"
    )
    assert main(["run", "few", "--config", str(config), "-q"]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err


def test_a_failing_key_command_never_shows_the_key(
    tmp_path: Path, account: tuple[FakeActiveCampaign, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, url = account
    script = (
        f"import sys; print('{SECRET}'); sys.stderr.write('vault: {SECRET} locked\\n'); sys.exit(3)"
    )
    command = json.dumps([sys.executable, "-c", script])
    config = saved(tmp_path, url, key=f"api_key_command = {command}")
    assert main(["run", "few", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert "connections.main.api_key_command:" in err
    assert "failed with exit code 3: vault: *** locked" in err
    assert SECRET not in out + err
    assert fake.stats.requests == 0


def test_a_key_command_that_hangs_times_out(tmp_path: Path) -> None:
    command = json.dumps([sys.executable, "-c", "import time; time.sleep(30)"])
    config = load_config(
        saved(tmp_path, "youraccount.api-us1.com", key=f"api_key_command = {command}")
    )
    with pytest.raises(ConfigError, match=r"did not finish within 0.2s"):
        api_key(config, config.connections["main"], timeout=0.2)


def test_an_unset_environment_variable_is_said(
    tmp_path: Path, account: tuple[FakeActiveCampaign, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = saved(tmp_path, account[1])
    assert main(["run", "few", "--config", str(config)]) == 2
    assert f"the environment variable {KEY_ENV} is not set" in capsys.readouterr().err


def test_validate_finds_every_problem_at_once(
    tmp_path: Path,
    account: tuple[FakeActiveCampaign, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = account
    monkeypatch.setenv(KEY_ENV, SECRET)
    config = saved(
        tmp_path,
        url,
        list_id=99,
        mapping='phone = "Phone"\n[exports.few.mapping.fields]\nNOPE = "Tier"',
    )
    assert main(["validate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("acexport: error: ")]
    assert len(lines) == 3, err
    assert f"{config}:6: exports.few.source: " in lines[0]
    assert "has no column 'Phone'" in lines[0]
    assert f"{config}:6: exports.few.list_id: list 99 does not exist" in lines[1]
    assert f"{config}:6: exports.few.mapping.fields: " in lines[2]
    assert "NOPE" in lines[2]
    assert fake.stats.bulk_contacts == 0
    assert fake.contacts == []


def test_validate_ok_and_load_exports_run(
    tmp_path: Path,
    account: tuple[FakeActiveCampaign, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = account
    monkeypatch.setenv(KEY_ENV, SECRET)
    config = saved(tmp_path, url, mapping='[exports.few.mapping.fields]\nTIER = "Tier"')
    assert main(["validate", "few", "--config", str(config)]) == 0
    assert "OK: " in capsys.readouterr().out
    assert fake.contacts == []
    few = acexport.load_exports(config)["few"]
    assert few.validate() == ()
    report = few.run(dry_run=True)
    assert (report.dry_run, report.exported, report.invalid) == (True, 4, 1)
    assert fake.contacts == []
    report = few.run()
    assert (report.exported, report.invalid) == (4, 1)
    assert not few.held(report)  # max_not_exported defaults to 0
    assert len(fake.contacts) == 4


def test_unknown_names_and_no_names(examples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "nope", "--sandbox", "--config", str(examples)]) == 2
    assert "has no export 'nope'; it has sample, vip" in capsys.readouterr().err
    assert main(["run", "--sandbox", "--config", str(examples)]) == 2
    assert "name the exports to run" in capsys.readouterr().err
    assert main(["run", "--config", str(examples.parent / "missing.toml"), "--all"]) == 2
    assert "cannot read the saved-exports file" in capsys.readouterr().err


def test_a_broken_file_prints_every_mistake_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "acexport.toml"
    path.write_text(
        '[connections.main]\napi_url = "x.api-us1.com"\napi_key = "k"\n[exports.a]\nlist_id = "1"\n'
    )
    assert main(["run", "--all", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        f"acexport: error: {path}:3: connections.main.api_key: a literal API key is refused" in err
    )
    assert f"acexport: error: {path}:5: exports.a.list_id: is a string" in err
    assert f"acexport: error: {path}:4: exports.a: connection is missing" in err


def test_a_refused_key_names_where_it_came_from(
    tmp_path: Path,
    account: tuple[FakeActiveCampaign, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "WRONGKEY0000"
    monkeypatch.setenv(KEY_ENV, wrong)
    config = saved(tmp_path, account[1])
    assert main(["validate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{config}:1: connections.main: ActiveCampaign refused the API key" in err
    assert f"check the key in the environment variable {KEY_ENV}" in err
    assert main(["run", "few", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert "acexport: error: few: ActiveCampaign refused the API key" in err
    assert wrong not in out + err
    assert account[0].contacts == []


def test_an_overlapping_run_of_one_export_is_refused_by_the_state_lock(
    tmp_path: Path,
    account: tuple[FakeActiveCampaign, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = account
    monkeypatch.setenv(KEY_ENV, SECRET)
    config = saved(tmp_path, url, extra='state = "state.sqlite"')
    with SqliteState(tmp_path / "state.sqlite") as store:
        held = store.open_list(normalize_api_url(url), 3, write=True)  # the other run
        try:
            assert main(["run", "few", "--config", str(config)]) == 2
        finally:
            held.close()
    err = capsys.readouterr().err
    assert "acexport: error: few: " in err
    assert "state.sqlite" in err
    assert fake.contacts == []


@pytest.mark.integration
def test_a_saved_export_untags_its_leavers_and_follows_a_changed_email(
    tmp_path: Path,
    account: tuple[FakeActiveCampaign, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """on_leave, max_leave and mapping.key from the file reach the exporter."""
    fake, url = account
    monkeypatch.setenv(KEY_ENV, SECRET)
    config = saved(
        tmp_path,
        url,
        extra='state = "state.sqlite"\non_leave = "untag"\nmax_leave = 0.5\nmax_not_exported = 1',
        mapping='key = "Id"',
    )
    rows = [{"Id": f"c{i}", "Email": f"p{i}@example.com", "FirstName": f"P{i}"} for i in range(4)]
    write_csv(tmp_path / "few.csv", rows)
    assert main(["run", "few", "--config", str(config), "-q"]) == 0
    capsys.readouterr()
    # p3 leaves the segment; c0's email changes
    rows = [{**rows[0], "Email": "new0@example.com"}, *rows[1:3]]
    write_csv(tmp_path / "few.csv", rows)
    assert main(["run", "few", "--config", str(config), "-q"]) == 0
    out = capsys.readouterr().out
    assert "removed 1 leavers" in out
    leaver = fake.contact_by_email("p3@example.com")
    assert leaver is not None
    assert "saved" not in leaver.tags  # untagged, still subscribed
    assert leaver.lists.get(3) == 1
    moved = fake.contact_by_email("new0@example.com")
    assert moved is not None
    assert fake.contact_by_email("p0@example.com") is None  # changed in place, not a second one


def test_an_unreachable_connection_is_said_once_in_its_own_terms() -> None:
    error = APIConnectionError(
        "connection refused by 127.0.0.1:9: nothing accepts connections there",
        method="GET",
        url="http://127.0.0.1:9/api/3/users/me",
    )
    text = said(error, Connection("main", "http://127.0.0.1:9", api_key_env="AC_KEY"))
    assert text == (
        "could not reach ActiveCampaign at http://127.0.0.1:9/api/3/users/me: connection "
        "refused by 127.0.0.1:9: nothing accepts connections there; check api_url and the network"
    )
