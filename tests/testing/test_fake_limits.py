"""Rate limits of the fake: the 5 rps style bucket (429) and bulk import's 400, on a virtual clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acexport.testing import FakeActiveCampaign, VirtualClock

KEY = "k"


def _client(fake: FakeActiveCampaign) -> httpx.Client:
    return httpx.Client(
        transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": KEY}
    )


def _contacts(n: int, start: int = 0) -> dict[str, Any]:
    return {"contacts": [{"email": f"u{start + i}@example.com"} for i in range(n)]}


def test_requests_per_second_bucket_gives_429_with_retry_after() -> None:
    clock = VirtualClock()
    fake = FakeActiveCampaign(KEY, requests_per_second=5, clock=clock)
    with _client(fake) as client:
        statuses = [client.get("/users/me").status_code for _ in range(5)]
        assert statuses == [200] * 5
        refused = client.get("/users/me")
        assert refused.status_code == 429
        assert refused.json() == {"message": "Too Many Requests"}
        assert refused.headers["Retry-After"] == "1"  # ceil(0.2 s), at least 1
        assert refused.headers["RateLimit-Limit"] == "5"
        clock.advance(0.2)  # refills exactly one token
        assert client.get("/users/me").status_code == 200
        assert client.get("/users/me").status_code == 429
        clock.advance(10)  # refills to capacity, not beyond
        assert [client.get("/users/me").status_code for _ in range(6)] == [200] * 5 + [429]
    stats = fake.stats
    assert stats.refused_429 == 3
    assert stats.requests == 14


def test_retry_after_rounds_up_for_slow_rates() -> None:
    clock = VirtualClock()
    fake = FakeActiveCampaign(KEY, requests_per_second=0.25, clock=clock)
    with _client(fake) as client:
        assert client.get("/users/me").status_code == 200  # capacity is at least one token
        first = client.get("/users/me")
        assert first.status_code == 429
        assert first.headers["Retry-After"] == "4"  # one token takes 4 s at 0.25/s
        clock.advance(1.5)
        refused = client.get("/users/me")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"  # 2.5 s left, rounded up


def test_rate_limit_headers_on_success() -> None:
    fake = FakeActiveCampaign(KEY, requests_per_second=5, clock=VirtualClock())
    with _client(fake) as client:
        response = client.get("/users/me")
    assert response.headers["RateLimit-Limit"] == "5"
    assert response.headers["RateLimit-Remaining"] == "4"


def test_unauthenticated_requests_do_not_use_tokens() -> None:
    fake = FakeActiveCampaign(KEY, requests_per_second=1, clock=VirtualClock())
    with _client(fake) as client:
        assert client.get("/users/me", headers={"Api-Token": "bad"}).status_code == 403
        assert client.get("/users/me").status_code == 200


def test_bulk_imports_per_minute_multi_contact() -> None:
    clock = VirtualClock()
    fake = FakeActiveCampaign(KEY, bulk_imports_per_minute=3, clock=clock)
    with _client(fake) as client:
        ok = [client.post("/import/bulk_import", json=_contacts(2, 10 * i)) for i in range(3)]
        assert [r.status_code for r in ok] == [200, 200, 200]
        refused = client.post("/import/bulk_import", json=_contacts(2, 100))
        assert refused.status_code == 400
        assert refused.json() == {
            "success": 0,
            "message": "Rate limit exceeded.",
            "failureReasons": [
                "Up to 100 imports may be requested per minute.Please batch contacts into larger "
                "requests, or retry this request in a minute."
            ],
        }
        clock.advance(20)  # 3/min refills one every 20 s
        assert client.post("/import/bulk_import", json=_contacts(2, 200)).status_code == 200
    stats = fake.stats
    assert stats.refused_bulk_rate == 1
    assert stats.bulk_requests == 4
    assert stats.bulk_contacts == 8
    assert len(fake.batches) == 4


def test_single_contact_bulk_imports_have_their_own_smaller_bucket() -> None:
    clock = VirtualClock()
    fake = FakeActiveCampaign(KEY, bulk_imports_per_minute=100, clock=clock)
    with _client(fake) as client:
        singles = [
            client.post("/import/bulk_import", json=_contacts(1, i)).status_code for i in range(21)
        ]
        assert singles == [200] * 20 + [400]
        # the multi-contact bucket is untouched
        assert client.post("/import/bulk_import", json=_contacts(2, 50)).status_code == 200
        clock.advance(3)  # 20/min -> one token per 3 s
        assert client.post("/import/bulk_import", json=_contacts(1, 99)).status_code == 200
    assert fake.stats.refused_bulk_rate == 1


def test_bulk_import_also_counts_against_requests_per_second() -> None:
    fake = FakeActiveCampaign(KEY, requests_per_second=1, clock=VirtualClock())
    with _client(fake) as client:
        assert client.post("/import/bulk_import", json=_contacts(2)).status_code == 200
        assert client.post("/import/bulk_import", json=_contacts(2, 5)).status_code == 429


@pytest.mark.parametrize("bad", [{"requests_per_second": 0}, {"latency": -1}])
def test_constructor_rejects_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        FakeActiveCampaign(KEY, **bad)  # type: ignore[arg-type]
