"""A hostile or broken server, one answer at a time: tables over the pure core.

Every body not of the documented shape is a ResponseValidationError (never a crash with a raw
ValueError/OverflowError, never a silent reinterpretation); a write's answer that lacks what
acexport does not use still succeeds; the key a server echoes never reaches an exception.
"""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

import httpx
import pytest

from acexport import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BulkImportStatus,
    ListMembership,
    ListStatus,
    ResponseValidationError,
)
from acexport._core import _operations as ops
from acexport._core._call import parse_response
from acexport._core._responses import decode_json, status_error, transport_error
from acexport._core._retry import is_retryable

KEY = "f00dfeed" * 9  # 72 hex characters, the shape of an ActiveCampaign key
NOW = 1_700_000_000.0


def _request(op: ops.Operation[Any] | None = None) -> httpx.Request:
    method, path = (op.method, op.path) if op is not None else ("GET", "/users/me")
    return httpx.Request(
        method, "https://acct.api-us1.com/api/3" + path, headers={"Api-Token": KEY}
    )


def _response(status: int, content: bytes | str, headers: dict[str, str] | None = None) -> Any:
    raw = content.encode() if isinstance(content, str) else content
    return httpx.Response(status, content=raw, headers=headers or {})


def _parse(op: ops.Operation[Any], body: object | str) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    return parse_response(op, _request(op), _response(200, text), now=NOW)


# --- numbers JSON cannot hold, and bodies no parser should choke on -------------------------

STRANGE_JSON = [
    '{"status":"completed","success":[Infinity]}',
    '{"status":"completed","success":[-Infinity]}',
    '{"status":"completed","success":[NaN]}',
    '{"status":"completed","success":[1e999]}',
    '{"status":"completed","success":[1.5]}',
    '{"status":"completed","success":["9' + "9" * 5000 + '"]}',
    '{"status":"completed","success":[' + "9" * 5000 + "]}",
    '{"status":"completed","success":' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"status":"completed","success":[true]}',
    '{"status":"completed","success":[{"id":"1"}]}',
    '{"status":"completed","success":["1_000"]}',
    '{"status":"completed","success":[" 12"]}',
    '{"status":"completed","success":["-3"]}',
    '{"status":"completed","success":"123"}',
    '{"status":"completed","success":{"0":"1"}}',
    '{"status":"completed","failure":"p3@example.com"}',
    '{"status":"completed","failure":{"email":"p3@example.com"}}',
    '{"status":"completed","failure":[{"email":"p3@example.com"}]}',
    '{"status":"completed","failure":[3]}',
    '{"status":"completed","failure":[null]}',
    '{"status":1}',
    '{"status":0}',
    '{"status":true}',
    '{"status":["completed"]}',
    '{"status":"done"}',
    '{"status":"completed","success":[1]} trailing',
    "\ufeff",
    b"\xff\xfe{\x00}".decode("latin-1"),
]


@pytest.mark.parametrize("body", STRANGE_JSON, ids=range(len(STRANGE_JSON)))
def test_a_strange_import_info_body_is_a_validation_error(body: str) -> None:
    with pytest.raises(ResponseValidationError) as info:
        _parse(ops.import_info("b1"), body)
    assert info.value.status_code == 200
    assert len(info.value.body) <= 2000
    assert is_retryable(info.value, idempotent=True)  # a poll; the exporter counts poll errors


@pytest.mark.parametrize(
    ("body", "status", "succeeded", "failed"),
    [
        ({"status": False}, None, (), ()),
        ({"status": None, "success": None, "failure": None}, None, (), ()),
        ({"status": ""}, None, (), ()),
        ({"status": "COMPLETED", "success": ["7", 8], "failure": ["x@y.co"]}, "completed", (7, 8),
         ("x@y.co",)),
        ({"status": "completed", "success": [], "failure": []}, "completed", (), ()),
    ],
)  # fmt: skip
def test_import_info_documented_shapes(
    body: dict[str, object], status: str | None, succeeded: tuple[int, ...], failed: tuple[str, ...]
) -> None:
    info = _parse(ops.import_info("b1"), body)
    assert info.status == (None if status is None else BulkImportStatus(status))
    assert info.succeeded_ids == succeeded
    assert info.failed_emails == failed


