"""A stateful fake ActiveCampaign API v3 for testing code that talks to ActiveCampaign.

It speaks AC's wire format (ids as strings, ``meta.total`` as a string, a default page of 20,
the bulk-import batch lifecycle, AC's error bodies) and can inject faults: 5xx, 429, connection
resets before or after a request is applied, HTML login pages, truncated JSON, slow answers,
bulk-import rate limits and failed or interrupted batches.

Quick start::

    from acexport.testing import FakeActiveCampaign, VirtualClock
    import httpx

    clock = VirtualClock()
    fake = FakeActiveCampaign(api_key="k", requests_per_second=5, clock=clock)
    list_id = fake.add_list("Newsletter")
    with httpx.Client(
        transport=fake.transport(), base_url="https://acct.api-us1.com/api/3",
        headers={"Api-Token": "k"},
    ) as client:
        client.post("/contact/sync", json={"contact": {"email": "a@example.com"}})
    assert fake.contact_by_email("A@example.com") is not None

Or over a real socket: ``with fake.serve() as server: ... server.url ...``.

Endpoints (under ``/api/3``): ``GET users/me``; ``GET/POST lists``, ``GET lists/{id}``;
``POST contact/sync``; ``GET/POST contacts``, ``GET/PUT/DELETE contacts/{id}``,
``GET contacts/{id}/contactLists|fieldValues|contactTags``; ``POST contactLists``;
``GET fields``; ``GET/POST tags``; ``POST contactTags``, ``DELETE contactTags/{id}``;
``POST import/bulk_import``; ``GET import/info``. Anything else is 404
``{"message": "Not Found"}``. Collections page with ``limit`` (default 20, at most 100) and
``offset``, and give ``meta.total`` as a string.

Where ActiveCampaign's behaviour is undocumented the fake picks one, as follows:

- ``contact/sync``, ``PUT contacts/{id}`` and bulk import overwrite only the keys present in
  the body (``null`` counts as absent, ``""`` blanks the value). Emails match
  case-insensitively and a contact keeps the case it was created with.
- ``contact/sync`` answers 201 when it creates and 200 when it updates.
- ``POST contactTags`` for a link that already exists answers 201 with that link.
- ``POST contactLists`` echoes ``status`` as a number (as AC's example does); everywhere else
  ids and statuses are strings.
- Bulk ``subscribe`` never changes a status of 2 (unsubscribed); any other status becomes 1.
  Only ``POST contactLists`` re-subscribes.
- Bulk ``unsubscribe`` sets the status to 2, creating the contact (unsubscribed) when the
  email is unknown: ActiveCampaign does not document that case. Nothing in bulk import ever
  re-subscribes it.
- ``PUT contacts/{id}`` with an email another contact has answers 422 ``duplicate``;
  ``DELETE contactTags/{id}`` of an unknown link answers 404.
- ``/import/info``'s ``success`` lists only contacts the batch created, not ones it updated.
- The texts of 422 unknown-field errors, of bulk-import size errors and of 400s for
  malformed JSON are the fake's own: AC documents none.
"""

from __future__ import annotations

from ._clock import VirtualClock
from ._fake import FakeActiveCampaign
from ._faults import Fault, Faults
from ._profiles import sample_profiles
from ._server import FakeServer
from ._snapshots import BatchStatus, FakeBatch, FakeContact, FakeStats

__all__ = [
    "BatchStatus",
    "FakeActiveCampaign",
    "FakeBatch",
    "FakeContact",
    "FakeServer",
    "FakeStats",
    "Fault",
    "Faults",
    "VirtualClock",
    "sample_profiles",
]
