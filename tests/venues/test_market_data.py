"""Market data on the order session (docs/fix.md, "Market data"): the OMS's session holder
against an independent QuickFIX acceptor that answers 35=V with 35=W (tests/venues/peer.py).
Refreshes land in Redis, newest by SendingTime; refusals and silence change nothing else."""

import logging
import time
from datetime import datetime

import pytest
import quickfix as fix
from django.test import override_settings

from dispatch.models import UnmatchedResponse
from marketdata.quotes import QuoteStore, quote_key
from tests.venues.conftest import VENUE, session_state, wait_until
from tests.venues.test_fix_session import new_order, send
from venues.fix.marketdata import quote_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def demo_symbols():
    with override_settings(OMS_MARKET_DATA_SYMBOLS=["AAPL", "MSFT"], OMS_MARKET_DATA_DEPTH=5):
        yield


def cached(limiter_redis, symbol: str) -> dict[str, str]:
    stored = limiter_redis.hgetall(quote_key(VENUE, symbol))
    return {k.decode(): v.decode() for k, v in stored.items()}


def logged_on(holders) -> None:
    holders()
    wait_until(lambda: session_state() == "LOGGED_ON", what="logon")


def test_at_logon_it_subscribes_to_the_configured_and_open_orders_symbols(
    fix_venue, peer, holders, limiter_redis
):
    new_order("c1", symbol="IBM")  # queued: open, so its market data is wanted at logon
    peer.quotes["AAPL"] = {"bids": [("189.5", "300"), ("189.4", "500")],
                           "asks": [("189.6", "200"), ("189.7", "100")], "last": ("189.55", "50")}
    logged_on(holders)

    request = wait_until(lambda: peer.md_requests and peer.md_requests[0], what="a V")
    assert sorted(request["symbols"]) == ["AAPL", "IBM", "MSFT"]
    tags = request["tags"]
    assert (tags[263], tags[264], tags[265]) == ("1", "5", "0")  # snapshot+updates, full
    assert sorted(request["entryTypes"]) == ["0", "1", "2"]
    # It went with a rate-limit slot, as an order would (the venue counts it).
    assert limiter_redis.zcard(f"oms:limiter:{VENUE}:log") >= 1

    quote = wait_until(lambda: cached(limiter_redis, "AAPL").get("bid"), what="AAPL cached")
    assert quote == "189.5"
    aapl = cached(limiter_redis, "AAPL")
    assert (aapl["bidSize"], aapl["ask"], aapl["askSize"]) == ("300", "189.6", "200")
    assert (aapl["last"], aapl["lastSize"]) == ("189.55", "50")
    assert aapl["bids"] == '[["189.5", "300"], ["189.4", "500"]]'
    assert aapl["ts"].endswith("Z") and datetime.fromisoformat(aapl["ts"].replace("Z", "+00:00"))
    wait_until(lambda: cached(limiter_redis, "IBM").get("bid") == "150", what="IBM cached")
    assert cached(limiter_redis, "MSFT")["ask"] == "150.5"
    assert limiter_redis.sismember("oms:md:venues:AAPL", VENUE)


def test_an_order_for_a_new_symbol_subscribes_once_per_session_and_again_after_a_logon(
    fix_venue, peer, holders, limiter_redis
):
    logged_on(holders)
    wait_until(lambda: len(peer.md_requests) == 1, what="the logon's V")

    send(new_order("c1", symbol="TSLA"), "NEW")
    wait_until(lambda: len(peer.md_requests) == 2, what="a V for TSLA")
    assert peer.md_requests[1]["symbols"] == ["TSLA"]
    send(new_order("c2", symbol="TSLA"), "NEW")
    send(new_order("c3", symbol="AAPL"), "NEW")  # subscribed at logon already
    time.sleep(0.5)
    assert len(peer.md_requests) == 2

    peer.session().disconnect()  # a new session: everything is asked for again
    wait_until(lambda: peer.logons == 2 and session_state() == "LOGGED_ON", timeout=15,
               what="the reconnect")
    wait_until(lambda: len(peer.md_requests) == 3, what="the second logon's V")
    assert sorted(peer.md_requests[2]["symbols"]) == ["AAPL", "MSFT", "TSLA"]
    wait_until(lambda: cached(limiter_redis, "TSLA").get("bid"), what="TSLA cached")


def test_a_symbol_someone_found_no_quote_for_is_subscribed_within_a_second(
    fix_venue, peer, holders, limiter_redis
):
    logged_on(holders)
    wait_until(lambda: len(peer.md_requests) == 1, what="the logon's V")
    QuoteStore(limiter_redis).want("NFLX")  # what a routed order does when no venue quotes it
    wait_until(lambda: len(peer.md_requests) == 2, timeout=5, what="a V for NFLX")
    assert peer.md_requests[1]["symbols"] == ["NFLX"]
    time.sleep(1.5)
    assert len(peer.md_requests) == 2  # asked once a session, not at every look


