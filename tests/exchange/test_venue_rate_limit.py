"""Rule 1: the venue's sliding one-second window, exact to the nanosecond.

Every message is placed at an exact instant with a fake clock, so the window boundaries are
tested to the nanosecond rather than by sleeping.
"""

from __future__ import annotations

import random

import pytest

from exchange.sliding_window import SlidingWindowCounter
from exchange.venue import Venue

from .clock import FakeClock
from .venue_messages import answer, cancel, make_venue, new_order, status

_ids = iter(range(1, 10**9))


def send_at(venue: Venue, clock: FakeClock, seconds: float, n: int = 1) -> list[dict[int, str]]:
    clock.set(seconds)
    return [answer(venue, new_order(f"ord-{next(_ids)}")) for _ in range(n)]


def rate_limited(reply: dict[int, str]) -> bool:
    return reply[35] == "j" and reply[58] == "RATE_LIMIT"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(0.0)


def test_over_the_limit_is_answered_j_rate_limit_and_not_acted_on(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=2)
    send_at(venue, clock, 0.0, 2)
    reply = answer(venue, new_order("C", t38="7"))
    assert reply == {35: "j", 45: reply[45], 372: "D", 379: "C", 380: "0", 58: "RATE_LIMIT"}
    assert "C" not in venue.book()
    stats = venue.stats()
    assert (stats["limitViolations"], stats["orders"], stats["rejectsByReason"]) == (
        1, 2, {"RATE_LIMIT": 1})  # fmt: skip


def test_every_application_message_counts_not_only_new_orders(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=3)
    answer(venue, new_order("A"))
    answer(venue, status("A"))
    answer(venue, cancel("nope", "X1"))
    assert rate_limited(answer(venue, cancel("A", "X2")))
    assert venue.book()["A"]["status"] == "NEW"  # the cancel over the limit did nothing


def test_limit_is_per_sliding_second_not_per_calendar_second(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=5)
    early = send_at(venue, clock, 0.5, 5)
    # 0.7 s later the five are still inside the window: a fixed calendar-second counter
    # (second 0 holds 5, second 1 holds 5) would let all ten through.
    late = send_at(venue, clock, 1.2, 5)
    assert all(r[150] == "0" for r in early)
    assert all(rate_limited(r) for r in late)
    assert venue.stats()["limitViolations"] == 5


def test_a_message_exactly_one_second_later_is_in_a_new_window(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=5)
    send_at(venue, clock, 0.5, 5)
    assert rate_limited(send_at(venue, clock, 1.499_999_999)[0])
    # Rejected messages count in the window, so the window ending at 1.5 s holds the one at
    # 1.499999999 s; only 4 fit now, and the 5th is a violation.
    replies = send_at(venue, clock, 1.5, 5)
    assert [rate_limited(r) for r in replies] == [False] * 4 + [True]


def test_five_then_five_a_full_second_later_are_all_allowed(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=5)
    replies = send_at(venue, clock, 0.5, 5) + send_at(venue, clock, 1.5, 5)
    assert not any(rate_limited(r) for r in replies)
    stats = venue.stats()
    assert (stats["limitViolations"], stats["maxInAnySlidingSecond"]) == (0, 5)


def test_a_sixth_message_straddling_a_calendar_second_is_a_violation(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=5)
    send_at(venue, clock, 0.9, 5)
    assert rate_limited(send_at(venue, clock, 1.1)[0])  # a fixed window would reset at 1.0
    stats = venue.stats()
    assert (stats["limitViolations"], stats["maxInAnySlidingSecond"]) == (1, 6)


def test_spread_out_sends_at_the_limit_never_violate(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=5)
    replies = []
    for i in range(50):  # one every 0.2 s: exactly 5 in every half-open second
        replies += send_at(venue, clock, i * 0.2)
    assert not any(rate_limited(r) for r in replies)
    assert venue.stats()["maxInAnySlidingSecond"] == 5


def test_rejected_messages_keep_counting_in_the_window(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=2)
    send_at(venue, clock, 0.0)
    send_at(venue, clock, 0.1)
    assert rate_limited(send_at(venue, clock, 0.2)[0])
    # The window (0.05, 1.05] holds 0.1, the rejected 0.2 and this one: still too many.
    assert rate_limited(send_at(venue, clock, 1.05)[0])
    assert not rate_limited(send_at(venue, clock, 1.2)[0])  # (0.2, 1.2]: 1.05 and this


def test_a_rate_limited_clordid_is_not_seen(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=1)
    send_at(venue, clock, 0.0)
    clock.set(0.5)
    assert rate_limited(answer(venue, new_order("B")))
    clock.set(2.0)
    fresh = answer(venue, new_order("B"))
    assert (fresh[150], fresh.get(58)) == ("0", None)  # a new order, not a duplicate
    assert venue.stats()["duplicates"] == 0


def test_session_rejected_application_messages_count_in_the_window(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=2)
    venue.note_session_reject()
    venue.note_session_reject()
    assert rate_limited(answer(venue, new_order("A")))
    stats = venue.stats()
    assert (stats["sessionRejected"], stats["received"], stats["limitViolations"]) == (2, 1, 1)


def brute_force_max(times_ns: list[int]) -> int:
    return max(sum(1 for s in times_ns if t - 1_000_000_000 < s <= t) for t in times_ns)


def test_max_in_any_sliding_second_is_exact_against_brute_force() -> None:
    rng = random.Random(7)
    for _ in range(20):
        times = sorted(rng.randrange(0, 5_000_000_000) for _ in range(rng.randrange(1, 300)))
        counter = SlidingWindowCounter()
        for t in times:
            counter.add(t)
        assert counter.max_in_window == brute_force_max(times)


def test_max_in_any_sliding_second_through_the_venue(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=1000)
    for seconds, n in [(0.0, 3), (0.4, 4), (0.99, 2), (1.0, 1), (1.4, 3), (2.5, 6)]:
        send_at(venue, clock, seconds, n)
    # Windows ending at each send: (-0.01, 0.99] = 3+4+2 = 9; (0.0, 1.0] = 4+2+1 = 7 (the three
    # at 0.0 have just left); (0.4, 1.4] = 2+1+3 = 6; (1.5, 2.5] = 6.
    assert venue.stats()["maxInAnySlidingSecond"] == 9


def test_in_current_second_reads_the_window_without_adding(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=10)
    send_at(venue, clock, 0.0, 3)
    clock.set(0.999_999_999)
    assert venue.stats()["inCurrentSecond"] == 3
    clock.set(1.0)
    assert venue.stats()["inCurrentSecond"] == 0


def test_window_counter_refuses_a_clock_going_backwards() -> None:
    counter = SlidingWindowCounter()
    counter.add(10)
    with pytest.raises(ValueError):
        counter.add(9)
