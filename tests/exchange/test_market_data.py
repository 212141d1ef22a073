"""Market data at the venue (exchange/market_data.py): V in, W and Y out, as docs/fix.md
"Market data" says; over a real FIX session in test_market_process.py."""

from __future__ import annotations

from exchange.order_rules import Inbound

from .clock import FakeClock
from .market_helpers import market_venue, order, send, set_book

MS = 1_000_000


def md_request(md_req_id: str, *symbols: str, kind: str = "1", depth: str = "0",
               types: tuple[str, ...] = ("0", "1", "2"), update: str | None = "0",
               client: str = "OMS") -> Inbound:  # fmt: skip
    """A V as QuickFIX delivers it: its repeating groups in order."""
    tags = [(35, "V"), (34, "9"), (49, client), (56, "XTEST"), (262, md_req_id), (263, kind),
            (264, depth)]  # fmt: skip
    if update is not None:
        tags.append((265, update))
    tags += [(267, str(len(types)))] + [(269, kind_) for kind_ in types]
    tags += [(146, str(len(symbols)))] + [(55, symbol) for symbol in symbols]
    return Inbound.from_text(client, "|".join(f"{tag}={value}" for tag, value in tags))


def entries(report) -> list[tuple[str, ...]]:
    (_, _, rows), = report.groups
    return [tuple(value for _, value in row) for row in rows]


def answers(venue, inbound):
    return venue.receive(inbound).answers


def test_a_snapshot_then_updates_on_change_at_most_every_200_ms() -> None:
    clock = FakeClock()
    venue = market_venue(clock)
    set_book(venue, bids=(("99.99", "100"), ("99.98", "200")), asks=(("100.01", "300"),),
             last="100.00")  # fmt: skip
    (snapshot,) = answers(venue, md_request("m1", "AAPL"))
    assert snapshot.msg_type == "W"
    assert (snapshot.get(262), snapshot.get(55)) == ("m1", "AAPL")
    assert entries(snapshot) == [("0", "99.99", "100", "1"), ("0", "99.98", "200", "2"),
                                 ("1", "100.01", "300", "1"), ("2", "100.00")]  # fmt: skip
    assert venue.advance_market(clock.now_ns) == []  # nothing changed
    send(venue, order("T", qty="50", price="100.01", tif="3"))  # a trade: book and last
    clock.set(0.1)
    assert venue.advance_market(clock.now_ns) == []  # changed, but only 100 ms ago
    clock.set(0.2)
    (update,) = venue.advance_market(clock.now_ns)
    assert entries(update)[2:] == [("1", "100.01", "250", "1"), ("2", "100.01", "50")]
    clock.set(0.5)
    assert venue.advance_market(clock.now_ns) == []  # no change since


def test_depth_and_entry_types_shape_the_snapshot() -> None:
    venue = market_venue(levels=5)
    (top,) = answers(venue, md_request("d", "AAPL", depth="2", types=("1",), kind="0"))
    assert entries(top) == [("1", price, size, str(n)) for n, (price, size) in
                            enumerate(((lv["price"], lv["size"]) for lv in
                                       venue.market.snapshot("AAPL")["asks"][:2]), start=1)]
    (full,) = answers(venue, md_request("f", "AAPL", depth="0", types=("0",), kind="0"))
    assert len(entries(full)) == 5
    assert len(venue.market.desk) == 0  # 263=0: a snapshot, no subscription


def test_what_the_venue_cannot_serve_gets_a_y() -> None:
    venue = market_venue()
    mixed = answers(venue, md_request("u", "AAPL", "NOPE"))
    assert [(a.msg_type, a.get(281), a.get(58)) for a in mixed] == [
        ("W", None, None), ("Y", "0", "UNKNOWN_SYMBOL NOPE")]
    for request, reason in ((md_request("u", "AAPL"), "1"),  # still subscribed
                            (md_request("i", "AAPL", update="1"), "6"),
                            (md_request("t", "AAPL", types=("0", "5")), "8"),
                            (md_request("k", "AAPL", kind="7"), "4")):  # fmt: skip
        (reply,) = answers(venue, request)
        assert (reply.msg_type, reply.get(262), reply.get(281)) == ("Y", request.fields[262],
                                                                     reason)  # fmt: skip
    assert venue.stats()["rejectsByReason"]["DUPLICATE_MDREQID"] == 1


def test_an_unsubscribe_or_a_logout_ends_the_updates() -> None:
    clock = FakeClock()
    venue = market_venue(clock)
    answers(venue, md_request("a", "AAPL"))
    answers(venue, md_request("b", "AAPL", client="OMS2"))
    assert answers(venue, md_request("a", "AAPL", kind="2")) == []
    venue.step_market()
    clock.set(1)
    assert [report.client for report in venue.advance_market(clock.now_ns)] == ["OMS2"]
    venue.logged_out("OMS2")
    venue.step_market()
    clock.set(2)
    assert venue.advance_market(clock.now_ns) == []


def test_a_market_data_request_counts_in_the_rate_limit_like_any_message() -> None:
    venue = market_venue(rateLimit=1)
    answers(venue, md_request("a", "AAPL"))
    (reply,) = answers(venue, md_request("b", "AAPL"))
    assert (reply.msg_type, reply.get(58)) == ("j", "RATE_LIMIT")


def test_a_v_is_logged_with_its_answers() -> None:
    venue = market_venue()
    venue.receive(md_request("a", "AAPL", "NOPE"))
    venue.receive(md_request("a", "AAPL", kind="2"))
    first, unsubscribe = venue.messages()["messages"]
    assert (first["msgType"], [a["msgType"] for a in first["answers"]]) == ("V", ["W", "Y"])
    assert unsubscribe["answers"] == []
    assert venue.stats()["accepted"] == 2
