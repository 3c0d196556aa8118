"""FieldMapping: construction, sources of every kind, and custom field resolution."""

from __future__ import annotations

import collections
import dataclasses
import operator
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import attrs
import pytest

from acexport._exceptions import ConfigError
from acexport._exporter._mapping import MISSING, FieldMapping, resolve_fields
from acexport._exporter._pipeline import Planner
from acexport._models import CustomField

# -- construction ---------------------------------------------------------------------------


def get_email(profile: Any) -> object:
    return profile["mail"]


def test_full_mapping() -> None:
    mapping = FieldMapping(
        email="Email",
        first_name="FirstName",
        last_name="LastName",
        phone="Phone",
        fields={"LOYALTY_TIER": "Tier", 2: "Birthday", "7": get_email},
        tags=("ci-segment", " vip "),
    )
    assert mapping.email == "Email"
    assert mapping.fields == {"LOYALTY_TIER": "Tier", 2: "Birthday", "7": get_email}
    assert mapping.tags == ("ci-segment", "vip")


def test_defaults() -> None:
    mapping = FieldMapping("Email")
    assert (mapping.first_name, mapping.last_name, mapping.phone) == (None, None, None)
    assert mapping.fields == {}
    assert mapping.tags == ()


def test_repr_is_readable() -> None:
    mapping = FieldMapping(
        email=get_email,
        first_name=lambda p: p.name,
        phone=operator.itemgetter("tel"),
        fields={"TIER": "Tier"},
        tags=["a"],
    )
    assert repr(mapping) == (
        "FieldMapping(email=<function get_email>, "
        "first_name=<function test_repr_is_readable.<locals>.<lambda>>, last_name=None, "
        "phone=operator.itemgetter('tel'), fields={'TIER': 'Tier'}, tags=('a',), key=None)"
    )


def test_tags_are_stripped_and_repeats_dropped_case_insensitively() -> None:
    assert FieldMapping("e", tags=["VIP", "vip ", "Other", "ViP"]).tags == ("VIP", "Other")


def test_fields_are_copied() -> None:
    fields: dict[int | str, Any] = {"A": "a"}
    mapping = FieldMapping("e", fields=fields)
    fields["B"] = "b"
    assert mapping.fields == {"A": "a"}


def test_equal_mappings_hash_equal() -> None:
    a = FieldMapping("e", fields={"A": "a"}, tags=("t",))
    b = FieldMapping("e", fields={"A": "a"}, tags=("t",))
    assert a == b
    assert hash(a) == hash(b)
    assert a != FieldMapping("e", fields={"A": "b"}, tags=("t",))


def test_frozen() -> None:
    mapping = FieldMapping("e")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        mapping.email = "x"  # type: ignore[misc]


