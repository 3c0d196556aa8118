"""The Planner: map -> validate -> dedupe -> batch, in examples and in hypothesis properties."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acexport._exceptions import ConfigError
from acexport._exporter._dedupe import SeenEmails
from acexport._exporter._mapping import FieldMapping
from acexport._exporter._pipeline import Batch, PlannedContact, Planner
from acexport._report import RowError

MAPPING = FieldMapping(
    email="Email",
    first_name="FirstName",
    last_name="LastName",
    phone="Phone",
    fields={"TIER": "Tier", 2: "Birthday"},
    tags=("ci-segment", "Zoë"),
)
FIELD_IDS: dict[int | str, int] = {"TIER": 1, 2: 2}


def plan(planner: Planner, profiles: Iterable[object]) -> list[Batch]:
    batches = []
    for index, profile in enumerate(profiles):
        batch = planner.feed(index, profile)
        if batch is not None:
            batches.append(batch)
    last = planner.close()
    if last is not None:
        batches.append(last)
    return batches


def contacts(batches: list[Batch]) -> list[PlannedContact]:
    return [c for b in batches for c in b.contacts]


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# -- the contact's JSON ---------------------------------------------------------------------


def test_contact_json_is_what_json_dumps_gives() -> None:
    planner = Planner(MAPPING, FIELD_IDS, list_id=7)
    profile = {
        "Email": " Jane.Doe@Example.com ",
        "FirstName": ' Jane "JD" ',
        "LastName": "Doe\\Ünï",
        "Phone": 5550100,
        "Tier": "gold\nplus",
        "Birthday": datetime.date(1990, 1, 2),
    }
    [batch] = plan(planner, [profile])
    [contact] = batch.contacts
    assert contact.index == 0
    assert contact.email == "Jane.Doe@Example.com"
    assert (contact.first_name, contact.last_name, contact.phone) == (
        'Jane "JD"',
        "Doe\\Ünï",
        "5550100",
    )
    assert contact.fields == {1: "gold\nplus", 2: "1990-01-02"}
    assert contact.encoded == dumps(
        {
            "email": "Jane.Doe@Example.com",
            "first_name": 'Jane "JD"',
            "last_name": "Doe\\Ünï",
            "phone": "5550100",
            "fields": [{"id": 1, "value": "gold\nplus"}, {"id": 2, "value": "1990-01-02"}],
            "tags": ["ci-segment", "Zoë"],
            "subscribe": [{"listid": 7}],
        }
    )
    assert batch.body() == b'{"contacts":[' + contact.encoded + b"]}"
    assert batch.nbytes == len(batch.body())


def test_absent_values_are_left_out() -> None:
    planner = Planner(MAPPING, FIELD_IDS, list_id=7)
    profile = {"Email": "a@example.com", "FirstName": "  ", "Phone": None, "Tier": float("nan")}
    [contact] = contacts(plan(planner, [profile]))
    assert (contact.first_name, contact.last_name, contact.phone) == (None, None, None)
    assert contact.fields == {}
    assert json.loads(contact.encoded) == {
        "email": "a@example.com",
        "tags": ["ci-segment", "Zoë"],
        "subscribe": [{"listid": 7}],
    }


def test_only_some_fields_present() -> None:
    planner = Planner(MAPPING, FIELD_IDS, list_id=7)
    [contact] = contacts(plan(planner, [{"Email": "a@example.com", "Birthday": "x"}]))
    assert json.loads(contact.encoded)["fields"] == [{"id": 2, "value": "x"}]


def test_no_tags_no_tags_key() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=3)
    [contact] = contacts(plan(planner, [{"Email": "a@example.com"}]))
    assert contact.encoded == b'{"email":"a@example.com","subscribe":[{"listid":3}]}'


def test_exclude_automations_goes_in_each_contact_and_at_the_top() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=3, exclude_automations=True)
    batches = plan(planner, [{"Email": "a@example.com"}, {"Email": "b@example.com"}])
    [batch] = batches
    assert batch.exclude_automations
    body = json.loads(batch.body())
    assert body["exclude_automations"] is True
    assert [c["exclude_automations"] for c in body["contacts"]] == [True, True]
    assert batch.nbytes == len(batch.body())


# -- dedupe ---------------------------------------------------------------------------------


def test_first_occurrence_wins_case_insensitively() -> None:
    planner = Planner(FieldMapping("Email", first_name="n"), {}, list_id=1)
    profiles = [
        {"Email": "Ann@Example.com", "n": "first"},
        {"Email": " ann@example.COM ", "n": "second"},
        {"Email": "bob@example.com", "n": "bob"},
        {"Email": "ANN@EXAMPLE.COM", "n": "third"},
    ]
    planned = contacts(plan(planner, profiles))
    assert [(c.index, c.email, c.first_name) for c in planned] == [
        (0, "Ann@Example.com", "first"),
        (2, "bob@example.com", "bob"),
    ]
    assert (planner.received, planner.duplicates, planner.invalid) == (4, 2, 0)
    assert list(planner.errors) == []
    assert planner.unique == 2


def test_an_invalid_row_does_not_reserve_its_email() -> None:
    planner = Planner(MAPPING, FIELD_IDS, list_id=1)
    profiles = [
        {"Email": "a@example.com", "Tier": b"bytes"},
        {"Email": "A@example.com", "Tier": "gold"},
    ]
    planned = contacts(plan(planner, profiles))
    assert [c.index for c in planned] == [1]
    assert (planner.invalid, planner.duplicates) == (1, 0)


def test_local_parts_differing_only_by_dots_are_different() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=1)
    profiles = [{"Email": "ab@example.com"}, {"Email": "a.b@example.com"}]
    assert len(contacts(plan(planner, profiles))) == 2


# -- invalid rows ---------------------------------------------------------------------------


class Customer:
    def __init__(self, **kw: object) -> None:
        self.__dict__.update(kw)


class Broken:
    Email = "a@example.com"

    @property
    def Tier(self) -> str:
        raise RuntimeError("tier lookup failed")


def email_from(profile: Any) -> object:
    return profile["mail"]


class Unrepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


INVALID: list[tuple[FieldMapping, object, str | None, str]] = [
    (MAPPING, {"FirstName": "x"}, None, "no email: the profile has no key 'Email'"),
    (MAPPING, Customer(name="x"), None, "no email: the Customer profile has no attribute 'Email'"),
    (MAPPING, {"Email": None}, None, "no email"),
    (MAPPING, {"Email": float("nan")}, None, "no email"),  # an empty cell of a DataFrame
    (MAPPING, {"Email": decimal.Decimal("NaN")}, None, "no email"),
    (MAPPING, {"Email": decimal.Decimal("sNaN")}, None, "no email"),
    (MAPPING, {"Email": type("NAType", (), {})()}, None, "no email"),  # pandas' NA, by name
    (MAPPING, {"Email": "   "}, "   ", "no email"),
    (MAPPING, {"Email": 42}, "42", "email is int, not a string"),
    (MAPPING, {"Email": b"a@example.com"}, "b'a@example.com'", "email is bytes, not a string"),
    (
        MAPPING,
        {"Email": " invalid.email@invalidDomain"},
        " invalid.email@invalidDomain",
        "no top-level domain",
    ),
    (MAPPING, {"Email": "it's@example.com"}, "it's@example.com", "refuses"),
    (
        FieldMapping(email_from),
        {"Email": "a@example.com"},
        None,
        "reading <function email_from> for email raised KeyError: 'mail'",
    ),
    (
        MAPPING,
        Broken(),
        "a@example.com",
        "reading 'Tier' for custom field 'TIER' raised RuntimeError: tier lookup failed",
    ),
    (
        MAPPING,
        {"Email": "a@example.com", "Tier": b"x"},
        "a@example.com",
        "custom field 'TIER' ('Tier'): value of type bytes cannot be sent; decode it first",
    ),
    (
        MAPPING,
        {"Email": "a@example.com", "Birthday": {"y": 1990}},
        "a@example.com",
        "custom field 2 ('Birthday'): value of type dict cannot be sent",
    ),
    (
        MAPPING,
        {"Email": "a@example.com", "FirstName": "x\x00y"},
        "a@example.com",
        "first_name ('FirstName'): contains control characters",
    ),
    (
        MAPPING,
        {"Email": "a@example.com", "Phone": "\ud800"},
        "a@example.com",
        "phone ('Phone'): contains characters that cannot be encoded as UTF-8",
    ),
    (
        MAPPING,
        {"Email": "a@example.com", "LastName": float("inf")},
        "a@example.com",
        "last_name ('LastName'): inf cannot be sent",
    ),
    (
        MAPPING,
        {"Email": "a@example.com", "Tier": Unrepr()},
        "a@example.com",
        "value of type Unrepr cannot be sent",
    ),
    (MAPPING, {"Email": Unrepr()}, "<Unrepr object>", "email is Unrepr, not a string"),
]


@pytest.mark.parametrize(("mapping", "profile", "email", "reason"), INVALID)
def test_invalid_rows(
    mapping: FieldMapping, profile: object, email: str | None, reason: str
) -> None:
    planner = Planner(mapping, FIELD_IDS if mapping.fields else {}, list_id=1)
    assert plan(planner, [profile]) == []
    assert (planner.received, planner.invalid, planner.duplicates) == (1, 1, 0)
    [error] = planner.errors
    assert (error.index, error.email, error.kind) == (0, email, "invalid")
    assert reason in error.reason


def test_row_error_email_is_cut_to_254_characters() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=1)
    plan(planner, [{"Email": ["x" * 1000]}, {"Email": "y" * 1000}])
    assert [e.email for e in planner.errors] == [("['" + "x" * 1000)[:254], "y" * 254]
    assert "1000 characters, over the limit of 254" in planner.errors[1].reason


def test_exception_messages_are_cut() -> None:
    def boom(_: object) -> object:
        raise ValueError("z" * 5000)

    planner = Planner(FieldMapping("Email", phone=boom), {}, list_id=1)
    plan(planner, [{"Email": "a@example.com"}])
    [error] = planner.errors
    assert len(error.reason) < 400
    assert error.reason.endswith("...")


def test_base_exceptions_are_not_swallowed() -> None:
    def interrupt(_: object) -> object:
        raise KeyboardInterrupt

    planner = Planner(FieldMapping("Email", phone=interrupt), {}, list_id=1)
    with pytest.raises(KeyboardInterrupt):
        planner.feed(0, {"Email": "a@example.com"})


def test_errors_keep_feed_order_and_given_indexes() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=1)
    for index, email in [(10, "bad"), (11, "ok@example.com"), (12, None), (13, "ok@example.com")]:
        planner.feed(index, {"Email": email})
    assert [(e.index, e.email) for e in planner.errors] == [(10, "bad"), (12, None)]
    assert all(isinstance(e, RowError) for e in planner.errors)
    assert (planner.received, planner.invalid, planner.duplicates) == (4, 2, 1)


# -- profile kinds --------------------------------------------------------------------------


class MappingProfile(Mapping[str, object]):
    def __init__(self, data: dict[str, object]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclasses.dataclass
class DataProfile:
    Email: str
    FirstName: str
    Tier: str


@attrs.frozen
class AttrsProfile:
    Email: str
    FirstName: str
    Tier: str


class TupleProfile(NamedTuple):
    Email: str
    FirstName: str
    Tier: str


def test_every_kind_of_profile() -> None:
    values = {"Email": "a@example.com", "FirstName": "Ann", "Tier": "gold"}
    profiles: list[object] = [
        dict(values),
        MappingProfile(dict(values)),
        DataProfile(**values),
        AttrsProfile(**values),
        TupleProfile(**values),
        Customer(**values),
    ]
    for profile in profiles:
        planner = Planner(MAPPING, FIELD_IDS, list_id=1)
        [contact] = contacts(plan(planner, [profile]))
        assert (contact.email, contact.first_name, contact.fields) == (
            "a@example.com",
            "Ann",
            {1: "gold"},
        ), profile


def test_callable_sources() -> None:
    mapping = FieldMapping(
        email=lambda p: p["contact"]["email"],
        first_name=lambda p: p["name"].split()[0],
        fields={"TIER": lambda p: p["tiers"]},
    )
    planner = Planner(mapping, {"TIER": 9}, list_id=1)
    profile = {"contact": {"email": "a@example.com"}, "name": "Ann Lee", "tiers": {"b", "a"}}
    [contact] = contacts(plan(planner, [profile]))
    assert (contact.first_name, contact.fields) == ("Ann", {9: "||a||b||"})


# -- batching -------------------------------------------------------------------------------


def emails(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"Email": f"user{i}@example.com"} for i in range(start, start + n)]


def test_a_full_batch_is_returned_by_the_feed_that_fills_it() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=1, batch_size=3)
    results = [planner.feed(i, p) for i, p in enumerate(emails(7))]
    assert [r is not None for r in results] == [False, False, True, False, False, True, False]
    assert [len(r) for r in results if r is not None] == [3, 3]
    last = planner.close()
    assert last is not None
    assert [c.index for c in last] == [6]
    assert planner.close() is None


def test_default_batch_is_250_contacts() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=1)
    batches = plan(planner, emails(600))
    assert [len(b) for b in batches] == [250, 250, 100]
    assert all(b.nbytes == len(b.body()) for b in batches)


def test_batch_size_one() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=1, batch_size=1)
    batches = plan(planner, emails(3))
    assert [[c.index for c in b] for b in batches] == [[0], [1], [2]]


def test_feeding_goes_on_after_close() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=1)
    first = plan(planner, emails(2))
    second = plan(planner, emails(2, start=1))  # user1 again: a duplicate
    assert [len(b) for b in first + second] == [2, 1]
    assert planner.duplicates == 1


def test_byte_limit_splits_batches() -> None:
    contact_len = len(b'{"email":"user0@example.com","subscribe":[{"listid":1}]}')
    # room for exactly three contacts: envelope 15 bytes, two commas
    limit = 15 + 3 * contact_len + 2
    planner = Planner(FieldMapping("Email"), {}, list_id=1, max_batch_bytes=limit)
    batches = plan(planner, emails(8))
    assert [len(b) for b in batches] == [3, 3, 2]
    assert [b.nbytes for b in batches[:2]] == [limit, limit]
    assert all(len(b.body()) == b.nbytes <= limit for b in batches)


def test_a_contact_too_large_for_any_batch_is_invalid() -> None:
    planner = Planner(FieldMapping("Email", first_name="Name"), {}, list_id=1)
    profiles = [
        {"Email": "a@example.com"},
        {"Email": "big@example.com", "Name": "x" * 400_000},
        {"Email": "c@example.com", "Name": "x" * 399_900},  # fits alone only
    ]
    batches = plan(planner, profiles)
    assert [[c.index for c in b] for b in batches] == [[0], [2]]
    [error] = planner.errors
    assert error.index == 1
    assert error.email == "big@example.com"
    size = len(
        dumps(
            {"email": "big@example.com", "first_name": "x" * 400_000, "subscribe": [{"listid": 1}]}
        )
    )
    assert error.reason == (
        f"contact is {size:,} bytes of JSON, over the bulk import limit of 399,999 bytes per request"
    )
    assert batches[1].nbytes <= 399_999


def test_utf8_bytes_are_counted_not_characters() -> None:
    planner = Planner(FieldMapping("Email", first_name="Name"), {}, list_id=1)
    profile = {"Email": "a@example.com", "Name": "€" * 133_320}  # 3 bytes each
    assert plan(planner, [profile]) == []
    assert "over the bulk import limit" in planner.errors[0].reason


# -- Batch ----------------------------------------------------------------------------------


def test_batch_subset_and_constructor() -> None:
    planner = Planner(MAPPING, FIELD_IDS, list_id=1, exclude_automations=True)
    [batch] = plan(planner, [{"Email": f"u{i}@example.com", "Tier": "é" * i} for i in range(5)])
    kept = [c for c in batch if c.index % 2 == 0]
    sub = batch.subset(kept)
    assert [c.index for c in sub] == [0, 2, 4]
    assert sub.exclude_automations
    assert sub.nbytes == len(sub.body())
    assert json.loads(sub.body())["contacts"] == [json.loads(c.encoded) for c in kept]
    again = Batch(batch.contacts, exclude_automations=True)
    assert again.body() == batch.body()
    assert again.nbytes == batch.nbytes
    empty = Batch([])
    assert empty.body() == b'{"contacts":[]}'
    assert empty.nbytes == 15
    assert "3 contacts, indexes 0..4" in repr(sub)


def test_planned_contact_repr_and_eq() -> None:
    planner = Planner(FieldMapping("Email"), {}, list_id=1)
    [a] = contacts(plan(planner, emails(1)))
    assert repr(a).startswith("PlannedContact(index=0, email='user0@example.com'")
    same = PlannedContact(0, a.email, None, None, None, {}, a.encoded)
    assert a == same
    assert a != PlannedContact(1, a.email, None, None, None, {}, a.encoded)
    assert a != "x"


# -- configuration --------------------------------------------------------------------------

BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"batch_size": 0}, "batch_size must be between 1 and 250, not 0"),
    ({"batch_size": 251}, "batch_size must be between 1 and 250, not 251"),
    ({"batch_size": True}, "batch_size must be an int, not bool"),
    ({"batch_size": "10"}, "batch_size must be an int, not str"),
    ({"max_batch_bytes": 400_000}, "max_batch_bytes must be between 128 and 399,999"),
    ({"max_batch_bytes": 100}, "max_batch_bytes must be between 128 and 399,999, not 100"),
    ({"list_id": 0}, "list_id must be at least 1, not 0"),
    ({"list_id": True}, "list_id must be an int"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
def test_bad_options(options: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {"list_id": 1, **options}
    with pytest.raises(ConfigError) as info:
        Planner(FieldMapping("Email"), {}, **kwargs)
    assert message in str(info.value)


def test_unresolved_field_key() -> None:
    with pytest.raises(ConfigError, match="resolve_fields"):
        Planner(MAPPING, {"TIER": 1}, list_id=1)


def test_two_keys_one_field() -> None:
    with pytest.raises(ConfigError, match="both name field 1"):
        Planner(MAPPING, {"TIER": 1, 2: 1}, list_id=1)


def test_bad_field_id() -> None:
    with pytest.raises(ConfigError, match=r"field_ids\['TIER'\] must be an int"):
        Planner(MAPPING, {"TIER": "1", 2: 2}, list_id=1)  # type: ignore[dict-item]


def test_mapping_must_be_a_field_mapping() -> None:
    with pytest.raises(ConfigError, match="FieldMapping"):
        Planner({"email": "Email"}, {}, list_id=1)  # type: ignore[arg-type]


# -- properties -----------------------------------------------------------------------------

EMAIL_POOL = [
    "a@example.com",
    "A@EXAMPLE.COM",
    " a@example.com ",
    "b@example.org",
    "B@example.org",
    "c.d@sub.example.co.uk",
    "invalid.email@invalidDomain",
    "invalid'character@example.com",
    "has space@example.com",
    "ünï@example.com",
    "",
    "x@y.z",
]

scalars = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=10),
    st.dates(),
    st.datetimes(),
    st.decimals(),
)
huge_strings = st.builds(lambda c, n: c * n, st.characters(), st.integers(1_000, 60_000))
values = st.one_of(
    scalars,
    huge_strings,
    st.lists(scalars, max_size=4),
    st.frozensets(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
email_values = st.one_of(
    st.sampled_from(EMAIL_POOL),
    st.emails(),
    st.text(max_size=20),
    st.integers(),
    st.none(),
    st.builds(lambda n: "a" * n + "@example.com", st.integers(60, 300)),
)
friendly = st.fixed_dictionaries(
    {
        "Email": st.one_of(
            st.sampled_from(EMAIL_POOL), st.builds("user{}@example.com".format, st.integers(0, 40))
        )
    },
    optional={
        "FirstName": st.one_of(st.text(max_size=30), huge_strings),
        "Phone": st.one_of(st.integers(), st.text(max_size=15)),
        "Tier": st.one_of(st.text(max_size=30), st.lists(st.text(max_size=8), max_size=3)),
        "Birthday": st.one_of(st.dates(), st.none(), st.floats()),
    },
)
profiles = st.lists(
    st.one_of(
        friendly,
        friendly,
        st.fixed_dictionaries(
            {"Email": email_values},
            optional={"FirstName": values, "Phone": values, "Tier": values, "Birthday": values},
        ),
        st.dictionaries(
            st.sampled_from(["Email", "FirstName", "Phone", "Tier", "Other"]),
            st.one_of(email_values, values),
            max_size=5,
        ),
        st.builds(lambda kw: Customer(**kw), st.fixed_dictionaries({"Email": email_values})),
        st.one_of(st.none(), st.integers()),
    ),
    max_size=80,
)
#: Mostly exportable rows, many of them, for the batching and dedupe properties.
many_friendly = st.lists(friendly, min_size=20, max_size=300)

planner_options = {
    "batch_size": st.one_of(st.integers(1, 8), st.integers(1, 250)),
    "max_batch_bytes": st.one_of(st.integers(128, 1_500), st.just(399_999)),
    "exclude_automations": st.booleans(),
}


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(profiles=st.one_of(profiles, many_friendly), **planner_options)
def test_planner_properties(
    profiles: list[object], batch_size: int, max_batch_bytes: int, exclude_automations: bool
) -> None:
    planner = Planner(
        FieldMapping(
            "Email",
            first_name="FirstName",
            phone="Phone",
            fields={"TIER": "Tier", "BDAY": "Birthday"},
            tags=("seg",),
        ),
        {"TIER": 11, "BDAY": 12},
        list_id=5,
        batch_size=batch_size,
        max_batch_bytes=max_batch_bytes,
        exclude_automations=exclude_automations,
    )
    batches = plan(planner, profiles)
    planned = contacts(batches)

    # order kept, across batches
    indexes = [c.index for c in planned]
    assert indexes == sorted(set(indexes))

    # no email twice, case-insensitively
    lowered = [c.email.lower() for c in planned]
    assert len(lowered) == len(set(lowered))
    assert planner.unique == len(planned)

    # batch limits and shape
    for batch in batches:
        assert 1 <= len(batch) <= batch_size <= 250
        body = batch.body()
        assert len(body) == batch.nbytes <= max_batch_bytes
        decoded = json.loads(body)
        assert set(decoded) == (
            {"contacts", "exclude_automations"} if exclude_automations else {"contacts"}
        )
        assert len(decoded["contacts"]) == len(batch)
        for contact, obj in zip(batch.contacts, decoded["contacts"], strict=True):
            assert obj["email"] == contact.email
            assert obj["subscribe"] == [{"listid": 5}]
            assert obj["tags"] == ["seg"]
            assert obj.get("exclude_automations", False) is exclude_automations
            assert obj.get("first_name") == contact.first_name
            assert obj.get("phone") == contact.phone
            assert "last_name" not in obj
            assert {f["id"]: f["value"] for f in obj.get("fields", [])} == contact.fields
            assert set(contact.fields) <= {11, 12}
            assert all(isinstance(v, str) and v for v in contact.fields.values())
            assert contact.encoded == dumps(obj)

    # counts add up, and every invalid row has its RowError
    assert planner.received == len(profiles)
    assert planner.received == len(planned) + planner.invalid + planner.duplicates
    assert len(planner.errors) == planner.invalid
    error_indexes = [e.index for e in planner.errors]
    assert error_indexes == sorted(set(error_indexes))
    assert not set(error_indexes) & set(indexes)
    for error in planner.errors:
        assert error.kind == "invalid"
        assert error.reason
        assert error.email is None or len(error.email) <= 254


# -- the dedupe store -----------------------------------------------------------------------


def test_seen_emails_counts_each_address_once() -> None:
    seen = SeenEmails()
    addresses = [f"user{i}@example.com" for i in range(20_000)]
    assert all(seen.add(a) for a in addresses)
    assert not any(seen.add(a.upper()) for a in addresses)
    assert len(seen) == seen.count == 20_000


def test_seen_emails_ignores_a_match_straddling_two_digests() -> None:
    seen = SeenEmails()
    digest = hashlib.blake2b(b"x@example.com", digest_size=16).digest()
    i = (digest[0] << 7) | (digest[1] >> 1)
    seen._buckets[i] = bytearray(b"\0" * 8 + digest + b"\0" * 8)  # two fake digests
    assert seen.add("X@example.com")
    assert not seen.add("x@EXAMPLE.com")


def test_a_key_planned_with_another_email_makes_the_row_invalid() -> None:
    planner = Planner(FieldMapping(email="e", key="k"), {}, list_id=1, one_email_per_key=True)
    rows: list[dict[str, Any]] = [
        {"e": "a@example.com", "k": "C1"},
        {"e": "b@example.com", "k": "C1"},  # the same customer with another address
        {"e": "A@example.com", "k": "C1"},  # the same address: a duplicate
        {"e": "c@example.com", "k": "c1"},  # keys are compared exactly
        {"e": "a@example.com", "k": "C2"},  # a planned address under another key: a duplicate
        {"e": "d@example.com"},  # no key
        {"e": "e@example.com", "k": "C1"},
    ]
    for i, row in enumerate(rows):
        assert planner.feed(i, row) is None
    batch = planner.close()
    assert batch is not None
    assert [(c.email, c.key) for c in batch] == [
        ("a@example.com", "C1"),
        ("c@example.com", "c1"),
        ("d@example.com", None),
    ]
    assert (planner.received, planner.invalid, planner.duplicates) == (7, 2, 2)
    assert [(e.index, e.email, e.reason) for e in planner.errors] == [
        (1, "b@example.com", "key 'C1' was already read in this export with another email"),
        (6, "e@example.com", "key 'C1' was already read in this export with another email"),
    ]
    assert planner.planned("b@example.com")  # refused for its key, not for its address


def test_without_one_email_per_key_a_key_is_not_deduplicated() -> None:
    # Without a state a key changes no email: two addresses under one key are two contacts.
    planner = Planner(FieldMapping(email="e", key="k"), {}, list_id=1)
    for i, email in enumerate(["a@example.com", "b@example.com"]):
        assert planner.feed(i, {"e": email, "k": "C1"}) is None
    batch = planner.close()
    assert batch is not None
    assert [c.email for c in batch] == ["a@example.com", "b@example.com"]
    assert planner.invalid == 0


def test_a_key_none_of_the_profiles_had_is_a_note() -> None:
    mapping = FieldMapping(
        email="e",
        first_name="Firstname",  # misspelt: the profiles have "first"
        last_name="last",
        phone=lambda p: p.get("phone"),  # a callable is never "absent"
        fields={"TIER": "tier", "CITY": "city"},
    )
    planner = Planner(mapping, {"TIER": 1, "CITY": 2}, list_id=1)
    rows: list[dict[str, Any]] = [
        {"e": "bad", "Firstname": "X"},  # refused for its email: its values are never read
        {"e": "a@example.com", "first": "A", "last": "L", "tier": "gold"},
        {"e": "b@example.com", "first": "B", "last": "\x00", "city": "Oslo"},  # cut at last_name
        {"e": "c@example.com", "first": "C", "tier": "gold"},
    ]
    for i, row in enumerate(rows):
        planner.feed(i, row)
    # Firstname: none of the 3 rows read had it. last: 2 did. tier: 2 of the 2 rows that
    # reached it (row 2 stopped at last_name) did. city: none of the 2 rows that reached it.
    assert planner.never_found() == [
        ("Firstname", "first_name", 3),
        ("city", "custom field 'CITY'", 2),
    ]
