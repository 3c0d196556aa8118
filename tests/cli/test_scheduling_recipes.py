"""docs/scheduling.md: the cron line, the systemd service's command and the GitHub Actions step
run exactly as written, in a subprocess, with /srv/acexport moved to a temporary folder and
the installed ``acexport`` script replaced by this Python's ``-m acexport``, against a fake
account served on loopback. (Airflow, Dagster and Prefect are not installed here: their
recipes are marked "not run" in the page, with the reason.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import KEY_ENV, SECRET, write_csv

from acexport.testing import FakeActiveCampaign

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
SRV = "/srv/acexport"
ACEXPORT = f"{shlex.quote(sys.executable)} -m acexport"


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", PAGE, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[tuple[Path, FakeActiveCampaign]]:
    """/srv/acexport as the page lays it out, its export pointing at a fake account."""
    fake = FakeActiveCampaign(api_key=SECRET)
    fake.add_list("Customers", id=3)
    with fake.serve() as server:
        for name in ("segments", "state", "reports", "logs"):
            (tmp_path / name).mkdir()
        (tmp_path / "secrets.env").write_text(f"{KEY_ENV}={SECRET}\n")
        write_csv(
            tmp_path / "segments" / "vip.csv",
            [{"Email": f"p{i}@example.com", "FirstName": f"P{i}"} for i in range(3)],
        )
        (tmp_path / "acexport.toml").write_text(
            textwrap.dedent(
                f"""\
                [connections.main]
                api_url = "{server.url}"
                api_key_env = "{KEY_ENV}"
                data_transfer_acknowledged = true
                [exports.vip]
                connection = "main"
                list_id = 3
                source = "segments/vip.csv"
                state = "state/vip.sqlite"
                [exports.vip.mapping]
                email = "Email"
                first_name = "FirstName"
                """
            )
        )
        yield tmp_path, fake


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return {**env, **(extra or {})}


def run_shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def check_ran(folder: Path, fake: FakeActiveCampaign, output: str) -> None:
    assert fake.contact_by_email("p0@example.com") is not None, output
    report = json.loads((folder / "reports" / "vip.json").read_text())
    assert (report["exported"], report["received"]) == (3, 3)
    assert SECRET not in output


def test_the_cron_line(srv: tuple[Path, FakeActiveCampaign]) -> None:
    folder, fake = srv
    (line,) = [entry for entry in blocks("cron")[0].splitlines() if entry[:1].isdigit()]
    fields = line.split(None, 5)
    assert fields[:5] == ["15", "2", "*", "*", "*"]
    command = fields[5].replace(SRV, str(folder)).replace(".venv/bin/acexport", ACEXPORT)
    done = run_shell(command, folder, environment())
    log = (folder / "logs" / "acexport.log").read_text()
    assert done.returncode == 0, log + done.stderr
    assert "exported 3 of 3 profiles to list 3" in log
    check_ran(folder, fake, log + done.stdout + done.stderr)


def test_the_systemd_service(srv: tuple[Path, FakeActiveCampaign]) -> None:
    folder, fake = srv
    (service,) = [b for b in blocks("ini") if "ExecStart=" in b]
    settings = dict(
        line.split("=", 1) for line in service.splitlines() if re.match(r"^[A-Za-z]+=", line)
    )
    assert settings["Type"] == "oneshot"
    cwd = Path(settings["WorkingDirectory"].replace(SRV, str(folder)))
    env_file = Path(settings["EnvironmentFile"].replace(SRV, str(folder)))
    variables = dict(
        line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
    )
    argv = shlex.split(settings["ExecStart"].replace(SRV, str(folder)))
    assert argv[0] == f"{folder}/.venv/bin/acexport"
    done = subprocess.run(
        [sys.executable, "-m", "acexport", *argv[1:]],
        cwd=cwd,
        env=environment(variables),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "exported 3 of 3 profiles to list 3" in done.stdout
    check_ran(folder, fake, done.stdout + done.stderr)
    timer = next(b for b in blocks("ini") if "[Timer]" in b)
    assert "OnCalendar=*-*-* 02:15:00" in timer


def test_the_github_actions_step(srv: tuple[Path, FakeActiveCampaign]) -> None:
    folder, fake = srv
    (workflow,) = blocks("yaml")
    (command,) = re.findall(r"^\s+run: (mkdir .*acexport run.*)$", workflow, flags=re.MULTILINE)
    assert f"{KEY_ENV}: ${{{{ secrets.{KEY_ENV} }}}}" in workflow
    (folder / "reports").rmdir()  # a fresh checkout has none: the step makes it
    done = run_shell(
        command.replace("acexport run", f"{ACEXPORT} run"),
        folder,
        environment({KEY_ENV: SECRET}),
    )
    assert done.returncode == 0, done.stderr
    check_ran(folder, fake, done.stdout + done.stderr)