@pytest.mark.parametrize(
    "body",
    [
        "NaN",
        "Infinity",
        '{"a": -Infinity}',
        '{"a": 1e400}',
        "[" * 50_000,
        '{"a": ' * 50_000,
    ],
)
def test_decode_refuses_what_is_not_strict_json(body: str) -> None:
    with pytest.raises(ResponseValidationError, match="not JSON"):
        decode_json(_request(), _response(200, body), now=NOW)


def test_an_error_body_with_infinity_or_deep_nesting_still_maps_to_its_status() -> None:
    for body in ('{"message": Infinity}', "[" * 50_000):
        err = status_error(_request(), _response(503, body), now=NOW)
        assert err.status_code == 503


# --- strings where lists belong, dicts where strings belong ... -------------------------------

LIST_OF = {"lists": [{"id": "1", "name": "Newsletter"}], "meta": {"total": "1"}}


@pytest.mark.parametrize(
    "body",
    [
        {"lists": "Newsletter"},
        {"lists": {"id": "1", "name": "Newsletter"}},
        {"lists": ["Newsletter"]},
        {"lists": [["1", "Newsletter"]]},
        {"lists": [{"id": "1", "name": {"en": "Newsletter"}}]},
        {"lists": [{"id": "1", "name": ["Newsletter"]}]},
        {"lists": [{"id": "1", "name": True}]},
        {"lists": [{"id": "1", "name": 1.5}]},
        {"lists": [{"id": 1.7, "name": "x"}]},
        {"lists": [{"id": True, "name": "x"}]},
        {"lists": [{"id": "1e3", "name": "x"}]},
        {"lists": [{"id": "", "name": "x"}]},
        {"lists": [{"id": None, "name": "x"}]},
        {"lists": [{"name": "x"}]},
        {"lists": [{"id": "1", "name": "x"}], "meta": {"total": "many"}},
        {"lists": [{"id": "1", "name": "x"}], "meta": {"total": 1.5}},
        {"lists": [{"id": "1", "name": "x"}], "meta": {"total": "-1"}},
        {"lists": [{"id": "1", "name": "x"}], "meta": {"total": True}},
        {"lists": [{"id": "1", "name": "x"}], "meta": "1"},
        {"lists": [{"id": "1", "name": "x"}], "meta": [1]},
        {},
    ],
)
def test_a_listing_of_the_wrong_shape_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(ResponseValidationError):
        _parse(ops.lists_pager().first(), body)


def test_a_listing_of_the_documented_shape_is_read() -> None:
    page = _parse(ops.lists_pager().first(), LIST_OF)
    assert page.total == 1
    assert [(x.id, x.name) for x in page.items] == [(1, "Newsletter")]
    # numbers where ActiveCampaign usually sends strings are read as they are meant
    page = _parse(ops.lists_pager().first(), {"lists": [{"id": 2, "name": 7}], "meta": {}})
    assert [(x.id, x.name, page.total) for x in page.items] == [(2, "7", None)]


@pytest.mark.parametrize(
    ("op", "body"),
    [
        (ops.get_contact(1), {"contact": "a@x.co"}),
        (ops.get_contact(1), {"contact": ["1", "a@x.co"]}),
        (ops.get_contact(1), {"contact": {"id": "1", "email": ["a@x.co"]}}),
        (ops.contact_memberships(1), {"contactLists": {"list": "1"}}),
        (ops.contact_memberships(1),
         {"contactLists": [{"id": "1", "contact": "1", "list": "1", "status": "9"}]}),
        (ops.contact_memberships(1),
         {"contactLists": [{"id": "1", "contact": "1", "list": "1", "status": 1.0}]}),
        (ops.find_contact_by_email("a@x.co"), {"contacts": "a@x.co"}),
        (ops.users_me(), {"user": None}),
        (ops.bulk_import(b"{}", contact_count=2), {"batchId": 7}),
        (ops.bulk_import(b"{}", contact_count=2), {"batchId": ["b"]}),
        (ops.sync_contact("a@x.co"), {"contact": {"email": "a@x.co"}}),
        (ops.sync_contact("a@x.co"), {"contact": "1"}),
        (ops.update_list_status(1, 2, ListStatus.ACTIVE), {"contactList": "ok"}),
        (ops.update_list_status(1, 2, ListStatus.ACTIVE), {"contactList": {"status": "x"}}),
        (ops.create_tag("vip"), {"tag": {"tag": "vip"}}),
    ],
)  # fmt: skip
def test_every_parser_refuses_the_wrong_shape(op: ops.Operation[Any], body: object) -> None:
    with pytest.raises(ResponseValidationError):
        _parse(op, body)


