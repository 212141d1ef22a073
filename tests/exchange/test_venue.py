"""The pure venue: sessions, the exact sliding window, the book and duplicate suppression.

Every message is placed at an exact instant with a fake clock, so the window boundaries are
tested to the nanosecond rather than by sleeping.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from exchange.config import Latency, VenueConfig
from exchange.venue import (
    InvalidMessage,
    OrderMessage,
    SlidingWindowCounter,
    Venue,
)

from .clock import FakeClock

SENDER = "OMS"


def make_venue(clock: FakeClock, **config: Any) -> Venue:
    venue_config = VenueConfig(
        rate_limit=config.pop("rate_limit", 100),
        latency=Latency.parse(config.pop("latency", 0)),
        reject_ratio=config.pop("reject_ratio", 0.0),
    )
    return Venue("XTEST", venue_config, seed="test", monotonic_ns=clock, **config)


_request_ids = iter(range(1, 10**9))


def message(kind: str = "NEW", cl_ord_id: str | None = None, **fields: Any) -> OrderMessage:
    request_id = fields.pop("requestId", f"req-{next(_request_ids)}")
    body = {
        "senderCompId": fields.pop("senderCompId", SENDER),
        "kind": kind,
        "requestId": request_id,
        "clientOrderId": cl_ord_id or f"ord-{request_id}",
        "symbol": "ACME",
        "side": "BUY",
        "orderType": "LIMIT",
        "quantity": "100",
        "limitPrice": "10.50",
        "stopPrice": None,
        "timeInForce": "DAY",
    }
    body.update(fields)
    return OrderMessage.parse(body)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(0.0)


@pytest.fixture
def venue(clock: FakeClock) -> Venue:
    v = make_venue(clock)
    v.logon(SENDER)
    return v


def send_at(venue: Venue, clock: FakeClock, seconds: float, n: int = 1) -> list[dict[str, Any]]:
    clock.set(seconds)
    return [venue.receive(message()).answer for _ in range(n)]


# -- sessions ---------------------------------------------------------------------------------


def test_logon_and_logout_are_idempotent_and_counted(clock: FakeClock) -> None:
    venue = make_venue(clock)
    assert venue.state == "LOGGED_OUT"
    first, again = venue.logon(SENDER), venue.logon(SENDER)
    assert (first.changed, again.changed) == (True, False)
    assert again.answer["state"] == "LOGGED_ON" and venue.state == "LOGGED_ON"
    out, out_again = venue.logout(SENDER), venue.logout(SENDER)
    assert (out.changed, out_again.changed) == (True, False)
    assert out_again.answer["state"] == "LOGGED_OUT" and venue.state == "LOGGED_OUT"
    stats = venue.stats()
    assert (stats["logons"], stats["logouts"]) == (2, 2)


def test_order_before_logon_is_rejected_and_creates_nothing(clock: FakeClock) -> None:
    venue = make_venue(clock)
    answer = venue.receive(message("NEW", "A")).answer
    assert (answer["result"], answer["reason"]) == ("REJECT", "NOT_LOGGED_ON")
    assert venue.book() == {}
    assert venue.stats()["notLoggedOn"] == 1

    # The session gate came first, so the id was never "seen": after logon it is a new order.
    venue.logon(SENDER)
    answer = venue.receive(message("NEW", "A")).answer
    assert (answer["result"], answer["duplicate"]) == ("ACCEPT", False)


def test_session_is_per_sender(venue: Venue) -> None:
    answer = venue.receive(message("NEW", "A", senderCompId="INTRUDER")).answer
    assert answer["reason"] == "NOT_LOGGED_ON"


def test_order_after_logout_is_rejected(venue: Venue) -> None:
    venue.logout(SENDER)
    assert venue.receive(message()).answer["reason"] == "NOT_LOGGED_ON"


# -- orders -----------------------------------------------------------------------------------


def test_new_is_accepted_and_booked(venue: Venue) -> None:
    answer = venue.receive(message("NEW", "A", requestId="r1")).answer
    assert answer["result"] == "ACCEPT"
    assert answer["reason"] is None
    assert answer["duplicate"] is False
    assert answer["requestId"] == "r1" and answer["clientOrderId"] == "A"
    assert answer["kind"] == "NEW"
    assert answer["seq"] == 1
    assert answer["venueOrderId"]
    order = venue.book()["A"]
    assert order["state"] == "LIVE"
    assert order["venueOrderId"] == answer["venueOrderId"]
    assert (order["quantity"], order["limitPrice"]) == ("100", "10.50")


def test_duplicate_new_repeats_the_first_answer_and_books_one_order(venue: Venue) -> None:
    first = venue.receive(message("NEW", "A", requestId="r1")).answer
    again = venue.receive(message("NEW", "A", requestId="r1", quantity="999")).answer
    decision = ("result", "reason", "venueOrderId", "clientOrderId", "kind", "requestId")
    assert {k: again[k] for k in decision} == {k: first[k] for k in decision}
    assert again["duplicate"] is True
    assert again["originalSeq"] == first["seq"] == 1
    assert again["seq"] == 2
    assert list(venue.book()) == ["A"]
    assert venue.book()["A"]["quantity"] == "100"  # the resend changed nothing
    stats = venue.stats()
    assert (stats["duplicates"], stats["orders"], stats["received"]) == (1, 1, 2)


def test_duplicate_of_a_randomly_rejected_new_is_rejected_again(clock: FakeClock) -> None:
    venue = make_venue(clock, reject_ratio=1.0)
    venue.logon(SENDER)
    first = venue.receive(message("NEW", "A")).answer
    venue.config = venue.config.updated({"rejectRatio": 0.0})
    again = venue.receive(message("NEW", "A")).answer
    assert (first["reason"], again["reason"]) == ("RANDOM_REJECT", "RANDOM_REJECT")
    assert again["duplicate"] is True
    assert venue.book() == {}


def test_modify_changes_quantity_and_prices(venue: Venue) -> None:
    new = venue.receive(message("NEW", "A")).answer
    answer = venue.receive(
        message("MODIFY", "A", quantity="50", limitPrice="10.25", symbol="OTHER")
    ).answer
    assert (answer["result"], answer["kind"]) == ("ACCEPT", "MODIFY")
    assert answer["venueOrderId"] == new["venueOrderId"]
    order = venue.book()["A"]
    assert (order["quantity"], order["limitPrice"], order["symbol"]) == ("50", "10.25", "ACME")


def test_cancel_closes_the_order_and_later_amends_are_rejected(venue: Venue) -> None:
    venue.receive(message("NEW", "A"))
    assert venue.receive(message("CANCEL", "A")).answer["result"] == "ACCEPT"
    assert venue.book()["A"]["state"] == "CANCELED"
    assert venue.receive(message("CANCEL", "A")).answer["reason"] == "ORDER_CLOSED"
    assert venue.receive(message("MODIFY", "A", quantity="1")).answer["reason"] == "ORDER_CLOSED"


def test_amend_of_unknown_order_is_rejected(venue: Venue) -> None:
    assert venue.receive(message("MODIFY", "nope")).answer["reason"] == "UNKNOWN_ORDER"
    assert venue.receive(message("CANCEL", "nope")).answer["reason"] == "UNKNOWN_ORDER"


def test_duplicate_amend_by_request_id_repeats_the_answer(venue: Venue) -> None:
    venue.receive(message("NEW", "A"))
    first = venue.receive(message("CANCEL", "A", requestId="c1")).answer
    again = venue.receive(message("CANCEL", "A", requestId="c1")).answer
    assert (first["result"], again["result"]) == ("ACCEPT", "ACCEPT")
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["reason"] is None  # not ORDER_CLOSED: it is the same request, answered again
    modify = venue.receive(message("MODIFY", "A", requestId="c1", quantity="5")).answer
    assert modify["duplicate"] is True and modify["kind"] == "CANCEL"
    assert venue.stats()["duplicates"] == 2


def test_reject_ratio_one_rejects_every_new(clock: FakeClock) -> None:
    venue = make_venue(clock, reject_ratio=1.0)
    venue.logon(SENDER)
    answers = [venue.receive(message("NEW")).answer for _ in range(50)]
    assert {(a["result"], a["reason"]) for a in answers} == {("REJECT", "RANDOM_REJECT")}
    assert venue.book() == {}


def test_reject_ratio_is_reproducible_with_a_seed() -> None:
    def run() -> list[str | None]:
        venue = make_venue(FakeClock(), reject_ratio=0.5, rate_limit=1000)
        venue.logon(SENDER)
        return [venue.receive(message("NEW")).answer["reason"] for _ in range(200)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {None, "RANDOM_REJECT"}
    assert 50 < first.count("RANDOM_REJECT") < 150


def test_received_equals_accepted_plus_rejected(venue: Venue, clock: FakeClock) -> None:
    venue.config = venue.config.updated({"rateLimit": 3})
    send_at(venue, clock, 0.0, 5)
    venue.receive(message("MODIFY", "missing"))
    stats = venue.stats()
    assert stats["received"] == stats["accepted"] + stats["rejected"] == 6
    assert stats["rejectsByReason"] == {"RATE_LIMIT": 3}  # 4th, 5th, and the MODIFY


def test_invalid_messages_are_refused_before_the_venue() -> None:
    with pytest.raises(InvalidMessage):
        OrderMessage.parse(["not", "an", "object"])
    with pytest.raises(InvalidMessage):
        OrderMessage.parse({"senderCompId": "OMS", "kind": "NEW", "clientOrderId": "A"})
    with pytest.raises(InvalidMessage):
        OrderMessage.parse(
            {"senderCompId": "OMS", "kind": "FILL", "requestId": "r", "clientOrderId": "A"}
        )


# -- the sliding window -----------------------------------------------------------------------


def test_limit_is_per_sliding_second_not_per_calendar_second(
    venue: Venue, clock: FakeClock
) -> None:
    venue.config = venue.config.updated({"rateLimit": 5})
    early = send_at(venue, clock, 0.5, 5)
    # 0.7 s later the five are still inside the window: a fixed calendar-second counter
    # (second 0 holds 5, second 1 holds 5) would let all ten through.
    late = send_at(venue, clock, 1.2, 5)
    assert all(a["result"] == "ACCEPT" for a in early)
    assert [a["reason"] for a in late] == ["RATE_LIMIT"] * 5
    assert venue.stats()["limitViolations"] == 5


def test_a_message_exactly_one_second_later_is_in_a_new_window(
    venue: Venue, clock: FakeClock
) -> None:
    venue.config = venue.config.updated({"rateLimit": 5})
    send_at(venue, clock, 0.5, 5)
    just_inside = send_at(venue, clock, 1.499_999_999)[0]
    assert just_inside["reason"] == "RATE_LIMIT"
    # Rejected messages count in the window (see exchange/venue.py), so the window ending at
    # 1.5 s holds the one at 1.499999999 s; only 4 fit now, and the 5th is a violation.
    answers = send_at(venue, clock, 1.5, 5)
    assert [a["result"] for a in answers] == ["ACCEPT"] * 4 + ["REJECT"]


def test_five_then_five_a_full_second_later_are_all_allowed(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=5)
    venue.logon(SENDER)
    answers = send_at(venue, clock, 0.5, 5) + send_at(venue, clock, 1.5, 5)
    assert all(a["result"] == "ACCEPT" for a in answers)
    stats = venue.stats()
    assert (stats["limitViolations"], stats["maxInAnySlidingSecond"]) == (0, 5)


def test_a_sixth_message_straddling_a_calendar_second_is_a_violation(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=5)
    venue.logon(SENDER)
    send_at(venue, clock, 0.9, 5)
    # A fixed-window counter resets at 1.0 and would allow this one.
    sixth = send_at(venue, clock, 1.1)[0]
    assert sixth["reason"] == "RATE_LIMIT"
    assert venue.stats()["limitViolations"] == 1
    assert venue.stats()["maxInAnySlidingSecond"] == 6


def test_spread_out_sends_at_the_limit_never_violate(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=5)
    venue.logon(SENDER)
    answers = []
    for i in range(50):  # one every 0.2 s: exactly 5 in every half-open second
        answers += send_at(venue, clock, i * 0.2)
    assert all(a["result"] == "ACCEPT" for a in answers)
    assert venue.stats()["maxInAnySlidingSecond"] == 5


def test_rejected_messages_keep_counting_in_the_window(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=2)
    venue.logon(SENDER)
    send_at(venue, clock, 0.0)
    send_at(venue, clock, 0.1)
    assert send_at(venue, clock, 0.2)[0]["reason"] == "RATE_LIMIT"
    # The window (0.05, 1.05] holds 0.1, the rejected 0.2 and this one: still too many.
    assert send_at(venue, clock, 1.05)[0]["reason"] == "RATE_LIMIT"
    assert send_at(venue, clock, 1.2)[0]["result"] == "ACCEPT"  # (0.2, 1.2]: 1.05 and this


def test_messages_before_logon_count_in_the_window_and_as_violations(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=2)
    answers = send_at(venue, clock, 0.0, 3)
    assert {a["reason"] for a in answers} == {"NOT_LOGGED_ON"}
    stats = venue.stats()
    assert (stats["notLoggedOn"], stats["limitViolations"]) == (3, 1)
    assert stats["maxInAnySlidingSecond"] == 3


def test_rate_limit_rejection_comes_before_duplicate_detection(clock: FakeClock) -> None:
    venue = make_venue(clock, rate_limit=1)
    venue.logon(SENDER)
    assert send_at(venue, clock, 0.0)[0]["result"] == "ACCEPT"
    clock.set(0.5)
    over = venue.receive(message("NEW", "B")).answer
    assert over["reason"] == "RATE_LIMIT"
    clock.set(2.0)
    # B was never seen (rejected at the gate), so this is a fresh order, not a duplicate.
    fresh = venue.receive(message("NEW", "B")).answer
    assert (fresh["result"], fresh["duplicate"]) == ("ACCEPT", False)


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
    venue.logon(SENDER)
    for seconds, n in [(0.0, 3), (0.4, 4), (0.99, 2), (1.0, 1), (1.4, 3), (2.5, 6)]:
        send_at(venue, clock, seconds, n)
    # Windows ending at each send: (-0.01, 0.99] = 3+4+2 = 9; (0.0, 1.0] = 4+2+1 = 7 (the three
    # at 0.0 have just left); (0.4, 1.4] = 2+1+3 = 6; (1.5, 2.5] = 6.
    assert venue.stats()["maxInAnySlidingSecond"] == 9


def test_window_counter_refuses_a_clock_going_backwards() -> None:
    counter = SlidingWindowCounter()
    counter.add(10)
    with pytest.raises(ValueError):
        counter.add(9)


# -- log, stats, reset ------------------------------------------------------------------------


def test_message_log_records_everything_in_seq_order(venue: Venue, clock: FakeClock) -> None:
    clock.set(1.25)
    venue.receive(message("NEW", "A", requestId="r1"))
    clock.set(1.5)
    venue.receive(message("CANCEL", "A", requestId="r2"))
    page = venue.messages(since=0)
    assert [m["seq"] for m in page["messages"]] == [1, 2]
    first = page["messages"][0]
    assert first["receivedMonotonicNs"] == 1_250_000_000
    assert (first["kind"], first["requestId"], first["clientOrderId"]) == ("NEW", "r1", "A")
    assert first["senderCompId"] == SENDER and first["venue"] == "XTEST"
    assert first["body"]["symbol"] == "ACME"
    assert first["answer"]["result"] == "ACCEPT"
    assert "." in first["receivedAt"]  # microseconds present
    assert [m["seq"] for m in venue.messages(since=1)["messages"]] == [2]
    assert venue.messages(since=2)["messages"] == []


def test_message_log_pages_with_limit(venue: Venue, clock: FakeClock) -> None:
    send_at(venue, clock, 0.0, 10)
    page = venue.messages(since=3, limit=4)
    assert [m["seq"] for m in page["messages"]] == [4, 5, 6, 7]
    assert page["hasMore"] is True and page["lastSeq"] == 10


def test_message_log_is_capped_and_says_so(clock: FakeClock) -> None:
    venue = make_venue(clock, log_cap=3)
    venue.logon(SENDER)
    send_at(venue, clock, 0.0, 5)
    page = venue.messages(since=0)
    assert [m["seq"] for m in page["messages"]] == [3, 4, 5]
    assert page["gap"] is True and page["oldestRetainedSeq"] == 3
    assert venue.messages(since=2)["gap"] is False
    assert venue.stats()["received"] == 5  # counters are never capped


def test_reset_clears_everything_but_config(venue: Venue, clock: FakeClock) -> None:
    venue.config = venue.config.updated({"rateLimit": 2})
    send_at(venue, clock, 0.0, 3)
    venue.reset()
    stats = venue.stats()
    assert stats["state"] == "LOGGED_OUT"
    assert stats["received"] == stats["limitViolations"] == stats["maxInAnySlidingSecond"] == 0
    assert stats["lastSeq"] == 0 and venue.book() == {} and venue.messages()["messages"] == []
    assert stats["rateLimit"] == 2
    venue.reset(config=True)
    assert venue.stats()["rateLimit"] == 100


def test_venue_order_ids_are_not_reused_after_reset(venue: Venue) -> None:
    first = venue.receive(message("NEW", "A")).answer["venueOrderId"]
    venue.reset()
    venue.logon(SENDER)
    assert venue.receive(message("NEW", "A")).answer["venueOrderId"] != first


def test_latency_is_sampled_within_the_configured_range(clock: FakeClock) -> None:
    venue = make_venue(clock, latency="2-4")
    venue.logon(SENDER)
    delays = [venue.receive(message()).latency_s for _ in range(200)]
    assert all(0.002 <= d <= 0.004 for d in delays)
    assert len(set(delays)) > 1
    venue.config = venue.config.updated({"latencyMs": 5})
    assert venue.receive(message()).latency_s == 0.005


def test_log_shows_what_each_message_carried_even_for_a_duplicate(venue: Venue) -> None:
    venue.receive(message("NEW", "A"))
    venue.receive(message("CANCEL", "A", requestId="c1"))
    # A buggy resend: same requestId, different order. The answer repeats the first decision;
    # the log still records what this message said.
    answer = venue.receive(message("CANCEL", "B", requestId="c1")).answer
    assert (answer["duplicate"], answer["clientOrderId"]) == (True, "A")
    logged = venue.messages(since=2)["messages"][0]
    assert (logged["clientOrderId"], logged["body"]["clientOrderId"]) == ("B", "B")
    assert logged["answer"] == answer
