"""The ``acexport`` command line (also ``python -m acexport``).

Subcommands:

- ``export PROFILES --list-id N --email COLUMN ...``: stream a CSV, JSON Lines or JSON-array
  file (or standard input) onto a list, with progress on stderr, a summary on stdout and,
  with ``--report FILE.json``, the whole report as JSON;
- ``lists``, ``fields``, ``check``: what a mapping needs (list ids, custom fields) and a
  credentials check;
- ``run NAME... | --all``, ``validate``, ``exports``: saved exports from an ``acexport.toml``
  (``_config``, ``_config_checks``, ``_toml``, ``_secrets``, ``_jobs``, ``_run``,
  ``_validate``, ``_saved_parser``).

Every subcommand takes ``--sandbox``: the same job against the built-in fake ActiveCampaign
(:mod:`acexport.testing`) served on loopback, with no account and no credentials.

Exit codes: 0 every row exported (or skipped as a duplicate); 1 some rows invalid, rejected or
failed, or the export stopped early; 2 a usage or configuration error (the message says what to
fix); 130 interrupted with Ctrl-C, 143 stopped by SIGTERM. The API key is never printed.

The package: ``_main`` (``main``), ``_parser`` (the options), ``_connection`` (account or
sandbox), ``_readers`` (CSV, JSON Lines, JSON arrays), ``_output`` (escapes what is printed),
``_progress``, ``_signals``, ``_reports``, and one module per command group (``_export``;
``_account`` for lists, fields, check).
"""

from __future__ import annotations

from ._main import main

__all__ = ["main"]
