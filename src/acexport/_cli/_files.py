"""Output files the export writes (``--report``, ``--errors``): reserved before anything is
sent, written beside their path, and put in place in one step."""

from __future__ import annotations

import contextlib
import os
import tempfile

from ._errors import UsageError

__all__ = ["Reserved", "same_file"]


class Reserved:
    """A file reserved for ``flag`` (``"--report"``) at ``path``.

    The constructor refuses a path that is a folder, a special file or the input itself, and
    creates a temporary file beside it (so a folder that cannot be written to is found now,
    not after the export); :meth:`put` renames it over the path in one step, :meth:`discard`
    removes it. ``fd`` is the temporary file's descriptor, for the owner to write through.
    """

    def __init__(
        self, flag: str, path: str, input_path: str | None, example: str, suffix: str
    ) -> None:
        self.flag = flag
        self.path = path
        if os.path.isdir(path):
            raise UsageError(f"{flag} {path} is a directory; name a file, e.g. {example}")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UsageError(f"{flag} {path}: the folder {folder} does not exist")
        if os.path.exists(path):
            if input_path is not None and same_file(path, input_path):
                raise UsageError(
                    f"{flag} {path} is the input file: it would overwrite the profiles; name "
                    f"another file, e.g. {example}"
                )
            if not os.path.isfile(path):
                raise UsageError(f"{flag} {path} is not a regular file; name a file")
        try:
            self.fd, self.tmp = tempfile.mkstemp(
                prefix=f".acexport-{flag.lstrip('-')}-", suffix=f"{suffix}.tmp", dir=folder
            )
        except OSError as exc:
            raise UsageError(
                f"{flag} {path}: cannot create a file in {folder}: {exc.strerror or exc}"
            ) from None
        self.done = False

    def put(self) -> None:
        """Rename the written file over the path (raises ``OSError`` if the disk refuses)."""
        try:
            os.replace(self.tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
            raise

    def discard(self) -> None:
        """Remove the reserved file (nothing once it was put in place or discarded)."""
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            os.close(self.fd)
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


def same_file(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name one file (or would, once created)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
