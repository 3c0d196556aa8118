"""``python -m acexport``: the command line (see :mod:`acexport._cli`)."""

from __future__ import annotations

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
