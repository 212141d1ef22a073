"""The venue's message log, counters, reset and latency draws."""

from __future__ import annotations

from exchange.venue import Venue

from .clock import FakeClock
from .venue_messages import answer, cancel, make_venue, new_order, status


def test_log_records_every_message_with_what_it_carried_and_its_answer() -> None:
    clock = FakeClock(1.25)
    venue = make_venue(clock)
    inbound = new_order("A")
    receipt = venue.receive(inbound)
    clock.set(1.5)
    venue.receive(cancel("A", "C1"))
    page = venue.messages(since=0)
    first = page["messages"][0]
    assert first == {
        "seq": 1, "receivedAt": "2026-03-02T12:00:00.000000+00:00",
        "receivedMonotonicNs": 1_250_000_000, "venue": "XTEST", "clientCompId": "OMS",
        "msgSeqNum": inbound.msg_seq_num, "possDup": False, "msgType": "D", "clOrdId": "A",
        "origClOrdId": None, "raw": inbound.raw,
        "answers": [{"msgType": "8", "execType": "0", "ordStatus": "0",
                     "execId": dict(receipt.answer.fields)[17], "raw": None}],
        "silenced": False,
    }  # fmt: skip
    assert page["messages"][1]["origClOrdId"] == "A"
    # The transport fills in the text as sent; the log shows it from then on.
    assert receipt.answer.record is not None
    receipt.answer.record.raw = "8=FIX.4.4|35=8|..."
    assert venue.messages()["messages"][0]["answers"][0]["raw"] == "8=FIX.4.4|35=8|..."


def test_log_pages_with_since_and_limit() -> None:
    venue = make_venue()
    for i in range(10):
        answer(venue, new_order(f"O{i}"))
    page = venue.messages(since=3, limit=4)
    assert [m["seq"] for m in page["messages"]] == [4, 5, 6, 7]
    assert (page["hasMore"], page["lastSeq"], page["gap"]) == (True, 10, False)
    assert venue.messages(since=10)["messages"] == []


def test_log_is_capped_and_says_so() -> None:
    venue = make_venue(log_cap=3)
    for i in range(5):
        answer(venue, new_order(f"O{i}"))
    page = venue.messages(since=0)
    assert [m["seq"] for m in page["messages"]] == [3, 4, 5]
    assert (page["gap"], page["oldestRetainedSeq"], page["logCap"]) == (True, 3, 3)
    assert venue.messages(since=2)["gap"] is False
    assert venue.stats()["received"] == 5  # counters are never capped


def test_received_is_accepted_plus_rejected() -> None:
    venue = make_venue(rate_limit=6)
    answer(venue, new_order("A"))
    answer(venue, new_order("A"))  # duplicate of an accepted order: accepted
    answer(venue, new_order("B", t55=None))  # invalid
    answer(venue, cancel("nope", "C1"))  # unknown
    answer(venue, status("A"))  # found
    answer(venue, status("zzz"))  # unknown
    answer(venue, new_order("D"))  # over the limit
    stats = venue.stats()
    assert (stats["received"], stats["accepted"], stats["rejected"]) == (7, 3, 4)
    assert stats["rejectsByReason"] == {"INVALID_ORDER": 1, "RATE_LIMIT": 1, "UNKNOWN_ORDER": 2}
    assert (stats["duplicates"], stats["limitViolations"], stats["lastSeq"]) == (1, 1, 7)


def test_reset_forgets_everything_but_config_unless_asked() -> None:
    venue = make_venue(rate_limit=2)
    venue.update_config({"rateLimit": 3})
    for i in range(4):
        answer(venue, new_order(f"O{i}"))
    venue.reset()
    stats = venue.stats()
    assert stats["received"] == stats["limitViolations"] == stats["maxInAnySlidingSecond"] == 0
    assert (stats["lastSeq"], venue.book(), venue.messages()["messages"]) == (0, {}, [])
    assert stats["rateLimit"] == 3
    # Decisions are forgotten too: the same ClOrdID is a new order again.
    assert answer(venue, new_order("O0"))[150] == "0"
    venue.reset(config=True)
    assert venue.stats()["rateLimit"] == 2


def test_latency_is_drawn_per_message_within_the_configured_range() -> None:
    venue: Venue = make_venue(latency="2-4", rate_limit=1000)
    delays = [venue.receive(new_order(f"O{i}")).latency_s for i in range(200)]
    assert all(0.002 <= d <= 0.004 for d in delays)
    assert len(set(delays)) > 1
    venue.update_config({"latencyMs": 5})
    assert venue.receive(new_order("X")).latency_s == 0.005
