"""Signals during an export: the first Ctrl-C or SIGTERM (cron, systemd, Airflow) cancels
gracefully, the second aborts.

A graceful cancel sets the exporter's ``cancel`` event: nothing more is read or sent, the
batches in flight settle, and the report is printed and written. Before the exporter has
asked for its first profile (while it checks the key, the list and the fields, retries
included) there is nothing to settle, so the first signal stops the command at once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterable, Iterator
from types import FrameType, TracebackType
from typing import Any

from ._errors import EXIT_INTERRUPTED
from ._output import Output

__all__ = ["EXIT_TERMINATED", "Interrupted", "Signals"]

EXIT_TERMINATED = 128 + 15  # the shell's code for a process ended by SIGTERM
_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s
)


class Interrupted(KeyboardInterrupt):
    """Raised by the handler to stop at once (the second signal, or the first before reading
    began); ``exit_code`` is 130 for Ctrl-C, 143 for SIGTERM."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.exit_code = exit_code(signum)


def exit_code(signum: int | None) -> int:
    return EXIT_TERMINATED if signum == getattr(signal, "SIGTERM", None) else EXIT_INTERRUPTED


class Signals:
    """Installs the handlers for SIGINT and SIGTERM while in a ``with`` block (main thread
    only; elsewhere signals keep their handlers and only ``cancel`` is offered)."""

    def __init__(self, err: Output) -> None:
        self.cancel = threading.Event()
        self.signum: int | None = None  # the first signal received
        self.pending = ""  # the cancel note, when it could not be written at once
        self._err = err
        self._started = False
        self._previous: dict[int, Any] = {}

    @property
    def exit_code(self) -> int:
        """The exit code for a cancelled export: 143 after SIGTERM, else 130."""
        return exit_code(self.signum)

    def watch(self, profiles: Iterable[object]) -> Iterator[object]:
        """``profiles``, noting when the exporter asks for the first one."""
        self._started = True
        yield from profiles

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.cancel.is_set() or not self._started:
            self.signum = self.signum or signum
            self.cancel.set()
            raise Interrupted(signum)
        self.signum = signum
        self.cancel.set()
        again = "Ctrl-C" if signum == signal.SIGINT else "another signal"
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        note = (
            f"\nacexport: {name}: cancelling: no more rows are read or sent; waiting for the "
            f"batches in flight to settle ({again} to abort without waiting)\n"
        )
        # A plain write to the text stream could re-enter a write this signal interrupted;
        # a stream with no file descriptor gets the note when the export returns.
        try:
            os.write(self._err.fileno(), note.encode())
        except (OSError, ValueError, AttributeError):
            self.pending = note.lstrip("\n")

    def __enter__(self) -> Signals:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