def test_a_newer_refresh_replaces_the_cached_one_and_a_resend_leaves_the_newest(
    fix_venue, peer, holders, limiter_redis
):
    logged_on(holders)
    wait_until(lambda: cached(limiter_redis, "MSFT").get("bid") == "150", what="MSFT")
    first_ts = cached(limiter_redis, "MSFT")["ts"]

    peer.send_quote("MSFT", bids=[("410", "5")], asks=[("411", "5")])
    wait_until(lambda: cached(limiter_redis, "MSFT")["bid"] == "410", what="the update")
    assert cached(limiter_redis, "MSFT")["ts"] > first_ts

    # The OMS loses track of what it read since the logon, and asks for it again: the venue
    # resends the logon's refreshes (PossDup, with their OrigSendingTime) after the newer one.
    resends_before = len(peer.admin("2"))
    ours = fix.Session.lookupSession(fix.SessionID("FIX.4.4", "OMS", VENUE))
    ours.setNextTargetMsgSeqNum(2)
    peer.send_quote("AAPL", bids=[("190", "1")], asks=[("191", "1")])  # a marker after them
    wait_until(lambda: len(peer.admin("2")) > resends_before, what="a ResendRequest")
    wait_until(lambda: cached(limiter_redis, "AAPL")["bid"] == "190", what="the marker")
    time.sleep(0.3)
    assert cached(limiter_redis, "MSFT")["bid"] == "410"
    assert ours.getExpectedTargetNum() == peer.session().getExpectedSenderNum()


@pytest.mark.parametrize("mode", ["reject", "business_reject", "silent"])
def test_a_venue_that_refuses_or_ignores_market_data_disturbs_nothing(
    fix_venue, peer, holders, limiter_redis, caplog, mode
):
    peer.md_mode = mode
    caplog.set_level(logging.WARNING, logger="venues.fix")
    logged_on(holders)
    wait_until(lambda: peer.md_requests, what="a V")
    order = new_order("c1", symbol="AAPL")
    send(order, "NEW")
    from orders import services

    services.order_cancel(order_id=order.pk, actor="t")
    send(order, "CANCELED")

    if mode != "silent":
        wait_until(lambda: "refused" in caplog.text, what="the refusal logged")
    assert not UnmatchedResponse.objects.exists()  # nothing stored or flagged for the books
    assert not limiter_redis.exists(quote_key(VENUE, "AAPL"))
    assert session_state() == "LOGGED_ON" and peer.logons == 1


def refresh(*, seq: int, sending: str, bid: str, poss_dup_of: str | None = None) -> str:
    header = f"8=FIX.4.4|9=1|35=W|34={seq}|49=XPEER|52={sending}|56=OMS|"
    if poss_dup_of is not None:
        header += f"43=Y|{'122=' + poss_dup_of + '|' if poss_dup_of else ''}"
    body = f"262=MD-1|55=IBM|268=2|269=0|270={bid}|271=7|1023=1|269=1|270=999|271=1|1023=1|"
    return (header + body + "10=000|").replace("|", "\x01")


def test_the_newest_by_sending_time_is_kept_and_a_possdup_resend_is_old_news(limiter_redis):
    """The cache's rule on refreshes as a venue sends them (a resend keeps its first
    SendingTime as OrigSendingTime, and carries the time of the resend as SendingTime)."""
    store = QuoteStore(limiter_redis)

    def apply(raw: str) -> int:
        _, quote = quote_of(raw, venue_code=VENUE)
        return store.put([quote]) if quote else 0

    assert apply(refresh(seq=5, sending="20260102-10:00:01.000", bid="101")) == 1
    assert apply(refresh(seq=6, sending="20260102-10:00:00.500", bid="100")) == 0  # older
    assert apply(refresh(seq=3, sending="20260102-10:00:09.000", bid="99",
                         poss_dup_of="20260102-10:00:00.000")) == 0  # a resend: old news
    assert apply(refresh(seq=4, sending="20260102-10:00:09.000", bid="98",
                         poss_dup_of="")) == 0  # a resend without OrigSendingTime: unknown age
    assert cached(limiter_redis, "IBM")["bid"] == "101"
    assert apply(refresh(seq=7, sending="20260102-10:00:02.000", bid="102")) == 1
    stored = cached(limiter_redis, "IBM")
    assert (stored["bid"], stored["bidSize"], stored["ask"]) == ("102", "7", "999")
    assert stored["ts"] == "2026-01-02T10:00:02.000Z"
