"""Signals during an export: the first Ctrl-C or SIGTERM cancels gracefully (summary and
report), the second aborts; before any profile is read the first one stops at once."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from clitools import KEY_ENV, SAMPLE, URL_ENV, counts, sandbox_export

from acexport._cli import _connection, main
from acexport.testing import FakeActiveCampaign

SRC = Path(__file__).resolve().parents[2] / "src"


class _InterruptingInput(io.StringIO):
    """Standard input that delivers a real signal when given lines are read."""

    def __init__(self, text: str, at: set[int], signum: int = signal.SIGINT) -> None:
        super().__init__(text)
        self.at = at
        self.signum = signum
        self.lines = 0

    def __next__(self) -> str:  # type: ignore[override]
        self.lines += 1
        if self.lines in self.at:
            signal.raise_signal(self.signum)
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


@pytest.mark.integration
def test_sigterm_cancels_like_the_first_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = _InterruptingInput(_many_rows(2000), {100}, signal.SIGTERM)
    monkeypatch.setattr(sys, "stdin", stdin)
    report = tmp_path / "r.json"
    before = signal.getsignal(signal.SIGTERM)
    assert main(sandbox_export("-", "--report", str(report))) == 143
    assert signal.getsignal(signal.SIGTERM) is before
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["cancelled"] is True
    assert 0 < data["received"] < 2000
    out, err = capsys.readouterr()
    assert "cancelled" in out
    assert "SIGTERM: cancelling" in err


@pytest.mark.integration
def test_the_first_ctrl_c_stops_retries_before_any_row_is_read(
    tmp_path: Path, sandboxes: list[FakeActiveCampaign], capsys: pytest.CaptureFixture[str]
) -> None:
    """The account keeps answering 503 to the first request, which the client retries with
    back-off (minutes, in all); one Ctrl-C must end that, with a summary and a report."""
    made = _connection.sandbox_account  # the fixture's, which records what it makes

    def failing() -> FakeActiveCampaign:
        fake = made()
        fake.faults.queue(503, path="/api/3/users/me", times=1000)
        return fake

    _connection.sandbox_account = failing  # restored below, before the fixture's undo
    main_thread = threading.main_thread().ident
    assert main_thread is not None
    timer = threading.Timer(0.5, signal.pthread_kill, (main_thread, signal.SIGINT))
    report = tmp_path / "r.json"
    try:
        timer.start()
        code = main(sandbox_export(SAMPLE, "--report", str(report), "-q"))
    finally:
        timer.cancel()
        _connection.sandbox_account = made
    assert code == 130
    out, err = capsys.readouterr()
    assert "cancelled before any profile was read" in err
    assert counts(out)[:2] == (0, 0)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["cancelled"], data["received"]) == (True, 0)
    assert len(sandboxes) == 1
    assert sandboxes[0].contacts == []


@pytest.mark.integration
def test_sigterm_to_a_real_process_writes_the_summary_and_the_report(tmp_path: Path) -> None:
    """``acexport export --sandbox`` in a subprocess, as cron or systemd runs it: SIGTERM once
    progress shows; the process ends with the summary, the report and exit code 143."""
    rows = 100_000
    path = tmp_path / "big.csv"
    path.write_text(
        "Email\n" + "".join(f"p{i}@example.com\n" for i in range(rows)), encoding="utf-8"
    )
    report = tmp_path / "r.json"
    env = {k: v for k, v in os.environ.items() if k not in (URL_ENV, KEY_ENV)}
    env["PYTHONPATH"] = str(SRC)
    command = [sys.executable, "-m", "acexport", *sandbox_export(path, "--report", str(report))]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, bufsize=0
    )
    try:
        assert process.stderr is not None
        fd = process.stderr.fileno()
        deadline = time.monotonic() + 60
        early = b""
        # Bounded: each wait ends by the deadline; raw reads, so nothing hides in a buffer.
        while b"\nprogress:" not in early:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:  # the deadline passed, or the process ended
                break
            early += chunk
        assert b"\nprogress:" in early, early
        process.send_signal(signal.SIGTERM)
        out_bytes, err_bytes = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    out, err = out_bytes.decode(), (early + err_bytes).decode()
    assert process.returncode == 143, err
    assert "SIGTERM: cancelling" in err
    exported, received, *_ = counts(out)
    assert 0 < received < rows
    assert "cancelled: the rows read before the cancel are accounted for above" in out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["cancelled"] is True
    assert data["received"] == received
    assert data["exported"] == exported
    assert data["received"] == sum(
        data[k] for k in ("exported", "duplicates", "invalid", "rejected", "failed")
    )
