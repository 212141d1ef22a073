"""Rules 2 to 6 of docs/fix.md, one test per rule and answer, on the pure venue."""

from __future__ import annotations

import pytest

from exchange.venue import Venue

from .clock import FakeClock, FakeWallClock
from .venue_messages import answer, cancel, make_venue, message, new_order, replace, status


@pytest.fixture
def venue() -> Venue:
    return make_venue()


# -- D ----------------------------------------------------------------------------------------


def test_new_order_is_accepted_with_leaves_equal_to_quantity(venue: Venue) -> None:
    ack = answer(venue, new_order("A", t38="100.5"))
    assert (ack[35], ack[150], ack[39], ack[11]) == ("8", "0", "0", "A")
    assert (ack[151], ack[14], ack[6], ack[38]) == ("100.5", "0", "0", "100.5")
    assert (ack[37], ack[526], ack[1], ack[55], ack[54], ack[44], ack[59]) == (
        "XTEST-1", "client-A", "ACC1", "ACME", "1", "10.50", "0")  # fmt: skip
    assert ack[17]
    assert venue.book()["A"] == {
        "orderId": "XTEST-1", "clientCompId": "OMS", "clOrdId": "A", "clOrdIds": ["A"],
        "secondaryClOrdId": "client-A", "account": "ACC1", "symbol": "ACME", "side": "BUY",
        "orderType": "LIMIT", "quantity": "100.5", "limitPrice": "10.50", "stopPrice": None,
        "timeInForce": "DAY", "status": "NEW", "cumQty": "0", "leavesQty": "100.5", "avgPx": "0",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("tags", "named"),
    [
        ({"t55": None}, "Symbol(55)"),
        ({"t40": "2", "t44": None}, "Price(44)"),
        ({"t40": "4", "t99": None}, "StopPx(99)"),
        ({"t40": "3", "t99": None, "t44": None}, "StopPx(99)"),
        ({"t38": "0"}, "OrderQty(38)"),
        ({"t38": "-5"}, "OrderQty(38)"),
        ({"t38": None}, "OrderQty(38)"),
        ({"t44": "0"}, "Price(44)"),
        ({"t40": "P"}, "OrdType(40)"),
        ({"t54": "5"}, "Side(54)"),
        ({"t59": "6"}, "TimeInForce(59)"),
    ],
)
def test_new_order_missing_what_its_type_needs_is_rejected_naming_the_field(
    venue: Venue, tags: dict[str, str | None], named: str
) -> None:
    reply = answer(venue, new_order("A", **tags))
    assert (reply[35], reply[150], reply[39], reply[103]) == ("8", "8", "8", "99")
    assert reply[58].startswith("INVALID_ORDER ") and named in reply[58]
    assert (reply[37], reply[151], reply[11]) == ("NONE", "0", "A")
    assert venue.book() == {}


def test_market_and_stop_orders_need_only_their_own_prices(venue: Venue) -> None:
    assert answer(venue, new_order("M", t40="1", t44=None))[150] == "0"
    assert answer(venue, new_order("S", t40="3", t44=None, t99="9.5"))[150] == "0"
    book = venue.book()
    assert (book["M"]["orderType"], book["M"]["limitPrice"]) == ("MARKET", None)
    assert (book["S"]["orderType"], book["S"]["stopPrice"]) == ("STOP", "9.5")


def test_time_in_force_defaults_to_day(venue: Venue) -> None:
    answer(venue, new_order("A", t59=None))
    assert venue.book()["A"]["timeInForce"] == "DAY"


def test_random_reject_ratio_one_rejects_every_new_order() -> None:
    venue = make_venue(reject_ratio=1.0)
    reply = answer(venue, new_order("A"))
    assert (reply[150], reply[39], reply[103], reply[58]) == ("8", "8", "0", "RANDOM_REJECT")
    assert venue.stats()["rejectsByReason"] == {"RANDOM_REJECT": 1}


def test_random_rejects_are_reproducible_with_a_seed() -> None:
    def run() -> list[str]:
        venue = make_venue(reject_ratio=0.5, rate_limit=1000)
        return [answer(venue, new_order(f"O{i}"))[150] for i in range(200)]

    first = run()
    assert first == run()
    assert 50 < first.count("8") < 150


