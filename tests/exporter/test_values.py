"""Email validation and value formatting: tables of what is sent, left out or refused."""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions

import pytest

from acexport._exporter._values import format_value, normalize_email

# -- emails ---------------------------------------------------------------------------------

VALID_EMAILS = [
    ("a@b.co", "a@b.co"),
    ("first.last@example.com", "first.last@example.com"),
    ("x+tag@sub.example.co.uk", "x+tag@sub.example.co.uk"),
    ("  padded@example.com\t\n", "padded@example.com"),
    ("Mixed.Case@Example.COM", "Mixed.Case@Example.COM"),
    ("!#$%&*+/=?^_`{|}~-@example.com", "!#$%&*+/=?^_`{|}~-@example.com"),
    ("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
    ("user@example.xn--p1ai", "user@example.xn--p1ai"),
    ("user@123.example.com", "user@123.example.com"),
    ("user@a-b.example", "user@a-b.example"),
    ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
    ("a@" + "b" * 63 + ".com", "a@" + "b" * 63 + ".com"),
    # 254 characters in all: 64 + "@" + 3 x (61 + ".") + 3
    ("a" * 64 + "@" + ("b" * 61 + ".") * 3 + "ccc", "a" * 64 + "@" + ("b" * 61 + ".") * 3 + "ccc"),
]


@pytest.mark.parametrize(("given", "expected"), VALID_EMAILS)
def test_valid_emails(given: str, expected: str) -> None:
    assert normalize_email(given) == (expected, None)


def test_the_longest_valid_email_is_254_characters() -> None:
    assert len(VALID_EMAILS[-1][1]) == 254
    too_long = "a" * 64 + "@" + ("b" * 61 + ".") * 3 + "cccc"
    email, reason = normalize_email(too_long)
    assert email is None
    assert reason is not None
    assert "255 characters" in reason


class _Text(str):
    pass


def test_str_subclass_is_accepted_as_a_plain_str() -> None:
    email, reason = normalize_email(_Text(" a@example.com "))
    assert (email, reason) == ("a@example.com", None)
    assert type(email) is str


INVALID_EMAILS = [
    # ActiveCampaign's own documented failures
    ("invalid.email@invalidDomain", "no top-level domain"),
    ("invalid'character@example.com", 'refuses: "\'"'),
    # absent
    (None, "no email"),
    ("", "no email"),
    ("   ", "no email"),
    # not a string
    (42, "email is int, not a string"),
    (b"a@example.com", "email is bytes, not a string"),
    (["a@example.com"], "email is list, not a string"),
    # whitespace and controls
    ("has space@example.com", "whitespace"),
    ("a@exa mple.com", "whitespace"),
    ("a@example.com\nb@example.com", "whitespace"),
    ("a\x00b@example.com", "control characters"),
    ("a\x7fb@example.com", "control characters"),
    # not ASCII
    ("üser@example.com", "non-ASCII"),
    ("user@exämple.com", "non-ASCII"),
    ("user\u00a0x@example.com", "non-ASCII"),
    ("user@example.com\u00a0", None),  # str.strip() removes Unicode spaces too: valid
    # structure
    ("no-at-sign.example.com", "no @"),
    ("a@b@example.com", "more than one @"),
    ("@example.com", "nothing before the @"),
    ("a@", "no domain"),
    ('"quoted"@example.com', "refuses: '\"'"),
    ("a\\b@example.com", "refuses"),
    ("(comment)a@example.com", "refuses"),
    ("a,b@example.com", "refuses"),
    (".a@example.com", "dot"),
    ("a.@example.com", "dot"),
    ("a..b@example.com", "dot"),
    ("a" * 65 + "@example.com", "local part is 65 characters"),
    ("a@" + "b" * 64 + ".com", "invalid label"),
    # domain
    ("a@localhost", "no top-level domain"),
    ("a@example.c", "top-level domain 'c'"),
    ("a@example.123", "top-level domain '123'"),
    ("a@example.c0m", "top-level domain 'c0m'"),
    ("a@example.xn--", "invalid label"),
    ("a@-example.com", "invalid label '-example'"),
    ("a@example-.com", "invalid label 'example-'"),
    ("a@exa_mple.com", "invalid label 'exa_mple'"),
    ("a@example..com", "empty label"),
    ("a@.example.com", "empty label"),
    ("a@example.com.", "empty label"),
    ("a@[127.0.0.1]", "invalid label"),
    ("a@127.0.0.1", "top-level domain '1'"),
    ("a" * 300 + "@example.com", "312 characters, over the limit of 254"),
]


@pytest.mark.parametrize(("given", "reason_part"), INVALID_EMAILS)
def test_invalid_emails(given: object, reason_part: str | None) -> None:
    email, reason = normalize_email(given)
    if reason_part is None:
        assert reason is None
        return
    assert email is None
    assert reason is not None
    assert reason_part in reason


def test_non_ascii_reason_says_why() -> None:
    _, reason = normalize_email("josé@example.com")
    assert reason is not None
    assert "internationalised addresses are not known to be accepted" in reason


# -- values ---------------------------------------------------------------------------------


class NAType:
    """Stands in for pandas.NA (detected by its type's name)."""


class NaTType:
    """Stands in for pandas.NaT."""


class bool_:
    """Stands in for numpy.bool_."""

    __module__ = "numpy"

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Kind(str, enum.Enum):
    GOLD = "gold"


class Weird:
    pass


UTC = datetime.timezone.utc

FORMATTED = [
    # strings
    ("gold", "gold"),
    ("  gold \n", "gold"),
    ("multi\nline\ttext\r\n", "multi\nline\ttext"),
    ("a\r\nb", "a\r\nb"),
    ("Zoë ✓ 日本", "Zoë ✓ 日本"),
    ("x" * 1_000_000, "x" * 1_000_000),  # no length cap
    (_Text(" sub "), "sub"),
    (Kind.GOLD, "gold"),
    # missing values
    (None, None),
    ("", None),
    ("  \t ", None),
    (float("nan"), None),
    (decimal.Decimal("NaN"), None),
    (NAType(), None),
    (NaTType(), None),
    ([], None),
    ((), None),
    (set(), None),
    ([None, "", float("nan")], None),
    # booleans, before ints
    (True, "true"),
    (False, "false"),
    (bool_(True), "true"),
    (bool_(False), "false"),
    # numbers
    (0, "0"),
    (-42, "-42"),
    (10**30, "1" + "0" * 30),
    (Level.HIGH, "3"),
    (1.5, "1.5"),
    (42.0, "42"),
    (-0.0, "0"),
    (1e15, "1000000000000000"),
    (2.0**53, "9007199254740992.0"),
    (1e20, "1e+20"),
    (0.1, "0.1"),
    (1e-7, "1e-07"),
    (decimal.Decimal("1.50"), "1.50"),
    (decimal.Decimal("1E+2"), "100"),
    (decimal.Decimal("-0.000001"), "-0.000001"),
    (decimal.Decimal("1E+100"), "1E+100"),
    (fractions.Fraction(3, 2), "1.5"),
    # dates
    (datetime.date(2024, 5, 1), "2024-05-01"),
    (datetime.datetime(2024, 5, 1, 9, 30), "2024-05-01T09:30:00"),
    (
        datetime.datetime(2024, 5, 1, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        "2024-05-01T09:30:00+02:00",
    ),
    (datetime.datetime(2024, 5, 1, 9, 30, 0, 123, tzinfo=UTC), "2024-05-01T09:30:00.000123+00:00"),
    # multi-values
    (["a", "b"], "||a||b||"),
    (("b", "a"), "||b||a||"),
    ({"b", "a", "c"}, "||a||b||c||"),
    (frozenset({2, 1}), "||1||2||"),
    ([" a ", None, "", 1, 2.0, True, datetime.date(2024, 1, 2)], "||a||1||2||true||2024-01-02||"),
    (["only"], "||only||"),
]


@pytest.mark.parametrize(("value", "expected"), FORMATTED)
def test_format_value(value: object, expected: str | None) -> None:
    assert format_value(value) == expected


REFUSED = [
    (b"bytes", "value of type bytes cannot be sent; decode it first"),
    (bytearray(b"x"), "value of type bytearray cannot be sent; decode it first"),
    (memoryview(b"x"), "value of type memoryview cannot be sent"),
    ({"a": 1}, "value of type dict cannot be sent"),
    (Weird(), "value of type Weird cannot be sent"),
    (Color.RED, "value of type Color cannot be sent"),
    (object(), "value of type object cannot be sent"),
    (1 + 2j, "value of type complex cannot be sent"),
    (datetime.time(9, 30), "value of type time cannot be sent"),
    (datetime.timedelta(days=1), "value of type timedelta cannot be sent"),
    (float("inf"), "inf cannot be sent"),
    (float("-inf"), "-inf cannot be sent"),
    (decimal.Decimal("Infinity"), "Infinity cannot be sent"),
    ("a\x00b", "contains control characters"),
    ("bell\x07", "contains control characters"),
    ("esc\x1b[0m", "contains control characters"),
    ("form\x0cfeed", "contains control characters"),
    ([["nested"]], "a list inside a list cannot be sent"),
    ([("nested",)], "a tuple inside a list cannot be sent"),
    ([b"x"], "value of type bytes cannot be sent"),
    (["a||b"], "contains '||'"),
    (["a|"], "starts or ends with '|'"),
    (["|a"], "starts or ends with '|'"),
    (["ok", "bad\x00"], "contains control characters"),
]


@pytest.mark.parametrize(("value", "reason_part"), REFUSED)
def test_format_value_refuses(value: object, reason_part: str) -> None:
    with pytest.raises(ValueError) as info:
        format_value(value)
    assert reason_part in str(info.value)
