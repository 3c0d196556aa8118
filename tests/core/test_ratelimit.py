from __future__ import annotations

import threading

import pytest

from acexport._core._ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_general_requests_are_spaced_by_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_second=5, bulk_imports_per_minute=None, clock=clock)
    waits = [limiter.reserve() for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_no_window_ever_holds_more_than_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_second=5, bulk_imports_per_minute=100, clock=clock)
    sent: list[float] = []
    for i in range(200):
        kind = "bulk" if i % 3 == 0 else "general"
        sent.append(clock.now + limiter.reserve(kind))
        clock.now += 0.05 * (i % 4)  # callers arrive unevenly
    sent.sort()
    for i, t in enumerate(sent):
        in_window = [s for s in sent[i:] if s < t + 1.0]
        assert len(in_window) <= 5


def test_bulk_imports_take_both_buckets() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_second=5, bulk_imports_per_minute=100, clock=clock)
    assert limiter.reserve("bulk") == 0.0
    assert limiter.reserve("bulk") == pytest.approx(0.6)
    # a general request still fits between bulk slots, after the general spacing
    assert limiter.reserve("general") == pytest.approx(0.8)


def test_single_contact_imports_have_a_fifth_of_the_budget() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_second=None, bulk_imports_per_minute=100, clock=clock)
    limiter.reserve("bulk_single")
    assert limiter.reserve("bulk_single") == pytest.approx(3.0)  # 20 a minute


def test_waits_shrink_as_time_passes() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_second=2, bulk_imports_per_minute=None, clock=clock)
    limiter.reserve()
    clock.now += 10
    assert limiter.reserve() == 0.0


def test_off_means_no_wait() -> None:
    limiter = RateLimiter(requests_per_second=None, bulk_imports_per_minute=None, clock=Clock())
    assert all(limiter.reserve(k) == 0.0 for k in ("general", "bulk", "bulk_single"))


def test_penalize_holds_every_slot_back() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_second=5, bulk_imports_per_minute=None, clock=clock)
    limiter.penalize(3.0)
    assert limiter.reserve() == pytest.approx(3.0)


def test_threads_get_distinct_slots() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_second=10, bulk_imports_per_minute=None, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            w = limiter.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(round(w, 6) for w in waits) == [round(i * 0.1, 6) for i in range(400)]
