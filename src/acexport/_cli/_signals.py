"""Signals during an export: the first Ctrl-C cancels gracefully, the second aborts."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from ._output import Output

__all__ = ["first_ctrl_c_cancels"]


@contextlib.contextmanager
def first_ctrl_c_cancels(cancel: threading.Event, err: Output) -> Iterator[None]:
    """First Ctrl-C sets ``cancel`` (in-flight batches settle); the second aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        note = (
            "\nacexport: cancelling: no more rows are read or sent; waiting for the batches in "
            "flight to settle (Ctrl-C again to abort without waiting)\n"
        )
        # A plain write to the text stream could re-enter a write this signal interrupted.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.write(err.fileno(), note.encode())

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
