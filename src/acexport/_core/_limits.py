"""ActiveCampaign's limits, in one place. Each comes from ``shared/activecampaign-api.md``.

Everything that depends on a limit (the rate limiter's defaults, the bulk-import checks, the
planner's batches, the pagers, the choice of the small-export path) imports it from here.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BULK_IMPORTS_PER_MINUTE",
    "BULK_MAX_BYTES",
    "BULK_MAX_CONTACTS",
    "PAGE_LIMIT",
    "REQUESTS_PER_SECOND",
    "SINGLE_BULK_SHARE",
    "SMALL_EXPORT",
]

#: Requests a second per account (§2).
REQUESTS_PER_SECOND: Final = 5.0
#: Multi-contact bulk imports a minute (§2, §6.1).
BULK_IMPORTS_PER_MINUTE: Final = 100.0
#: Single-contact bulk imports are allowed 20 a minute against 100 multi-contact: this share of
#: the multi-contact rate, kept when that rate is changed.
SINGLE_BULK_SHARE: Final = 0.2
#: Contacts in one bulk import (§6.1).
BULK_MAX_CONTACTS: Final = 250
#: Bytes of one bulk-import body: "must be less than 400K bytes (399,999 bytes or less)".
BULK_MAX_BYTES: Final = 399_999
#: Items on one page of a listing: ActiveCampaign's maximum; its default of 20 silently
#: truncates listings (§3.5).
PAGE_LIMIT: Final = 100
#: Below this many contacts in all, ActiveCampaign advises the contact endpoints over bulk
#: import (§6.1).
SMALL_EXPORT: Final = 10