def test_new_order_outside_the_trading_window_is_rejected_exchange_closed() -> None:
    wall = FakeWallClock("2026-03-09T21:00:00+00:00")  # 17:00 in New York
    venue = make_venue(
        wall=wall,
        window={"timeZone": "America/New_York", "openTime": "09:30:00", "closeTime": "16:00:00"},
    )
    reply = answer(venue, new_order("A"))
    assert (reply[150], reply[39], reply[103], reply[58]) == ("8", "8", "2", "EXCHANGE_CLOSED")
    wall.set("2026-03-10T13:30:00+00:00")  # 09:30 EDT
    # The same ClOrdID was decided: its refusal is repeated, not reconsidered.
    assert answer(venue, new_order("A"))[103] == "2"
    assert answer(venue, new_order("B"))[150] == "0"


# -- duplicates -------------------------------------------------------------------------------


def test_duplicate_new_order_restates_the_order_and_books_nothing_new(venue: Venue) -> None:
    first = answer(venue, new_order("A"))
    again = answer(venue, new_order("A", t38="999"))
    assert (again[150], again[39], again[58], again[11]) == ("I", "0", "DUPLICATE_CLORDID", "A")
    assert (again[37], again[38]) == (first[37], "100")
    assert again[17] != first[17]
    assert list(venue.book()) == ["A"] and venue.book()["A"]["quantity"] == "100"
    stats = venue.stats()
    assert (stats["duplicates"], stats["orders"], stats["accepted"]) == (1, 1, 2)


def test_duplicate_restates_the_order_as_it_is_now(venue: Venue) -> None:
    answer(venue, new_order("A"))
    answer(venue, cancel("A", "A-c"))
    again = answer(venue, new_order("A"))
    assert (again[150], again[39], again[151]) == ("I", "4", "0")


def test_duplicate_of_a_rejected_order_repeats_the_reject_with_a_new_exec_id() -> None:
    venue = make_venue(reject_ratio=1.0)
    first = answer(venue, new_order("A"))
    venue.update_config({"rejectRatio": 0})
    again = answer(venue, new_order("A"))
    assert {k: v for k, v in again.items() if k not in (17, 60)} == {
        k: v for k, v in first.items() if k not in (17, 60)}  # fmt: skip
    assert again[17] != first[17]
    assert venue.book() == {}
    assert venue.stats()["rejectsByReason"] == {"RANDOM_REJECT": 2}


def test_duplicate_replace_changes_nothing_twice(venue: Venue) -> None:
    answer(venue, new_order("A"))
    assert answer(venue, replace("A", "A2", t38="60"))[150] == "5"
    again = answer(venue, replace("A", "A2", t38="70"))
    assert (again[150], again[58], again[38], again[11], again[41]) == (
        "I", "DUPLICATE_CLORDID", "60", "A2", "A")  # fmt: skip
    assert venue.book()["A"]["clOrdIds"] == ["A", "A2"]


def test_duplicate_of_a_cancel_reject_sends_the_same_cancel_reject(venue: Venue) -> None:
    first = answer(venue, cancel("nope", "C1"))
    answer(venue, new_order("nope"))  # now an order with that ClOrdID exists
    assert answer(venue, cancel("nope", "C1")) == first


def test_a_clordid_used_by_a_new_order_cannot_name_a_replace(venue: Venue) -> None:
    answer(venue, new_order("A"))
    reply = answer(venue, replace("A", "A"))
    assert (reply[35], reply[150], reply[58]) == ("8", "I", "DUPLICATE_CLORDID")
    assert venue.book()["A"]["quantity"] == "100"


# -- G and F ----------------------------------------------------------------------------------


def test_replace_changes_terms_and_its_clordid_becomes_current(venue: Venue) -> None:
    answer(venue, new_order("A", t59="1"))
    reply = answer(venue, replace("A", "A2", t38="40", t44="10.40", t59=None))
    assert (reply[150], reply[39], reply[11], reply[41]) == ("5", "0", "A2", "A")
    assert (reply[38], reply[44], reply[151], reply[59]) == ("40", "10.40", "40", "1")
    order = venue.book()["A"]
    assert (order["clOrdId"], order["quantity"], order["timeInForce"]) == ("A2", "40", "GTC")


