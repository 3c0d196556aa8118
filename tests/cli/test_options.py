"""``--exclude-automations``, the client's rate options and the ``--dry-run`` estimate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clitools import README_FIRST, clean_rows, sandbox_export, write_csv

from acexport._cli import main
from acexport.testing import FakeActiveCampaign


@pytest.mark.integration
def test_exclude_automations_reaches_every_contact(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "p.csv", clean_rows(300))
    assert main(sandbox_export(path, "--exclude-automations", "-q")) == 0
    batches = list(sandboxes[0].batches.values())
    assert batches
    assert all(all(batch.exclude_automations) for batch in batches)
    assert sum(batch.contacts for batch in batches) == 300
    capsys.readouterr()


@pytest.mark.integration
def test_automations_run_by_default(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "p.csv", clean_rows(300))
    assert main(sandbox_export(path, "-q")) == 0
    batches = list(sandboxes[0].batches.values())
    assert batches
    assert not any(any(batch.exclude_automations) for batch in batches)
    capsys.readouterr()


@pytest.mark.integration
def test_rate_options_set_the_clients_limits(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", "--sandbox", "--requests-per-second", "2.5", "--bulk-imports-per-minute", "7"]
    assert main(argv) == 0
    assert re.search(r"\(2\.5 requests/s, 7 bulk imports/min\)", capsys.readouterr().out)


@pytest.mark.parametrize("value", ["0", "-1", "fast", "inf", "nan"])
def test_rate_options_must_be_positive_numbers(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--sandbox", "--bulk-imports-per-minute", value]) == 2
    assert "--bulk-imports-per-minute" in capsys.readouterr().err


@pytest.mark.integration
def test_dry_run_says_how_long_the_real_export_would_take(
    sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*README_FIRST, "--dry-run", "--bulk-imports-per-minute", "2", "-q"]
    assert main(argv) == 1  # the sample has invalid rows
    out = capsys.readouterr().out
    assert out.startswith("dry run: would export 32 of 40 profiles")
    # 32 contacts: one bulk import of up to 250, at 2 a minute: 32 / 500 min = 3.84 s.
    assert (
        "estimate: sending 32 contacts takes about 4s at this client's limits "
        "(1 bulk import of up to 250 at 2/min)"
    ) in out
    assert sandboxes[0].contacts == []
