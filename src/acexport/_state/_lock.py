"""One writer per (state file, account, list): OS byte-range locks on a sidecar file.

Each scope locks one byte of ``<state file>.lock``, at an offset taken from a hash of the
scope, with ``fcntl.lockf``: the kernel drops the lock when its process dies, even by SIGKILL,
so a killed export never leaves a stale lock. POSIX record locks belong to a process (a second
``lockf`` from the same process succeeds, and closing any descriptor of the file drops all of
the process's locks on it), so a process keeps ONE descriptor per lock file and a registry of
the offsets it holds, which also refuses a second writer inside the process.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import sys
import threading

import attrs

from .._exceptions import ConfigError

__all__ = ["Lease", "acquire", "scope_offset"]

_OFFSET_BITS = 46  # offsets stay far below any off_t limit


def scope_offset(account: str, list_id: int) -> int:
    """The byte of the lock file that stands for (account, list_id)."""
    key = f"{account}\x00{list_id}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") >> (
        64 - _OFFSET_BITS
    )


@attrs.define
class _LockFile:
    fd: int
    held: set[int]


_registry: dict[str, _LockFile] = {}
_registry_mutex = threading.Lock()


if sys.platform == "win32":  # pragma: no cover - not exercised by the test suite
    import msvcrt

    def _try_lock(fd: int, offset: int) -> None:
        os.lseek(fd, offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int, offset: int) -> None:
        os.lseek(fd, offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int, offset: int) -> None:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)

    def _unlock(fd: int, offset: int) -> None:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)


@attrs.define(eq=False)
class Lease:
    """A held lock; :meth:`release` gives it back (once: later calls do nothing)."""

    path: str
    offset: int
    released: bool = False

    def release(self) -> None:
        with _registry_mutex:
            if self.released:
                return
            self.released = True
            entry = _registry.get(self.path)
            if entry is None or self.offset not in entry.held:
                return
            entry.held.discard(self.offset)
            # closing the descriptor below (or the process ending) drops it anyway
            with contextlib.suppress(OSError):
                _unlock(entry.fd, self.offset)
            if not entry.held:
                del _registry[self.path]
                os.close(entry.fd)


def acquire(lock_path: str, offset: int, *, what: str, state_file: str) -> Lease:
    """Lock byte ``offset`` of ``lock_path`` for this process, or raise ConfigError at once.

    ``what`` names the scope in messages ("list 3 of https://acct.api-us1.com/api/3").
    """
    busy = (
        f"another export is writing {what} in the state file {state_file}: wait for it to "
        "finish, or use another state file"
    )
    key = os.path.realpath(lock_path)
    with _registry_mutex:
        entry = _registry.get(key)
        if entry is not None and offset in entry.held:
            raise ConfigError(f"{busy} (it runs in this process)")
        if entry is None:
            try:
                fd = os.open(key, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the lock file {key} of the state file {state_file}: "
                    f"{exc.strerror or exc}"
                ) from exc
            entry = _LockFile(fd, set())
        try:
            _try_lock(entry.fd, offset)
        except OSError as exc:
            if not entry.held:
                os.close(entry.fd)
            if exc.errno in (errno.EACCES, errno.EAGAIN, errno.EDEADLK):
                raise ConfigError(busy) from exc
            raise ConfigError(
                f"cannot lock {what} in the state file {state_file} (lock file {key}): "
                f"{exc.strerror or exc}"
            ) from exc
        entry.held.add(offset)
        _registry[key] = entry
        return Lease(key, offset)
