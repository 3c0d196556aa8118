"""The pure export pipeline: map -> validate -> dedupe -> batch, one profile at a time.

:class:`Planner` is a small state machine in the "feed in, events out" style: the sender feeds it
``(index, profile)`` pairs from an iterable or an async iterable, gets back a full
:class:`Batch` whenever one is ready, and calls :meth:`Planner.close` at the end for the last
partial one. It does no I/O, never sleeps and never reads a clock, so the same planner serves
the sync and the async exporter and is tested without either.

Rows that cannot be exported never raise: they are counted in :attr:`Planner.invalid` and
settled into :attr:`Planner.errors` (a bounded :class:`~acexport._report.RowErrors`, shared
with the scheduler), or (a repeated email) counted in :attr:`Planner.duplicates`.

Speed: this runs once per profile, for up to millions of them, so the mapping is compiled once
into tuples the hot loop walks; every contact's JSON is assembled from precomputed fragments
and the standard library's C string encoder (``json.encoder.encode_basestring``, the function
``json.dumps(..., ensure_ascii=False)`` itself uses), which gives byte-for-byte the output of
``json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()`` at a fraction of
the cost of building a dict and dumping it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from .._core._bulk import BODY_EMPTY_LEN, BODY_EXCLUDE, contact_tail, encode_str
from .._core._limits import BULK_MAX_BYTES, BULK_MAX_CONTACTS
from .._exceptions import ConfigError
from .._report import RowErrors
from ._batch import Batch, PlannedContact
from ._dedupe import SeenEmails
from ._mapping import MISSING, FieldMapping, Source, describe_source, read_key
from ._values import (
    MAX_EMAIL_LENGTH,
    _control_search,
    _email_match,
    format_value,
    is_missing,
    normalize_email,
    type_check,
)

__all__ = [
    "Batch",
    "PlannedContact",
    "Planner",
]

#: Smallest ``max_batch_bytes`` accepted: below it no contact would fit.
MIN_BATCH_BYTES = 128

_encode_str = encode_str
_blake2b = hashlib.blake2b
_REASON_CUT = 300


class _Slot:
    """One compiled source: where to read it, where it goes, how it appears in the JSON.

    ``pos`` is 0, 1, 2 for first_name, last_name, phone and 3 for a custom field (``field_id``).
    """

    __slots__ = (
        "absent",
        "check",
        "cut",
        "field_id",
        "is_key",
        "pos",
        "prefix",
        "source",
        "target",
    )

    def __init__(
        self,
        source: Source,
        target: str,
        pos: int,
        prefix: str,
        field_id: int,
        check: Callable[[object], str | None] | None = None,
    ) -> None:
        self.source: Any = source
        self.is_key = isinstance(source, str)
        self.target = target
        self.pos = pos
        self.prefix = prefix
        self.field_id = field_id
        #: the field type's check (``_values.type_check``), None for an unchecked type
        self.check = check
        #: profiles without this key or attribute; profiles refused at this slot (the slots
        #: after it were not read for them)
        self.absent = 0
        self.cut = 0

    def describe(self) -> str:
        return f"{self.target} ({describe_source(self.source)})"


def _given_email(raw: object) -> str | None:
    """The email as given, for a RowError: None when absent (or NaN, NA), else as its repr."""
    if raw is None or raw is MISSING or is_missing(raw):
        return None
    if isinstance(raw, str):
        text = str.__str__(raw)
    else:
        try:
            text = repr(raw)
        except Exception:
            text = f"<{type(raw).__name__} object>"
    return text if len(text) <= MAX_EMAIL_LENGTH else text[:MAX_EMAIL_LENGTH]


def _exception_text(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    return text if len(text) <= _REASON_CUT else text[: _REASON_CUT - 3] + "..."


def _check_int(name: str, value: object, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an int, not {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:,} and {high:,}" if high is not None else f"at least {low:,}"
        raise ConfigError(f"{name} must be {bound}, not {value:,}")
    return value


class Planner:
    """Turns profiles into bulk-import batches: map, validate, dedupe, batch.

    ``field_ids`` maps every key of ``mapping.fields`` to a custom field id (what
    :func:`~acexport._exporter._mapping.resolve_fields` returns); ``field_types`` maps field
    ids to their type (``GET /fields``), and ``field_options`` to the values of their options,
    against which values are checked (see ``_values.type_check``: ``date``, ``datetime``, and
    the options of ``dropdown``, ``radio``, ``listbox`` and ``checkbox``). ``feed`` returns a full
    :class:`Batch` when one is ready (``batch_size`` contacts, or the next contact would take
    the body over ``max_batch_bytes``), else None; ``close`` returns the last partial batch.

    Counts: ``received == (contacts in the batches) + invalid + duplicates``. Every invalid row
    is added to ``errors`` (kind ``"invalid"``; a :class:`~acexport._report.RowErrors`, given or
    made here), in feed order. Duplicates are
    later profiles whose email equals, case-insensitively, one already planned: the first
    occurrence wins; an invalid row does not reserve its email. With ``one_email_per_key`` (an
    export with a state, where keys change emails) and a ``key`` in the mapping, a later profile
    whose key (compared exactly) was planned with another email is invalid: one customer, one
    address per run.

    Memory grows only with the number of unique emails (``errors`` is bounded):
    each unique email costs about 20 bytes (a 16-byte digest; see :class:`~._dedupe.SeenEmails`),
    and as much again for its key with ``one_email_per_key``.
    Measured: planning 900,000 unique emails took a process's peak RSS from 33 MB (after
    imports) to 55 MB; ``tracemalloc`` counted 19 bytes per unique email at 900,000 and
    1,000,000, 34 at 100,000. In-flight memory is one partial batch (at most 250 contacts).
    """

    __slots__ = (
        "_batch",
        "_batch_bytes",
        "_batch_size",
        "_email",
        "_empty_bytes",
        "_exclude_automations",
        "_keep_profiles",
        "_key",
        "_keys",
        "_max_bytes",
        "_reached",
        "_refused",
        "_rows",
        "_seen",
        "_seen_add",
        "_slots",
        "_suffix",
        "duplicates",
        "errors",
        "invalid",
        "received",
    )

    def __init__(
        self,
        mapping: FieldMapping,
        field_ids: Mapping[int | str, int],
        *,
        list_id: int,
        field_types: Mapping[int, str] | None = None,
        field_options: Mapping[int, Sequence[str]] | None = None,
        batch_size: int = BULK_MAX_CONTACTS,
        max_batch_bytes: int = BULK_MAX_BYTES,
        exclude_automations: bool = False,
        errors: RowErrors | None = None,
        one_email_per_key: bool = False,
    ) -> None:
        if not isinstance(mapping, FieldMapping):
            raise ConfigError(f"mapping must be a FieldMapping, not {type(mapping).__name__}")
        list_id = _check_int("list_id", list_id, 1, None)
        self._batch_size = _check_int("batch_size", batch_size, 1, BULK_MAX_CONTACTS)
        self._max_bytes = _check_int(
            "max_batch_bytes", max_batch_bytes, MIN_BATCH_BYTES, BULK_MAX_BYTES
        )
        self._exclude_automations = bool(exclude_automations)

        self._email = _Slot(mapping.email, "email", -1, "", 0)
        self._key = mapping.key
        slots: list[_Slot] = [
            _Slot(source, name, pos, f',"{name}":', 0)
            for pos, (name, source) in enumerate(
                (
                    ("first_name", mapping.first_name),
                    ("last_name", mapping.last_name),
                    ("phone", mapping.phone),
                )
            )
            if source is not None
        ]
        owners: dict[int, int | str] = {}
        for key, source in mapping.fields.items():
            if key not in field_ids:
                raise ConfigError(
                    f"custom field {key!r} is not in field_ids; resolve the mapping's fields "
                    "with resolve_fields() first"
                )
            field_id = _check_int(f"field_ids[{key!r}]", field_ids[key], 1, None)
            if field_id in owners:
                raise ConfigError(
                    f"custom field keys {owners[field_id]!r} and {key!r} both name field {field_id}"
                )
            owners[field_id] = key
            field_type = (field_types or {}).get(field_id, "")
            check = type_check(field_type, (field_options or {}).get(field_id, ()))
            target = f"{field_type} field {key!r}" if check else f"custom field {key!r}"
            prefix = f'{{"id":{field_id},"value":'
            slots.append(_Slot(source, target, 3, prefix, field_id, check))
        self._slots = tuple(slots)
        self._rows = tuple((s.is_key, s.source, s.pos, s.prefix, s.check, s) for s in slots)

        self._suffix = contact_tail(mapping.tags, (list_id,), (), self._exclude_automations)

        self._seen = SeenEmails()
        self._seen_add = self._seen.add
        self._refused = SeenEmails()  # valid emails of rows refused for another reason
        # Identity keys planned so far (hex keeps a key's letter case through SeenEmails).
        self._keys = SeenEmails() if self._key is not None and one_email_per_key else None
        self._batch: list[PlannedContact] = []
        self._empty_bytes = BODY_EMPTY_LEN + (len(BODY_EXCLUDE) if self._exclude_automations else 0)
        self._batch_bytes = self._empty_bytes
        self.received = 0
        self._reached = 0  # profiles whose values were read (past the email and key)
        self.invalid = 0
        self.duplicates = 0
        self.errors = errors if errors is not None else RowErrors()
        # Only ``on_error`` needs the profile of a row settled later (rejected or failed).
        self._keep_profiles = self.errors.on_error is not None

    @property
    def unique(self) -> int:
        """How many distinct emails were planned so far (what the dedupe set holds)."""
        return self._seen.count

    def planned(self, email: str) -> bool:
        """Whether this run read a row with ``email`` that is not refused for its address:
        planned, or refused for another value (a bad phone does not make a person leave)."""
        return email in self._seen or email in self._refused

    def keep(self, email: str) -> None:
        """Count ``email`` as present in this run (an identity key's old address)."""
        self._refused.add(email)

    def feed(self, index: int, profile: object) -> Batch | None:
        """Plan one profile; return a full batch when this profile completed one, else None."""
        self.received += 1
        get: Callable[[str, object], object]
        if type(profile) is dict or isinstance(profile, Mapping):
            get = profile.get
        else:
            get = partial(getattr, profile)

        # The email: read, strip, validate (fast path: the compiled regex).
        slot = self._email
        try:
            raw = get(slot.source, MISSING) if slot.is_key else slot.source(profile)
        except Exception as exc:
            return self._refuse(index, profile, None, self._read_failed(slot, exc))
        if type(raw) is str:
            email = raw.strip()
            if len(email) > MAX_EMAIL_LENGTH or _email_match(email) is None:
                return self._refuse(index, profile, raw, normalize_email(raw)[1] or "invalid email")
        else:
            if raw is MISSING:
                return self._refuse(index, profile, None, self._no_email(profile))
            checked, reason = normalize_email(raw)
            if checked is None:
                return self._refuse(index, profile, raw, reason or "invalid email")
            email = checked

        key = None
        if self._key is not None:
            key, problem = read_key(self._key, profile, get)
            if problem is not None:
                return self._refuse(index, profile, raw, problem)

        # Every other value: read, format, append to the contact's JSON.
        text = '{"email":"' + email + '"'  # a valid email needs no JSON escaping
        names: list[str | None] = [None, None, None]
        fields: dict[int, str] = {}
        self._reached += 1
        for is_key, source, pos, prefix, check, slot in self._rows:
            try:
                value = get(source, MISSING) if is_key else source(profile)
            except Exception as exc:
                return self._refuse_at(slot, index, profile, raw, self._read_failed(slot, exc))
            if type(value) is str:
                value = value.strip()
                if not value:
                    continue
                if not value.isprintable() and _control_search(value) is not None:
                    reason = f"{slot.describe()}: contains control characters"
                    return self._refuse_at(slot, index, profile, raw, reason)
                if check is not None:
                    try:
                        value = check(value)
                    except ValueError as exc:
                        reason = f"{slot.describe()}: {exc}"
                        return self._refuse_at(slot, index, profile, raw, reason)
            elif value is MISSING:
                slot.absent += 1
                continue
            elif value is None:
                continue
            else:
                try:
                    value = format_value(value) if check is None else check(value)
                except Exception as exc:
                    reason = self._format_failed(slot, exc)
                    return self._refuse_at(slot, index, profile, raw, reason)
                if value is None:
                    continue
            if pos == 3:
                text += (",", ',"fields":[')[not fields] + prefix + _encode_str(value) + "}"
                fields[slot.field_id] = value
            else:
                names[pos] = value
                text += prefix + _encode_str(value)
        if fields:
            text += "]"
        try:
            encoded = (text + self._suffix).encode()
        except UnicodeEncodeError:
            return self._refuse(index, profile, raw, self._unencodable(names, fields))

        size = len(encoded)
        if self._empty_bytes + size > self._max_bytes:
            return self._refuse(
                index,
                profile,
                raw,
                f"contact is {size:,} bytes of JSON, over the bulk import limit of "
                f"{self._max_bytes:,} bytes per request",
            )

        # Dedupe on the whole address, case-insensitively; the first occurrence wins.
        if key is not None and self._keys is not None:
            # One customer, one address: a key already planned with another address would
            # change that contact's email twice in one run. The first occurrence wins.
            if email in self._seen:
                self.duplicates += 1
                return None
            if not self._keys.add(key.encode().hex()):
                return self._refuse(
                    index,
                    profile,
                    raw,
                    f"key {key[:60]!r} was already read in this export with another email",
                )
        if not self._seen_add(email):
            self.duplicates += 1
            return None

        contact = PlannedContact(
            index,
            email,
            names[0],
            names[1],
            names[2],
            fields,
            encoded,
            key,
            profile if self._keep_profiles else None,
        )
        batch = self._batch
        out = None
        if batch:
            if self._batch_bytes + 1 + size > self._max_bytes:
                out = Batch._trusted(batch, self._exclude_automations, self._batch_bytes)
                batch = self._batch = []
                self._batch_bytes = self._empty_bytes + size
            else:
                self._batch_bytes += 1 + size
        else:
            self._batch_bytes += size
        batch.append(contact)
        if len(batch) >= self._batch_size:
            # Never both: with batch_size 1 the batch is always empty before the append.
            out = Batch._trusted(batch, self._exclude_automations, self._batch_bytes)
            self._batch = []
            self._batch_bytes = self._empty_bytes
        return out

    def close(self) -> Batch | None:
        """Return the last, partial batch (None when there is none). Feeding may go on after."""
        if not self._batch:
            return None
        out = Batch._trusted(self._batch, self._exclude_automations, self._batch_bytes)
        self._batch = []
        self._batch_bytes = self._empty_bytes
        return out

    def never_found(self) -> list[tuple[str, str, int]]:
        """The mapped keys (or attributes) that none of the profiles read so far had, as
        ``(source, what it fills, profiles read)``: most likely a misspelt name, whose values
        are all left out without a word otherwise."""
        out = []
        reached = self._reached
        for slot in self._slots:
            if slot.is_key and reached and slot.absent == reached:
                out.append((slot.source, slot.target, reached))
            reached -= slot.cut
        return out

    # The slow paths: only rows that are refused get here.

    def _refuse_at(
        self, slot: _Slot, index: int, profile: object, raw: object, reason: str
    ) -> Batch | None:
        """:meth:`_refuse`, for a row refused at ``slot`` (the slots after it are not read)."""
        slot.cut += 1
        return self._refuse(index, profile, raw, reason)

    def _refuse(self, index: int, profile: object, raw: object, reason: str) -> Batch | None:
        """Count the row as invalid with its RowError; return None, what ``feed`` returns."""
        self.invalid += 1
        if isinstance(raw, str):
            email = normalize_email(raw)[0]
            if email is not None:
                self._refused.add(email)
        self.errors.add(index, _given_email(raw), "invalid", reason, profile)
        return None

    def _read_failed(self, slot: _Slot, exc: Exception) -> str:
        return (
            f"reading {describe_source(slot.source)} for {slot.target} raised "
            f"{_exception_text(exc)}"
        )

    def _format_failed(self, slot: _Slot, exc: Exception) -> str:
        if isinstance(exc, ValueError) and type(exc) is ValueError:
            text = str(exc)
        else:
            text = "formatting the value raised " + _exception_text(exc)
        return f"{slot.describe()}: {text}"

    def _no_email(self, profile: object) -> str:
        source = self._email.source
        if isinstance(profile, Mapping):
            return f"no email: the profile has no key {source!r}"
        return f"no email: the {type(profile).__name__} profile has no attribute {source!r}"

    def _unencodable(self, names: list[str | None], fields: dict[int, str]) -> str:
        for slot in self._slots:
            value = fields.get(slot.field_id) if slot.pos == 3 else names[slot.pos]
            if value is None:
                continue
            try:
                value.encode()
            except UnicodeEncodeError:
                return (
                    f"{slot.describe()}: contains characters that cannot be encoded as UTF-8 "
                    "(lone surrogates)"
                )
        return "the contact cannot be encoded as UTF-8"  # pragma: no cover