# --- a write that was applied is not failed for what acexport does not use ---------------------


def test_a_contact_list_answer_without_id_is_the_change_that_was_made() -> None:
    op = ops.update_list_status(11, 22, ListStatus.ACTIVE)
    for body in ({"contactList": {"contact": "11", "list": "22", "status": 1}}, {}, {"x": 1}):
        assert _parse(op, body) == ListMembership(
            id=None, contact_id=11, list_id=22, status=ListStatus.ACTIVE
        )
    with_id = _parse(op, {"contacts": [], "contactList": {"id": "5", "status": "1"}})
    assert (with_id.id, with_id.contact_id, with_id.list_id) == (5, 11, 22)


def test_other_writes_take_what_they_sent_for_what_the_answer_leaves_out() -> None:
    tag = _parse(ops.add_tag(3, 4), {"contactTag": {}})
    assert (tag.id, tag.contact_id, tag.tag_id) == (None, 3, 4)
    created = _parse(ops.create_tag("vip", "top"), {"tag": {"id": "9"}})
    assert (created.id, created.name, created.description) == (9, "vip", "top")
    lst = _parse(
        ops.create_list("My List", stringid=None, sender_url="u", sender_reminder="r"),
        {"list": {"id": "4"}},
    )
    assert (lst.id, lst.name, lst.stringid) == (4, "My List", "my-list")
    contact = _parse(ops.sync_contact("a@x.co", first_name="Ann"), {"contact": {"id": "8"}})
    assert (contact.id, contact.email, contact.first_name) == (8, "a@x.co", "Ann")
    # what the answer does say wins over what was sent
    contact = _parse(ops.sync_contact("a@x.co"), {"contact": {"id": "8", "email": "A@X.CO"}})
    assert contact.email == "A@X.CO"


def test_reads_need_only_the_id_their_callers_use() -> None:
    # The exporter's preflight uses users.me() to check the key, and the list's id.
    assert _parse(ops.users_me(), {"user": {"id": "1"}}).id == 1
    assert _parse(ops.get_list(3), {"list": {"id": "3"}}).id == 3
    page = _parse(ops.fields_pager().first(), {"fields": [{"id": "4", "perstag": "TIER"}]})
    assert [(f.id, f.title, f.perstag) for f in page.items] == [(4, "", "TIER")]


# --- redirects are not followed and not success ------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_that_names_where_and_is_not_retried(status: int) -> None:
    op = ops.get_list(1)
    response = _response(status, b"", {"Location": f"http://evil.example/?k={KEY}"})
    with pytest.raises(APIStatusError, match="redirect") as info:
        parse_response(op, _request(op), response, now=NOW)
    assert info.value.status_code == status
    assert "evil.example" in str(info.value)
    assert KEY not in str(info.value)
    assert not is_retryable(info.value, idempotent=True)


# --- the key a server echoes never reaches an exception ----------------------------------------


def _texts(err: BaseException) -> str:
    parts = [str(err), repr(err)]
    for name in ("message", "body", "url"):
        parts.append(str(getattr(err, name, "")))
    parts.extend(getattr(err, "errors", ()))
    return "\n".join(parts)


@pytest.mark.parametrize("status", [400, 403, 404, 422, 429, 500, 503])
@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_an_echoed_key_is_redacted_from_status_errors(status: int, case: Any) -> None:
    echoed = case(KEY)
    body = json.dumps(
        {
            "errors": [{"title": f"bad token {echoed}", "detail": echoed}],
            "message": f"key={echoed}",
            "failureReasons": [{"contact": echoed, "failureReason": echoed}, echoed],
        }
    )
    err = status_error(_request(), _response(status, body), now=NOW)
    assert err.status_code == status
    text = _texts(err)
    assert KEY.lower() not in text.lower()
    assert "[REDACTED]" in err.body
    assert "[REDACTED]" in err.message


