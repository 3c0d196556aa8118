"""acexport: export customer segments into ActiveCampaign lists.

A typed sync and async client over ActiveCampaign's v3 API, and a segment exporter that
streams any iterable of profiles onto a list and accounts for every one of them.
"""

from __future__ import annotations

import logging

from ._async_client import AsyncActiveCampaign
from ._client import ActiveCampaign
from ._exceptions import (
    ACExportError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ExportError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    StateError,
    UnprocessableEntityError,
)
from ._exporter._async_export import AsyncSegmentExporter
from ._exporter._export import SegmentExporter
from ._exporter._mapping import FieldMapping, Source
from ._exporter._run import CancelToken
from ._models import (
    BulkContact,
    BulkImportInfo,
    BulkImportStatus,
    Contact,
    ContactList,
    ContactTag,
    CustomField,
    ListMembership,
    ListStatus,
    Tag,
    User,
)
from ._report import ExportProgress, ExportReport, RemovalError, RowError, RowErrorKind
from ._saved import SavedExport, load_exports
from ._state import (
    ListState,
    ListSummary,
    OpenBatch,
    PostgresState,
    SqliteState,
    StateStore,
    StoredRow,
    TrackedContact,
)
from ._version import __version__

# A library logs, the application decides where it goes: without this, Python's last-resort
# handler would print acexport's warnings to stderr next to the exceptions that carry them.
logging.getLogger("acexport").addHandler(logging.NullHandler())

__all__ = [
    "ACExportError",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "ActiveCampaign",
    "AsyncActiveCampaign",
    "AsyncSegmentExporter",
    "AuthenticationError",
    "BadRequestError",
    "BulkContact",
    "BulkImportInfo",
    "BulkImportStatus",
    "CancelToken",
    "ConfigError",
    "Contact",
    "ContactList",
    "ContactTag",
    "CustomField",
    "ExportError",
    "ExportProgress",
    "ExportReport",
    "FieldMapping",
    "ListMembership",
    "ListState",
    "ListStatus",
    "ListSummary",
    "NotFoundError",
    "OpenBatch",
    "PostgresState",
    "RateLimitError",
    "RemovalError",
    "ResponseValidationError",
    "RowError",
    "RowErrorKind",
    "SavedExport",
    "SegmentExporter",
    "ServerError",
    "Source",
    "SqliteState",
    "StateError",
    "StateStore",
    "StoredRow",
    "Tag",
    "TrackedContact",
    "UnprocessableEntityError",
    "User",
    "__version__",
    "load_exports",
]
