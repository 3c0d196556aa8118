"""What the planner hands on: :class:`PlannedContact` (one contact, encoded once) and
:class:`Batch` (the contacts of one bulk-import request, its size known without building it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .._core._bulk import BODY_EMPTY_LEN, BODY_EXCLUDE, join_body

__all__ = ["Batch", "PlannedContact"]


class PlannedContact:
    """One contact ready for bulk import.

    ``email`` is the stripped address, its case as given; ``fields`` maps custom field ids to
    formatted values; ``encoded`` is the contact's bulk-import JSON object, compact UTF-8, exactly
    what goes between the commas of the request's ``contacts`` array.
    """

    __slots__ = (
        "email",
        "encoded",
        "fields",
        "first_name",
        "index",
        "key",
        "last_name",
        "phone",
        "profile",
    )

    def __init__(
        self,
        index: int,
        email: str,
        first_name: str | None,
        last_name: str | None,
        phone: str | None,
        fields: dict[int, str],
        encoded: bytes,
        key: str | None = None,
        profile: object = None,
    ) -> None:
        self.key = key  # the customer key (FieldMapping.key), None without one
        self.index = index
        #: The profile as given, kept only while ``on_error`` wants it (else None).
        self.profile = profile
        self.email = email
        self.first_name = first_name
        self.last_name = last_name
        self.phone = phone
        self.fields = fields
        self.encoded = encoded

    def __repr__(self) -> str:
        return (
            f"PlannedContact(index={self.index}, email={self.email!r}, "
            f"first_name={self.first_name!r}, last_name={self.last_name!r}, "
            f"phone={self.phone!r}, fields={self.fields!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PlannedContact):
            return NotImplemented
        return self.index == other.index and self.encoded == other.encoded

    __hash__ = None  # type: ignore[assignment]


class Batch:
    """Contacts for one bulk-import request, in profile order.

    ``body()`` is the request body; ``nbytes`` its exact length, known without building it.
    ``Batch(contacts, exclude_automations=...)`` or :meth:`subset` make a new batch from some of
    the contacts (to resubmit what ActiveCampaign did not refuse).

    ``exclude_automations`` is sent both at the top level and in each contact, since
    ActiveCampaign's documentation and clients disagree on where it goes.
    """

    __slots__ = ("_nbytes", "contacts", "exclude_automations")

    def __init__(
        self, contacts: Iterable[PlannedContact], *, exclude_automations: bool = False
    ) -> None:
        self.contacts: list[PlannedContact] = list(contacts)
        self.exclude_automations = exclude_automations
        n = len(self.contacts)
        self._nbytes = (
            BODY_EMPTY_LEN
            + sum(len(c.encoded) for c in self.contacts)
            + (n - 1 if n else 0)
            + (len(BODY_EXCLUDE) if exclude_automations else 0)
        )

    @classmethod
    def _trusted(
        cls, contacts: list[PlannedContact], exclude_automations: bool, nbytes: int
    ) -> Batch:
        self = cls.__new__(cls)
        self.contacts = contacts
        self.exclude_automations = exclude_automations
        self._nbytes = nbytes
        return self

    @property
    def nbytes(self) -> int:
        """``len(self.body())``, computed without building the body."""
        return self._nbytes

    def body(self) -> bytes:
        """The ``POST /import/bulk_import`` body: ``{"contacts":[...]}`` as compact UTF-8 JSON."""
        return join_body(
            [c.encoded for c in self.contacts], exclude_automations=self.exclude_automations
        )

    def subset(self, contacts: Iterable[PlannedContact]) -> Batch:
        """A new batch of ``contacts`` (some of these, say) with the same options."""
        return Batch(contacts, exclude_automations=self.exclude_automations)

    def __len__(self) -> int:
        return len(self.contacts)

    def __iter__(self) -> Iterator[PlannedContact]:
        return iter(self.contacts)

    def __repr__(self) -> str:
        first = self.contacts[0].index if self.contacts else None
        last = self.contacts[-1].index if self.contacts else None
        return (
            f"Batch({len(self.contacts)} contacts, indexes {first}..{last}, "
            f"{self._nbytes} bytes, exclude_automations={self.exclude_automations})"
        )
