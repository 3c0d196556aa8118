"""The email rule the fake enforces (ActiveCampaign's known rejections, see the API notes)."""

from __future__ import annotations

import re

__all__ = ["is_valid_email"]

_TLD = re.compile(r"[A-Za-z]{2,}")


def is_valid_email(value: object) -> bool:
    """Whether the fake accepts ``value`` as an email address.

    A ``str`` with exactly one ``@``, a non-empty local part, no apostrophe, no whitespace, and
    a domain with a dot, no empty labels and an alphabetic top-level label of two or more
    letters. (ActiveCampaign publishes no rule; its docs list ``invalid.email@invalidDomain`` and
    ``invalid'character@example.com`` as failures.)
    """
    if not isinstance(value, str) or value.count("@") != 1:
        return False
    if "'" in value or any(ch.isspace() for ch in value):
        return False
    local, domain = value.split("@")
    if not local or "." not in domain:
        return False
    labels = domain.split(".")
    if any(not label for label in labels):
        return False
    return _TLD.fullmatch(labels[-1]) is not None