@pytest.mark.parametrize(
    ("op", "body"),
    [
        (ops.get_list(1), f"<html>token {KEY} is not valid</html>"),
        (ops.import_info("b"), json.dumps({"status": KEY})),
        (ops.import_info("b"), json.dumps({"status": "completed", "failure": KEY})),
        (ops.get_list(1), json.dumps({"list": {"id": KEY, "name": KEY}})),
        (ops.get_list(1), json.dumps([KEY])),
    ],
)
def test_an_echoed_key_is_redacted_from_validation_errors(
    op: ops.Operation[Any], body: str
) -> None:
    with pytest.raises(ResponseValidationError) as info:
        _parse(op, body)
    assert KEY not in _texts(info.value)


# --- transport failures: what can recover, what cannot ----------------------------------------


def _connect_error(cause: BaseException | None, message: str = "failed") -> httpx.ConnectError:
    exc = httpx.ConnectError(message)
    exc.__cause__ = cause
    return exc


def _ssl_error(reason: str, cls: type[ssl.SSLError] = ssl.SSLError) -> ssl.SSLError:
    err = cls(1, f"[SSL: {reason}] {reason.lower()}")
    err.reason = reason
    if isinstance(err, ssl.SSLCertVerificationError):
        err.verify_message = "self-signed certificate"
    return err


@pytest.mark.parametrize(
    ("exc", "recoverable", "says"),
    [
        (_connect_error(socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
         False, "host name 'acct.api-us1.com' was not found"),
        (_connect_error(socket.gaierror(socket.EAI_AGAIN, "Temporary failure")), True, "connection failed"),
        (_connect_error(ConnectionRefusedError(111, "Connection refused")), False, "connection refused"),
        (_connect_error(_ssl_error("WRONG_VERSION_NUMBER")), False, "check the URL's scheme"),
        (_connect_error(_ssl_error("RECORD_LAYER_FAILURE")), False, "check the URL's scheme"),
        (_connect_error(_ssl_error("CERTIFICATE_VERIFY_FAILED", ssl.SSLCertVerificationError)),
         False, "self-signed certificate"),
        (_connect_error(_ssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE")), True, "connection failed"),
        (_connect_error(ConnectionResetError(104, "reset")), True, "connection failed"),
        (_connect_error(None), True, "connection failed"),
        (httpx.ReadError("reset"), True, "connection failed"),
        (httpx.RemoteProtocolError("bad"), True, "connection failed"),
    ],
)  # fmt: skip
def test_transport_failures_that_cannot_recover_fail_fast(
    exc: httpx.TransportError, recoverable: bool, says: str
) -> None:
    err = transport_error(_request(), exc)
    assert err.recoverable is recoverable
    assert says in str(err)
    assert is_retryable(err, idempotent=True) is recoverable
    if recoverable and isinstance(exc, httpx.ConnectError):
        assert is_retryable(err, idempotent=False)  # the request never left


class _Group(Exception):
    """Shaped like ExceptionGroup (3.11+; anyio raises one from connect_tcp on 3.10 too)."""

    def __init__(self, message: str, exceptions: list[Exception]) -> None:
        super().__init__(message)
        self.exceptions = tuple(exceptions)


def test_a_connection_refused_inside_an_exception_group_is_found() -> None:
    group = _Group("attempts", [ConnectionRefusedError(111, "Connection refused")])
    outer = OSError("All connection attempts failed")
    outer.__cause__ = group
    err = transport_error(_request(), _connect_error(outer))
    assert not err.recoverable


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError(f"cannot reach {KEY}"),
        httpx.ReadTimeout(f"slow {KEY}"),
        httpx.RemoteProtocolError(f"bad header {KEY}"),
    ],
)
def test_the_cause_of_a_connection_error_carries_no_key(exc: httpx.TransportError) -> None:
    try:
        raise exc
    except httpx.TransportError as caught:
        err = transport_error(_request(), caught)
    assert isinstance(err, APIConnectionError)
    assert isinstance(err, APITimeoutError) is isinstance(exc, httpx.TimeoutException)
    cause = err.__cause__
    assert cause is exc  # scrubbed in place: the driver's handled exception is safe too
    assert cause.request.headers["Api-Token"] == "[REDACTED]"
    assert KEY not in str(cause)
    assert cause.__traceback__ is None
    assert cause.__cause__ is None
    assert KEY not in _texts(err)
