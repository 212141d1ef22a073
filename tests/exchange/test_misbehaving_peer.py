"""A peer that breaks the protocol: QuickFIX answers (Reject, Logout, or a dropped connection),
the exchange says so in its log, keeps running, and a good client can still trade."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from .exchange_process import ExchangeProcess
from .raw_peer import RawPeer, transact_time

_good_orders = itertools.count(1)
ORDER = [(11, "X1"), (55, "ACME"), (54, "1"), (60, "20260302-12:00:00.000"), (38, "10"),
         (40, "2"), (44, "10.5")]  # fmt: skip


@pytest.fixture(scope="module")
def exchange() -> Iterator[ExchangeProcess]:
    # Protocol faults, not trading: with the market off, every order rests as NEW.
    process = ExchangeProcess("--venue", "XMOCK", "--venue", "XFAST", "--client", "OMS",
                              "--client", "OMS2", "--latency-ms", "0",
                              "--market", "off")  # fmt: skip
    yield process
    assert process.stop() == 0, process.output()
    assert "Traceback" not in process.output()


@pytest.fixture(autouse=True)
def fresh(exchange: ExchangeProcess) -> Iterator[None]:
    exchange.http("POST", "/reset?config=1")
    yield
    assert exchange.alive()
    good_client_trades(exchange)


def good_client_trades(exchange: ExchangeProcess) -> None:
    peer = RawPeer(exchange.fix_port, sender="OMS", target="XMOCK")
    try:
        peer.logon()
        order = [(11, f"good-{next(_good_orders)}"), *ORDER[1:]]
        peer.send(peer.encode("D", order))
        ack = peer.read_until(lambda m: m.get(35) == b"8")[-1]
        assert ack.get(150) == b"0"
    finally:
        peer.close()


def logged_on_peer(exchange: ExchangeProcess, **logon: int) -> RawPeer:
    peer = RawPeer(exchange.fix_port)
    peer.logon(**logon)
    return peer


def test_a_bad_checksum_is_ignored_and_the_number_asked_again(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = logged_on_peer(exchange)
    good = peer.encode("D", ORDER)
    peer.send(good[:-4] + b"000\x01")
    # Garbled: not answered, not counted; FIX says ignore it and let the gap show.
    assert peer.read(0.4) == []
    exchange.wait_for_line("Invalid message: Expected CheckSum", after=mark)
    peer.send(peer.encode("0", []))  # seq 3: the exchange notices 2 is missing
    resend = peer.read_until(lambda m: m.get(35) == b"2")[-1]
    assert (resend.get(7), resend.get(16)) == (b"2", b"0")
    peer.send(good)  # the real seq 2
    assert peer.read_until(lambda m: m.get(35) == b"8")[-1].get(150) == b"0"


def test_a_wrong_body_length_is_ignored(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = logged_on_peer(exchange)
    good = peer.encode("D", ORDER)
    length = int(good.split(b"\x019=")[1].split(b"\x01")[0])
    peer.send(good.replace(b"\x019=%d\x01" % length, b"\x019=%d\x01" % (length - 7), 1))
    assert peer.read(0.4) == []
    exchange.wait_for_line("Invalid message: Expected BodyLength", after=mark)
    peer.send(good)
    assert peer.read_until(lambda m: m.get(35) == b"8")[-1].get(150) == b"0"


def test_a_missing_required_tag_gets_a_session_reject(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = logged_on_peer(exchange)
    peer.send(peer.encode("D", [pair for pair in ORDER if pair[0] != 40]))
    reject = peer.read_until(lambda m: m.get(35) == b"3")[-1]
    assert (reject.get(373), reject.get(371), reject.get(372), reject.get(45)) == (
        b"1", b"40", b"D", b"2")  # fmt: skip
    exchange.wait_for_line("session reject venue=XFAST client=OMS2 refSeqNum=2 refMsgType=D "
                           "refTagId=40 reason=1", after=mark)  # fmt: skip
    stats = exchange.http("GET", "/venues/XFAST/stats")
    session = next(s for s in stats["sessions"] if s["clientCompId"] == "OMS2")
    assert (session["sessionRejectsSent"], stats["sessionRejected"], stats["received"]) == (1, 1, 0)
    assert stats["maxInAnySlidingSecond"] == 1  # it was on the wire, so it counts


def test_an_unknown_msg_type_gets_a_session_reject(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = logged_on_peer(exchange)
    peer.send(peer.encode("ZZ", [(11, "X1")]))
    reject = peer.read_until(lambda m: m.get(35) == b"3")[-1]
    assert (reject.get(373), reject.get(372)) == (b"11", b"ZZ")
    exchange.wait_for_line("refMsgType=ZZ", after=mark)


def test_an_application_message_the_venue_does_not_support_gets_j(
    exchange: ExchangeProcess,
) -> None:
    peer = logged_on_peer(exchange)
    peer.send(peer.encode("R", [(131, "q1"), (146, "1"), (55, "ACME")]))
    reject = peer.read_until(lambda m: m.get(35) == b"j")[-1]
    assert (reject.get(372), reject.get(380)) == (b"R", b"3")


def test_garbage_before_any_logon_gets_the_connection_dropped(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = RawPeer(exchange.fix_port)
    peer.send(b"GET / HTTP/1.1\r\nHost: nonsense\r\n\r\n" + bytes(range(256)))
    # No FIX message ever starts, so there is nobody to Reject: QuickFIX gives the first
    # message a second and then drops the connection, and logs only the connection.
    peer.wait_closed(3)
    exchange.wait_for_line("Accepted connection from 127.0.0.1", after=mark)


def test_an_unparseable_first_message_is_logged_and_dropped(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = RawPeer(exchange.fix_port)
    peer.send(b"8=FIX.4.4\x019=abc\x0135=A\x0110=000\x01")
    peer.wait_closed(3)
    exchange.wait_for_line("Session not found for incoming message", after=mark)


def test_garbage_inside_a_session_is_logged_and_skipped(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = logged_on_peer(exchange)
    peer.send(b"8=FIX.4.4\x019=abc\x0135=D\x0110=000\x01" + b"\x00\xff junk \x01\x01")
    exchange.wait_for_line("Invalid message", after=mark)
    peer.send(peer.encode("D", ORDER))
    assert peer.read_until(lambda m: m.get(35) == b"8")[-1].get(150) == b"0"


def test_an_endless_message_times_the_session_out(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = logged_on_peer(exchange, heartbeat_s=1)
    # A NewOrderSingle that never ends: no SOH, no CheckSum, a megabyte of it.
    peer.send(b"8=FIX.4.4\x019=60\x0135=D\x0149=OMS2\x0156=XFAST\x0134=2\x0158=" + b"A" * 1_000_000)
    # QuickFIX's thread is not stuck on it: another client trades meanwhile.
    good_client_trades(exchange)
    peer.wait_closed(6)
    exchange.wait_for_line("Timed out waiting for heartbeat", after=mark)


def test_an_endless_first_message_is_dropped(exchange: ExchangeProcess) -> None:
    peer = RawPeer(exchange.fix_port)
    peer.send(b"8=FIX.4.4\x019=1000000\x0135=A\x01" + b"B" * 1_000_000)
    peer.wait_closed(4)


def test_an_unknown_comp_id_cannot_log_on(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = RawPeer(exchange.fix_port, sender="INTRUDER")
    peer.send(peer.encode("A", [(98, "0"), (108, "30")]))
    peer.wait_closed(3)
    exchange.wait_for_line("Session not found for incoming message", after=mark)
    assert "INTRUDER" in exchange.wait_for_line("INTRUDER", after=mark)


def test_a_wrong_comp_id_inside_a_session_gets_reject_and_logout(
    exchange: ExchangeProcess,
) -> None:
    mark = len(exchange.lines)
    peer = logged_on_peer(exchange)
    peer.send(peer.encode("0", [], sender="SOMEONE"))
    replies = peer.read_until(lambda m: m.get(35) == b"5")
    assert [m.get(35) for m in replies] == [b"3", b"5"]
    assert replies[0].get(373) == b"9"  # CompID problem
    exchange.wait_for_line("reason=9", after=mark)


def test_a_sequence_number_too_low_gets_a_logout(exchange: ExchangeProcess) -> None:
    mark = len(exchange.lines)
    peer = logged_on_peer(exchange)
    peer.send(peer.encode("0", []))  # seq 2
    peer.send(peer.encode("0", [], seq=2))  # seq 2 again, not a PossDup resend
    logout = peer.read_until(lambda m: m.get(35) == b"5")[-1]
    assert logout.get(58) == b"MsgSeqNum too low, expecting 3 but received 2"
    peer.wait_closed(3)
    exchange.wait_for_line(
        "logout sent venue=XFAST client=OMS2 text='MsgSeqNum too low", after=mark
    )


def test_orders_before_logon_never_reach_the_venue(exchange: ExchangeProcess) -> None:
    peer = RawPeer(exchange.fix_port)
    peer.send(peer.encode("D", [(60, transact_time()), *ORDER], seq=1))
    peer.wait_closed(3)
    assert exchange.http("GET", "/venues/XFAST/stats")["received"] == 0
