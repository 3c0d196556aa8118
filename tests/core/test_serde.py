"""ActiveCampaign JSON into models (acexport._serde), and what a body that does not fit raises."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acexport import ResponseValidationError
from acexport._core import _operations as ops
from acexport._core._call import parse_response
from acexport._models import (
    BulkImportStatus,
    Contact,
    ContactList,
    ContactTag,
    ListMembership,
    ListStatus,
    Tag,
    User,
)
from acexport._serde import ParseError, describe_parse_error, structure


def test_ids_become_ints_and_camel_case_keys_are_renamed() -> None:
    user = structure(
        {"id": "7", "username": "ada", "email": "a@example.com", "firstName": "Ada"}, User
    )
    assert user == User(id=7, username="ada", email="a@example.com", first_name="Ada")
    assert structure({"id": "3", "contact": "9", "tag": "4"}, ContactTag) == ContactTag(3, 9, 4)
    tag = structure({"id": 5, "tag": "vip", "tagType": "contact"}, Tag)
    assert (tag.id, tag.name, tag.tag_type) == (5, "vip", "contact")


def test_nulls_read_as_empty_strings_and_unknown_keys_are_ignored() -> None:
    contact = structure(
        {"id": "1", "email": "a@example.com", "firstName": None, "phone": None, "cdate": "x"},
        Contact,
    )
    assert contact == Contact(id=1, email="a@example.com", first_name="", last_name="", phone="")


def test_statuses() -> None:
    m = structure({"id": "1", "contact": "2", "list": "3", "status": "2"}, ListMembership)
    assert m == ListMembership(id=1, contact_id=2, list_id=3, status=ListStatus.UNSUBSCRIBED)
    assert structure("COMPLETED", BulkImportStatus) is BulkImportStatus.COMPLETED


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"id": True, "name": "L"}, "invalid value for type, expected int @ $.id"),  # a boolean
        ({"id": "x", "name": "L"}, "invalid value for type, expected int @ $.id"),
        ({"id": "1", "name": {"a": 1}}, "invalid value for type, expected str @ $.name"),  # a dict
        ({"id": "1", "name": ["L"]}, "invalid value for type, expected str @ $.name"),
        ({"name": "L"}, "required field missing @ $.id"),  # the id is what callers use
    ],
)
def test_what_does_not_fit_is_a_parse_error_described_by_its_path(
    data: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ParseError) as info:
        structure(data, ContactList)
    assert describe_parse_error(info.value) == reason


def test_the_hooks_refuse_booleans_and_containers_with_their_reason() -> None:
    with pytest.raises(TypeError, match="expected an integer or a string of digits, got bool"):
        structure(True, int)
    with pytest.raises(TypeError, match="expected a string, got dict"):
        structure({"a": 1}, str)
    with pytest.raises(TypeError, match="expected a string, got list"):
        structure([], str)
    assert structure(None, str) == ""
    assert structure(12, str) == "12"


def test_other_exceptions_are_described_by_type_and_message() -> None:
    assert describe_parse_error(ValueError("bad status 'x'")) == "ValueError: bad status 'x'"
    assert describe_parse_error(KeyError("list")) == "KeyError: 'list'"


def test_a_2xx_body_that_does_not_fit_raises_response_validation_error() -> None:
    request = httpx.Request("GET", "https://acct.api-us1.com/api/3/lists/1?x=1")
    response = httpx.Response(200, json={"list": {"id": True, "name": "N"}}, request=request)
    with pytest.raises(ResponseValidationError) as info:
        parse_response(ops.get_list(1), request, response, now=0.0)
    error = info.value
    assert str(error).startswith(
        "unexpected response body for GET /lists/1: invalid value for type, expected int @ $.id"
    )
    assert error.status_code == 200
    assert error.url == "https://acct.api-us1.com/api/3/lists/1"  # the query is left out
    assert error.__cause__ is None
    # no cattrs chain in tracebacks (raised outside the handler, or `from None`)
    assert error.__context__ is None or error.__suppress_context__