def test_replace_and_cancel_must_name_the_current_clordid(venue: Venue) -> None:
    answer(venue, new_order("A"))
    answer(venue, replace("A", "A2"))
    stale = answer(venue, cancel("A", "C1"))  # A is no longer current
    assert (stale[35], stale[102], stale[39], stale[434], stale[37]) == (
        "9", "1", "8", "1", "NONE")  # fmt: skip
    stale_replace = answer(venue, replace("A", "A3"))
    assert (stale_replace[35], stale_replace[102], stale_replace[434]) == ("9", "1", "2")
    assert answer(venue, cancel("A2", "C2"))[150] == "4"


def test_an_order_id_that_disagrees_with_the_clordid_makes_the_order_unknown(venue: Venue) -> None:
    answer(venue, new_order("A"))
    assert answer(venue, cancel("A", "C1", t37="XTEST-99"))[102] == "1"
    assert answer(venue, cancel("A", "C2", t37="XTEST-1"))[150] == "4"


def test_cancel_of_an_unknown_order_is_rejected(venue: Venue) -> None:
    reply = answer(venue, cancel("nope", "C1"))
    assert reply == {35: "9", 37: "NONE", 11: "C1", 41: "nope", 39: "8", 434: "1", 102: "1",
                     58: "UNKNOWN_ORDER", 526: "client", 1: "ACC1"}  # fmt: skip


def test_cancel_closes_the_order_and_later_amends_are_too_late(venue: Venue) -> None:
    answer(venue, new_order("A"))
    reply = answer(venue, cancel("A", "C1"))
    assert (reply[150], reply[39], reply[11], reply[41], reply[151]) == ("4", "4", "C1", "A", "0")
    assert venue.book()["A"]["status"] == "CANCELED"
    too_late = answer(venue, cancel("C1", "C2"))
    assert (too_late[35], too_late[102], too_late[39]) == ("9", "0", "4")
    assert answer(venue, replace("C1", "R1"))[102] == "0"


@pytest.mark.parametrize(
    ("tags", "named"),
    [
        ({"t55": "OTHER"}, "Symbol(55)"),
        ({"t54": "2"}, "Side(54)"),
        ({"t40": "1", "t44": None}, "OrdType(40)"),
        ({"t38": "0"}, "OrderQty(38)"),
        ({"t44": None}, "Price(44)"),
    ],
)
def test_replace_that_changes_what_it_may_not_is_rejected(
    venue: Venue, tags: dict[str, str | None], named: str
) -> None:
    answer(venue, new_order("A"))
    reply = answer(venue, replace("A", "A2", **tags))
    assert (reply[35], reply[102], reply[434], reply[39]) == ("9", "99", "2", "0")
    assert named in reply[58]
    assert venue.book()["A"]["clOrdId"] == "A"


# -- H ----------------------------------------------------------------------------------------


def test_status_finds_the_order_by_any_accepted_clordid_or_order_id(venue: Venue) -> None:
    answer(venue, new_order("A"))
    answer(venue, replace("A", "A2"))
    answer(venue, replace("A2", "bad", t55="OTHER"))  # rejected: not an accepted ClOrdID
    for key in (status("A"), status("A2"), status("zzz", t37="XTEST-1")):
        reply = answer(venue, key)
        assert (reply[150], reply[39], reply[11], reply[790], reply[38]) == (
            "I", "0", "A2", "status-1", "50")  # fmt: skip
    unknown = answer(venue, status("bad"))
    assert (unknown[150], unknown[39], unknown[103], unknown[58], unknown[37]) == (
        "I", "8", "5", "UNKNOWN_ORDER", "NONE")  # fmt: skip
    assert unknown[790] == "status-1"


def test_status_requests_are_never_duplicates(venue: Venue) -> None:
    answer(venue, new_order("A"))
    answer(venue, status("A"))
    answer(venue, status("A"))
    assert venue.stats()["duplicates"] == 0


def test_unsupported_application_message_is_answered_j(venue: Venue) -> None:
    reply = answer(venue, message("R", {131: "q1", 55: "ACME"}))
    assert (reply[35], reply[372], reply[380]) == ("j", "R", "3")
    assert venue.stats()["rejectsByReason"] == {"UNSUPPORTED_MESSAGE_TYPE": 1}