BAD_MAPPINGS: list[tuple[dict[str, Any], str]] = [
    ({"email": None}, "email is required"),
    ({"email": ""}, "email is an empty string"),
    ({"email": 42}, "email must be a key or attribute name (str) or a callable"),
    ({"email": b"Email"}, "not bytes"),
    ({"email": "e", "first_name": 3}, "first_name must be a key"),
    ({"email": "e", "last_name": ""}, "last_name is an empty string"),
    ({"email": "e", "phone": ["Phone"]}, "phone must be a key"),
    ({"email": "e", "fields": {"TIER": 3}}, "fields['TIER'] must be a key"),
    ({"email": "e", "fields": {"TIER": None}}, "fields['TIER'] is required"),
    ({"email": "e", "fields": {True: "a"}}, "custom field key True"),
    ({"email": "e", "fields": {1.5: "a"}}, "custom field key 1.5"),
    ({"email": "e", "fields": {0: "a"}}, "custom field id 0 must be positive"),
    ({"email": "e", "fields": {"  ": "a"}}, "custom field key is an empty string"),
    ({"email": "e", "fields": [("A", "a")]}, "fields must be a mapping"),
    ({"email": "e", "tags": "vip"}, "not a single string; write tags=('vip',)"),
    ({"email": "e", "tags": ("",)}, "a tag name is empty"),
    ({"email": "e", "tags": ("ok", "  ")}, "a tag name is empty"),
    ({"email": "e", "tags": (1,)}, "tag names must be str, not int"),
    ({"email": "e", "tags": 5}, "tags must be a sequence of tag names, not int"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_MAPPINGS)
def test_invalid_mapping_raises_config_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        FieldMapping(**kwargs)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


# -- sources --------------------------------------------------------------------------------


class Profile(Mapping[str, object]):
    """A Mapping that is not a dict."""

    def __init__(self, **data: object) -> None:
        self._data = data

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclasses.dataclass
class DataProfile:
    email: str
    tier: str | None = None


@attrs.define
class AttrsProfile:
    email: str
    tier: str | None = None


class TupleProfile(NamedTuple):
    email: str
    tier: str | None = None


class PlainProfile:
    def __init__(self, email: str) -> None:
        self.email = email

    @property
    def tier(self) -> str:
        raise RuntimeError("tier lookup failed")


class SlotsProfile:
    __slots__ = ("email",)

    def __init__(self, email: str) -> None:
        self.email = email


PROFILES: list[tuple[str, object]] = [
    ("dict", {"email": "a@example.com"}),
    ("Mapping", Profile(email="a@example.com")),
    ("OrderedDict", collections.OrderedDict(email="a@example.com")),
    ("dataclass", DataProfile("a@example.com")),
    ("attrs", AttrsProfile("a@example.com")),
    ("namedtuple", TupleProfile("a@example.com")),
    ("plain object", PlainProfile("a@example.com")),
    ("slots object", SlotsProfile("a@example.com")),
]


def _read(mapping: FieldMapping, profile: object) -> tuple[str | None, str]:
    """(first_name planned, or None; the reason the row was refused, or "") through a Planner,
    the one place sources are read."""
    planner = Planner(mapping, {}, list_id=1)
    planner.feed(0, profile)
    batch = planner.close()
    if batch is not None:
        return batch.contacts[0].first_name, ""
    return None, planner.errors[0].reason


@pytest.mark.parametrize(("kind", "profile"), PROFILES)
def test_str_source_reads_key_or_attribute(kind: str, profile: object) -> None:
    assert _read(FieldMapping(email="email", first_name="email"), profile) == (
        "a@example.com",
        "",
    )
    # an absent key or attribute is no value (the row still goes, without a first name)
    assert _read(FieldMapping(email="email", first_name="absent"), profile) == (None, "")


@pytest.mark.parametrize(("kind", "profile"), PROFILES)
def test_callable_source_gets_the_profile(kind: str, profile: object) -> None:
    seen: list[object] = []

    def name(p: object) -> str:
        seen.append(p)
        return "Ada"

    assert _read(FieldMapping(email="email", first_name=name), profile) == ("Ada", "")
    assert seen == [profile]


def test_mapping_profile_uses_keys_not_attributes() -> None:
    # "items" is an attribute of every Mapping, not a key of this one.
    first, reason = _read(FieldMapping(email="items"), {"email": "x"})
    assert first is None
    assert reason == "no email: the profile has no key 'items'"


def test_raising_sources_become_invalid_rows() -> None:
    first, reason = _read(
        FieldMapping(email="email", first_name="tier"), PlainProfile("a@example.com")
    )
    assert first is None
    assert "RuntimeError: tier lookup failed" in reason
    first, reason = _read(FieldMapping(email=get_email), {"email": "x"})
    assert first is None
    assert "KeyError" in reason


def test_missing_attribute_of_a_slots_object_is_missing() -> None:
    profile = SlotsProfile.__new__(SlotsProfile)
    first, reason = _read(FieldMapping(email="email"), profile)
    assert first is None
    assert reason.startswith("no email: the SlotsProfile profile has no attribute 'email'")


def test_read_source_missing_repr() -> None:
    assert repr(MISSING) == "MISSING"


# -- resolve_fields -------------------------------------------------------------------------

FIELDS = [
    CustomField(id=1, title="Loyalty tier", perstag="LOYALTY_TIER"),
    CustomField(id=2, title="Birthday", type="date", perstag="BIRTHDAY"),
    CustomField(id=3, title="Points", perstag="POINTS"),
    CustomField(id=4, title="Region", perstag="AREA"),
    CustomField(id=5, title="Region", perstag="REGION_2"),
    CustomField(id=6, title="tier", perstag="TIER"),
    CustomField(id=7, title="Notes", perstag=""),
]


RESOLVED: list[tuple[int | str, int]] = [
    (1, 1),
    ("2", 2),
    (" 3 ", 3),
    ("LOYALTY_TIER", 1),
    ("loyalty_tier", 1),
    ("%LOYALTY_TIER%", 1),
    ("Loyalty Tier", 1),
    ("birthday", 2),
    ("BIRTHDAY", 2),
    ("area", 4),
    ("REGION_2", 5),
    ("notes", 7),
    # perstag first: "tier" is field 6's perstag and title, and no other field's perstag
    ("Tier", 6),
]


@pytest.mark.parametrize(("key", "field_id"), RESOLVED)
def test_resolve_fields(key: int | str, field_id: int) -> None:
    mapping = FieldMapping("e", fields={key: "x"})
    assert resolve_fields(mapping, FIELDS) == {key: field_id}


def test_perstag_wins_over_title() -> None:
    fields = [
        CustomField(id=10, title="Score", perstag="RANK"),
        CustomField(id=11, title="Rank", perstag="SCORE_2"),
    ]
    mapping = FieldMapping("e", fields={"rank": "x"})
    assert resolve_fields(mapping, fields) == {"rank": 10}


def test_resolve_keeps_every_key() -> None:
    mapping = FieldMapping("e", fields={"LOYALTY_TIER": "a", 2: "b", "points": "c"})
    assert resolve_fields(mapping, FIELDS) == {"LOYALTY_TIER": 1, 2: 2, "points": 3}


def test_no_fields_resolve_to_nothing() -> None:
    assert resolve_fields(FieldMapping("e"), []) == {}


RESOLVE_ERRORS: list[tuple[dict[int | str, Any], list[CustomField], list[str]]] = [
    (
        {99: "x"},
        FIELDS,
        ["custom field id 99 does not exist", "LOYALTY_TIER ('Loyalty tier', id 1)"],
    ),
    ({"99": "x"}, FIELDS, ["custom field id '99' does not exist"]),
    ({"NOPE": "x"}, FIELDS, ["no custom field has the perstag or title 'NOPE'", "BIRTHDAY"]),
    ({"NOPE": "x"}, [], ["the account has no custom fields"]),
    ({"region": "x"}, FIELDS, ["'region' is ambiguous: 2 fields match", "id 4", "id 5"]),
    ({"LOYALTY_TIER": "a", 1: "b"}, FIELDS, ["'LOYALTY_TIER' and 1 both name field 1"]),
]


@pytest.mark.parametrize(("fields", "available", "messages"), RESOLVE_ERRORS)
def test_resolve_errors(
    fields: dict[int | str, Any], available: list[CustomField], messages: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_fields(FieldMapping("e", fields=fields), available)
    for message in messages:
        assert message in str(info.value)


def test_unknown_key_lists_only_a_few_fields() -> None:
    many = [CustomField(id=i, title=f"Field {i}", perstag=f"F{i}") for i in range(1, 40)]
    with pytest.raises(ConfigError) as info:
        resolve_fields(FieldMapping("e", fields={"NOPE": "x"}), many)
    message = str(info.value)
    assert "F10 ('Field 10', id 10)" in message
    assert "F11" not in message
    assert "and 29 more" in message
