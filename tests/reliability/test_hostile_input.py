"""Hostile profiles through a real export (dry_run=False, MockTransport, virtual clock).

Whatever a profile holds, it becomes a RowError with a reason (or is exported), or the export
ends with a clean ExportError whose partial report adds up: never an unhandled crash, never a
silent drop (``received`` is the number of profiles read).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acexport import ExportError, ExportProgress, ExportReport, FieldMapping, SegmentExporter
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import KEY, make_client

MAPPING = FieldMapping(
    email="Email", first_name="Name", phone="Phone", fields={"TIER": "Tier"}, tags=("seg",)
)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _fake() -> tuple[FakeActiveCampaign, VirtualClock]:
    clock = VirtualClock()
    fake = FakeActiveCampaign(
        api_key=KEY, requests_per_second=5, bulk_imports_per_minute=100, clock=clock
    )
    fake.add_list("Newsletter")
    fake.add_field("Tier", perstag="TIER")
    return fake, clock


def adds_up(report: ExportReport, read: int) -> None:
    assert report.received == read
    assert report.received == (
        report.exported + report.duplicates + report.invalid + report.rejected + report.failed
    )
    assert len(report.errors) == report.invalid + report.rejected + report.failed
    assert all(isinstance(e.reason, str) and e.reason.strip() for e in report.errors)
    assert KEY not in repr(report)


def export(
    profiles: Any, **kwargs: Any
) -> tuple[ExportReport, ExportError | None, FakeActiveCampaign]:
    fake, clock = _fake()
    client = make_client(fake, clock)
    try:
        return SegmentExporter(client, 1, MAPPING, **kwargs).export(profiles), None, fake
    except ExportError as exc:
        error = exc
    finally:
        client.close()
    assert KEY not in str(error)
    assert KEY not in repr(error)
    return error.report, error, fake


# --- strategies ----------------------------------------------------------------------------------

weird_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), max_size=10),
    st.sampled_from(
        [
            "\u202eevil\u202c",  # right-to-left override
            "\u05e9\u05dc\u05d5\u05dd",  # Hebrew
            "e\u0301\u0301\u0301\u0301",  # stacked combining marks
            "\x00\x1b[31m\r\n",
            "\ud800",  # lone surrogate
            "x" * 300,
        ]
    ),
)
value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.binary(max_size=20),
        weird_text,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
emails = st.one_of(
    st.emails(),
    st.sampled_from(
        [
            "josé@exämple.com",  # internationalised
            "用户@例子.广告",
            "user@xn--bcher-kva.example",
            " Upper@Example.COM ",
            "a@b",
            "@example.com",
            "a@@example.com",
            "a\u202e@example.com",
            "a\x00@example.com",
        ]
    ),
    value,
)
profile = st.dictionaries(
    st.sampled_from(["Email", "Name", "Phone", "Tier", "Other"]),
    value,
    max_size=5,
).flatmap(lambda d: st.one_of(st.just(d), emails.map(lambda e: {**d, "Email": e})))


@SETTINGS
@given(st.lists(profile, min_size=1, max_size=30))
def test_generated_profiles_are_exported_or_explained(profiles: list[dict[str, Any]]) -> None:
    report, error, fake = export(profiles)
    assert error is None
    adds_up(report, len(profiles))
    assert len(fake.contacts) == report.exported  # nothing in the fake the report does not count


@SETTINGS
@given(st.lists(st.integers(min_value=1_000, max_value=1_000_000), min_size=1, max_size=3))
def test_very_long_strings(sizes: list[int]) -> None:
    rows = [
        {"Email": f"long{i}@example.com", "Name": "n" * n, "Tier": "é" * n}
        for i, n in enumerate(sizes)
    ]
    rows.append({"Email": "x" * sizes[0] + "@example.com", "Name": "ok"})
    report, error, _ = export(rows)
    assert error is None
    adds_up(report, len(rows))
    assert report.invalid >= 1  # the giant address at least


# --- objects that fight back ----------------------------------------------------------------------


class Exploding:
    def __init__(self, i: int) -> None:
        self.Email = f"obj{i}@example.com"

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"attribute {name} is on fire")

    def __repr__(self) -> str:
        raise RuntimeError("repr is broken too")


class BadMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        raise ValueError("database cursor closed")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        return 1


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


def test_objects_whose_access_raises_become_row_errors() -> None:
    rows: list[Any] = [
        Exploding(0),
        BadMapping(),
        {"Email": BadStr(), "Name": "x"},
        {"Email": "ok1@example.com", "Name": BadStr(), "Tier": BadStr()},
        {"Email": "ok2@example.com", "Tier": {"deep": [1, {2: 3}]}},
        object(),
        None,
        42,
        b"bytes@example.com",
        *({"Email": f"fine{i}@example.com", "Name": "F"} for i in range(12)),
    ]
    report, error, fake = export(rows)
    assert error is None
    adds_up(report, len(rows))
    assert report.exported >= 12
    assert fake.contact_by_email("fine11@example.com") is not None
    bad_indexes = {e.index for e in report.errors}
    assert {1, 2, 5, 6, 7, 8} <= bad_indexes


@pytest.mark.parametrize("fail_at", [3, 260, 777])
def test_an_iterable_that_raises_half_way(fail_at: int) -> None:
    def rows() -> Iterator[dict[str, Any]]:
        for i in range(fail_at):
            yield {"Email": f"h{i}@example.com", "Name": "\u202e" * (i % 3)}
        raise ConnectionResetError("the warehouse went away")

    report, error, fake = export(rows())
    assert error is not None
    assert "warehouse" in str(error)
    adds_up(report, fail_at)
    assert report.exported == len(fake.contacts)
    assert all(e.kind == "failed" for e in report.errors)


def test_a_generator_that_never_ends_is_stopped_by_cancel() -> None:
    cancel = threading.Event()

    def on_progress(p: ExportProgress) -> None:
        if p.received >= 1000:
            cancel.set()

    def forever() -> Iterator[dict[str, Any]]:
        i = 0
        while i < 10_000_000:  # bounded in principle; the cancel event stops it at ~1000
            yield {"Email": f"g{i}@example.com", "Name": None, "Tier": i}
            i += 1

    gen = forever()
    report, error, _ = export(gen, on_progress=on_progress, cancel=cancel)
    assert error is None
    assert report.cancelled
    adds_up(report, report.received)
    assert 1000 <= report.received < 2000
