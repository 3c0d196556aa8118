"""A saved export whose state is in PostgreSQL: ``state = "postgresql://..."`` in the file and
the password from ``state_password_env`` (never from the file)."""

from __future__ import annotations

import csv
import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import Cluster

from acexport import PostgresState
from acexport._cli import main
from acexport.testing import FakeActiveCampaign

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

KEY = "saved-pg-key"


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    fake = FakeActiveCampaign(api_key=KEY, import_delay=0.05)
    fake.add_list("Segment", id=2)
    with fake.serve() as server:
        monkeypatch.setenv("ACSAVED_KEY", KEY)
        yield server.url


def _write(folder: Path, url: str, state: str, extra: str = "") -> Path:
    with (folder / "rows.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Email"])
        writer.writerows([f"p{i}@example.com"] for i in range(12))
    config = folder / "acexport.toml"
    config.write_text(
        textwrap.dedent(
            f"""\
            [connections.main]
            api_url = "{url}"
            api_key_env = "ACSAVED_KEY"
            data_transfer_acknowledged = true

            [exports.pg]
            connection = "main"
            list_id = 2
            source = "rows.csv"
            state = "{state}"
            {extra}
            [exports.pg.mapping]
            email = "Email"
            """
        )
    )
    return config


def test_the_state_password_comes_from_the_environment_and_is_never_shown(
    pg_cluster: Cluster,
    account: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = f"s_{secrets.token_hex(6)}"
    bare = pg_cluster.dsn.replace(f":{pg_cluster.password}@", "@")  # no password in the file
    config = _write(tmp_path, account, f"{bare}#{schema}", 'state_password_env = "PG_STATE_PW"')
    assert main(["run", "pg", "--config", str(config), "-q"]) == 2  # the variable is not set
    err = capsys.readouterr().err
    assert "PG_STATE_PW is not set" in err
    monkeypatch.setenv("PG_STATE_PW", pg_cluster.password)
    assert main(["run", "pg", "--config", str(config), "-q"]) == 0
    assert main(["run", "pg", "--config", str(config), "-q"]) == 0
    out, err = capsys.readouterr()
    assert "exported 0 of 12 profiles to list 2: 12 unchanged" in out
    assert pg_cluster.password not in out + err
    with PostgresState(pg_cluster.dsn, schema=schema) as store:
        (summary,) = store.summaries()
    assert summary.confirmed == 12


def test_state_password_env_goes_with_a_postgresql_state(
    account: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, account, "state.sqlite", 'state_password_env = "PG_STATE_PW"')
    assert main(["validate", "--config", str(config)]) == 2
    assert "state_password_env: names the password of a PostgreSQL state" in capsys.readouterr().err
