"""sample_profiles and the fake's email rule."""

from __future__ import annotations

import datetime
import itertools
import tracemalloc

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acexport.testing import FakeActiveCampaign, VirtualClock, sample_profiles
from acexport.testing._email import is_valid_email

KEYS = {"Email", "FirstName", "LastName", "Phone", "Tier", "Birthday"}


def test_profiles_shape_and_determinism() -> None:
    rows = list(sample_profiles(300, seed=3))
    assert len(rows) == 300
    assert rows == list(sample_profiles(300, seed=3))
    assert rows != list(sample_profiles(300, seed=4))
    for row in rows:
        assert set(row) == KEYS
        assert isinstance(row["Birthday"], datetime.date)
        assert row["Tier"] in {"bronze", "silver", "gold", "platinum"}
        assert is_valid_email(row["Email"])


def test_duplicates_repeat_an_earlier_email_in_another_case() -> None:
    rows = list(sample_profiles(2000, duplicate_fraction=0.2, seed=1))
    seen: set[str] = set()
    seen_exact: set[str] = set()
    duplicates = 0
    for row in rows:
        email = str(row["Email"])
        if email.lower() in seen:
            duplicates += 1
            assert email not in seen_exact  # a different case than the original
        seen.add(email.lower())
        seen_exact.add(email)
    assert 300 < duplicates < 500


def test_no_duplicates_when_fraction_is_zero() -> None:
    emails = [str(r["Email"]).lower() for r in sample_profiles(1000, duplicate_fraction=0)]
    assert len(set(emails)) == 1000


def test_invalid_fraction_gives_emails_the_fake_rejects() -> None:
    rows = list(sample_profiles(1000, duplicate_fraction=0, invalid_fraction=0.1, seed=2))
    invalid = [r["Email"] for r in rows if not is_valid_email(r["Email"])]
    assert 60 < len(invalid) < 140


def test_profiles_are_lazy_and_memory_bounded() -> None:
    tracemalloc.start()
    try:
        for _ in itertools.islice(sample_profiles(10**9, seed=0), 10_000):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n": -1}, "n must"), ({"n": 1, "duplicate_fraction": 2}, "within"),
     ({"n": 1, "duplicate_fraction": 0.6, "invalid_fraction": 0.6}, "exceed")],
)  # fmt: skip
def test_profiles_reject_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sample_profiles(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "email",
    ["a@example.com", "first.last+tag@mail.example.co.uk", "UPPER@EXAMPLE.ORG", "x_y@d-1.io"],
)
def test_valid_emails(email: str) -> None:
    assert is_valid_email(email)


@pytest.mark.parametrize(
    "email",
    ["invalid.email@invalidDomain", "invalid'character@example.com", "a@b.c", "a@.com",
     "a@example.", "a @example.com", "a\t@example.com", "@example.com", "a@@example.com",
     "a@b@example.com", "a@example.c0m", "", None, 5, b"a@example.com"],
)  # fmt: skip
def test_invalid_emails(email: object) -> None:
    assert not is_valid_email(email)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=120),
    seed=st.integers(min_value=0, max_value=10**6),
    duplicate_fraction=st.floats(min_value=0, max_value=0.5),
)
def test_bulk_import_upserts_one_contact_per_distinct_email(
    n: int, seed: int, duplicate_fraction: float
) -> None:
    clock = VirtualClock()
    fake = FakeActiveCampaign("k", clock=clock)
    rows = list(sample_profiles(n, duplicate_fraction=duplicate_fraction, seed=seed))
    contacts = [{"email": r["Email"], "first_name": r["FirstName"]} for r in rows]
    with httpx.Client(
        transport=fake.transport(), base_url="https://a/api/3", headers={"Api-Token": "k"}
    ) as client:
        response = client.post("/import/bulk_import", json={"contacts": contacts})
        assert response.status_code == 200
        clock.advance(10)
        info = client.get("/import/info", params={"batchId": response.json()["batchId"]}).json()
    distinct = {str(r["Email"]).lower() for r in rows}
    assert len(fake.contacts) == len(distinct) == len(info["success"])
    last_first = {str(r["Email"]).lower(): r["FirstName"] for r in rows}
    for contact in fake.contacts:
        assert contact.first_name == last_first[contact.email.lower()]
