"""Helpers for the state tests: digests, rows, and a child process that holds a state open."""

from __future__ import annotations

import hashlib
import os
import select
import subprocess
import sys
import textwrap
from pathlib import Path

import acexport
from acexport import StoredRow

ACCOUNT = "https://acct.api-us1.com/api/3"
OTHER_ACCOUNT = "https://other.api-us1.com/api/3"
SRC = str(Path(acexport.__file__).resolve().parents[1])


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def row(email: str, version: str = "v1") -> StoredRow:
    return StoredRow(email, digest(f"{email.strip().lower()}|{version}"))


_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from acexport import SqliteState, StoredRow
    path, account, list_id, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    store = SqliteState(path)
    state = store.open_list(account, list_id, write=True)
    state.record_confirmed([StoredRow("held@example.com", bytes(range(16)))])
    if mode == "crash":
        state.record_batch("crash-batch", [StoredRow("held@example.com", bytes(16))])
        os.kill(os.getpid(), signal.SIGKILL)
    print("ready", flush=True)
    sys.stdin.readline()  # hold the lock until the parent closes our stdin or kills us
    state.close()
    """
)


class Holder:
    """A child process that opens ``path`` for writing list ``list_id`` and holds it."""

    def __init__(self, path: Path, list_id: int = 1, *, mode: str = "hold") -> None:
        env = {**os.environ, "PYTHONPATH": SRC}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), ACCOUNT, str(list_id), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.stderr = ""

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, "the child did not open the state in time"
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", (line, self.proc.stderr.read() if self.proc.stderr else "")

    def kill(self) -> int:
        self.proc.kill()  # SIGKILL: no cleanup runs in the child
        return self.finish()

    def finish(self) -> int:
        """Close the child's stdin (it then closes the state and exits); its exit code."""
        try:
            _, self.stderr = self.proc.communicate(input="", timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, self.stderr = self.proc.communicate(timeout=30)
        return self.proc.returncode