# -- 6: DAY orders at the close, and the venue's own cancel -----------------------------------


def new_york_venue(wall: FakeWallClock) -> Venue:
    return make_venue(
        wall=wall,
        window={"timeZone": "America/New_York", "openTime": "09:30:00", "closeTime": "16:00:00"},
    )


def test_day_orders_expire_at_the_close_and_gtc_orders_stay() -> None:
    wall = FakeWallClock("2026-03-09T19:00:00+00:00")  # 15:00 EDT
    venue = new_york_venue(wall)
    answer(venue, new_order("DAY1"))
    answer(venue, new_order("GTC1", t59="1"))
    wall.set("2026-03-09T19:59:59.999999+00:00")
    assert venue.advance_clock() == []
    wall.set("2026-03-09T20:00:00+00:00")
    expired = venue.advance_clock()
    assert [(dict(r.fields)[150], dict(r.fields)[39], dict(r.fields)[11], dict(r.fields)[151])
            for r in expired] == [("C", "C", "DAY1", "0")]  # fmt: skip
    assert expired[0].client == "OMS"
    assert venue.advance_clock() == []  # once per close
    book = venue.book()
    assert (book["DAY1"]["status"], book["GTC1"]["status"]) == ("EXPIRED", "NEW")
    assert venue.stats()["expired"] == 1


def test_a_message_after_the_close_finds_day_orders_already_expired() -> None:
    wall = FakeWallClock("2026-03-09T19:00:00+00:00")
    venue = new_york_venue(wall)
    answer(venue, new_order("A"))
    wall.set("2026-03-09T20:00:00.5+00:00")  # the timer has not run yet
    receipt = venue.receive(cancel("A", "C1"))
    assert [dict(r.fields)[150] for r in receipt.unsolicited] == ["C"]
    assert dict(receipt.answer.fields)[102] == "0"  # too late: it expired first


def test_close_on_demand_expires_day_orders_and_refuses_new_ones_until_open() -> None:
    wall = FakeWallClock("2026-03-09T15:00:00+00:00")  # 11:00 EDT, open
    venue = new_york_venue(wall)
    answer(venue, new_order("A"))
    expired = venue.close_now()
    assert [dict(r.fields)[150] for r in expired] == ["C"]
    assert answer(venue, new_order("B"))[103] == "2"
    venue.open_now()
    assert answer(venue, new_order("C"))[150] == "0"


def test_a_window_change_that_closes_the_venue_is_a_close() -> None:
    wall = FakeWallClock("2026-03-09T15:00:00+00:00")
    venue = new_york_venue(wall)
    answer(venue, new_order("A"))
    expired = venue.update_config({"openTime": "12:00:00"})  # 11:00 is now before the open
    assert [dict(r.fields)[11] for r in expired] == ["A"]
    assert not venue.stats()["tradingOpen"]


def test_venue_cancel_is_unsolicited_with_the_current_clordid(venue: Venue) -> None:
    answer(venue, new_order("A"))
    answer(venue, replace("A", "A2"))
    report = venue.cancel_order("A")
    fields = dict(report.fields)
    assert (fields[150], fields[39], fields[11], fields[58]) == (
        "4", "4", "A2", "CANCELED_BY_VENUE")  # fmt: skip
    assert 41 not in fields
    with pytest.raises(ValueError):
        venue.cancel_order("A2")
    with pytest.raises(LookupError):
        venue.cancel_order("nope")


# -- identifiers ------------------------------------------------------------------------------


def test_exec_ids_and_order_ids_are_never_reused_even_across_reset() -> None:
    venue = make_venue(clock=FakeClock())
    seen_exec, seen_orders = set(), set()
    for _ in range(3):
        for i in range(5):
            ack = answer(venue, new_order(f"O{i}"))
            dup = answer(venue, new_order(f"O{i}"))
            seen_exec |= {ack[17], dup[17]}
            seen_orders.add(ack[37])
        venue.reset()
    assert len(seen_exec) == 30 and len(seen_orders) == 15
    assert all(exec_id.startswith("XTEST-run1-") for exec_id in seen_exec)
    assert all(order_id.startswith("XTEST-") for order_id in seen_orders)
