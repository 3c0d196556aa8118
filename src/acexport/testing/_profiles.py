"""Synthetic customer profiles for tests and benchmarks: :func:`sample_profiles`."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator

__all__ = ["sample_profiles"]

_FIRST = (
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Frances", "Donald", "Margaret",
    "Ken", "Radia", "Dennis", "Hedy", "Tim", "Katherine", "Guido", "Sophie", "John", "Mary",
    "Niklaus", "Joan", "Leslie", "Anita", "Brian", "Karen", "Claude", "Annie", "Vint", "Jean",
    "Bjarne", "Lynn", "Yukihiro", "Shafi", "Ivan", "Elena", "Rasmus", "Noor", "Mateo", "Aiko",
)  # fmt: skip
_LAST = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Dijkstra", "Allen", "Knuth",
    "Hamilton", "Thompson", "Perlman", "Ritchie", "Lamarr", "Berners-Lee", "Johnson", "Rossum",
    "Wilson", "McCarthy", "Keller", "Wirth", "Clarke", "Lamport", "Borg", "Kernighan",
    "Jones", "Shannon", "Easley", "Cerf", "Sammet", "Stroustrup", "Conway", "Matsumoto",
    "Goldwasser", "Sutherland", "Garcia", "Lerdorf", "Haddad", "Silva", "Tanaka", "O Brien",
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "shop.example.io")
_TIERS = ("bronze", "silver", "gold", "platinum")
# Each breaks one rule of the fake's validator (and of ActiveCampaign's known rejections).
_INVALID = (
    "{u}.example.com",  # no @
    "{u}@@example.com",  # two @
    "@example.com",  # empty local part
    "{u}'s@example.com",  # apostrophe
    "{u} x@example.com",  # space
    "{u}@localhost",  # no dot in the domain
    "{u}@example.c",  # one-letter TLD
    "{u}@example..com",  # empty label
    "",  # empty
)
_RESERVOIR = 1024
_BIRTH_START = datetime.date(1940, 1, 1)
_BIRTH_DAYS = (datetime.date(2007, 12, 31) - _BIRTH_START).days


def _recase(email: str, rng: random.Random) -> str:
    """``email`` with letters re-cased so that it differs from ``email`` (when it has letters)."""
    for _ in range(8):
        out = "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in email)
        if out != email:
            return out
    swapped = email.swapcase()
    return swapped if swapped != email else email.upper()


def sample_profiles(
    n: int,
    *,
    duplicate_fraction: float = 0.1,
    invalid_fraction: float = 0.0,
    seed: int = 0,
) -> Iterator[dict[str, object]]:
    """Yield ``n`` realistic synthetic customer profiles, deterministically for a given ``seed``.

    Each profile is a dict with the keys ``Email``, ``FirstName``, ``LastName``, ``Phone`` (an
    E.164-style string), ``Tier`` (``bronze``/``silver``/``gold``/``platinum``) and
    ``Birthday`` (a :class:`datetime.date`).

    About ``duplicate_fraction`` of the rows repeat the email of an earlier row with different
    letter case (and fresh other values), as real segments do; about ``invalid_fraction`` have a
    malformed email that the fake (and ActiveCampaign) rejects. All other emails are unique and
    valid, under ``example.*`` domains.

    Memory is O(1) in ``n``: earlier emails for duplicates come from a bounded reservoir sample.
    Rows are generated lazily, so ``n`` may be large (benchmarks).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    if not 0.0 <= duplicate_fraction <= 1.0 or not 0.0 <= invalid_fraction <= 1.0:
        raise ValueError("duplicate_fraction and invalid_fraction must be within [0, 1]")
    if duplicate_fraction + invalid_fraction > 1.0:
        raise ValueError("duplicate_fraction + invalid_fraction must not exceed 1")
    return _generate(n, duplicate_fraction, invalid_fraction, random.Random(seed))


def _generate(
    n: int, duplicate_fraction: float, invalid_fraction: float, rng: random.Random
) -> Iterator[dict[str, object]]:
    reservoir: list[str] = []
    unique_seen = 0
    for i in range(n):
        first = rng.choice(_FIRST)
        last = rng.choice(_LAST)
        user = f"{first}.{last}".lower().replace(" ", "").replace("-", "")
        roll = rng.random()
        if roll < invalid_fraction:
            email = rng.choice(_INVALID).format(u=f"{user}{i}")
        elif roll < invalid_fraction + duplicate_fraction and reservoir:
            email = _recase(rng.choice(reservoir), rng)
        else:
            email = f"{user}{i}@{rng.choice(_DOMAINS)}"
            unique_seen += 1
            if len(reservoir) < _RESERVOIR:
                reservoir.append(email)
            else:
                slot = rng.randrange(unique_seen)
                if slot < _RESERVOIR:
                    reservoir[slot] = email
        yield {
            "Email": email,
            "FirstName": first,
            "LastName": last,
            "Phone": f"+1555{rng.randrange(10_000_000):07d}",
            "Tier": rng.choice(_TIERS),
            "Birthday": _BIRTH_START + datetime.timedelta(days=rng.randrange(_BIRTH_DAYS + 1)),
        }
