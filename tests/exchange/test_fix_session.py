"""The exchange process against an independent QuickFIX initiator: orders, the session layer,
sequence numbers across reconnects, resends, and the faults the OMS's tests inject."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .exchange_process import ExchangeProcess, wait_until
from .fix_client import Initiator, transact_time


@pytest.fixture(scope="module")
def exchange() -> Iterator[ExchangeProcess]:
    # The session layer's tests: with the market off, every order rests as NEW.
    process = ExchangeProcess(
        "--venue", "XMOCK", "--venue", "XFAST", "--client", "OMS", "--client", "OMS2",
        "--latency-ms", "1", "--market", "off",
    )  # fmt: skip
    yield process
    assert process.stop() == 0, process.output()


@pytest.fixture(autouse=True)
def fresh(exchange: ExchangeProcess) -> None:
    exchange.http("POST", "/reset?config=1")


def new_order(cl_ord_id: str, **tags: str) -> list[tuple[int, str]]:
    fields = {11: cl_ord_id, 526: f"c-{cl_ord_id}", 1: "ACC1", 55: "ACME", 54: "1",
              60: transact_time(), 38: "100", 40: "2", 44: "10.5", 59: "0"}  # fmt: skip
    fields.update({int(name[1:]): value for name, value in tags.items()})
    return list(fields.items())


def session_stats(exchange: ExchangeProcess, venue: str = "XMOCK", client: str = "OMS") -> dict:
    stats = exchange.http("GET", f"/venues/{venue}/stats")
    return next(s for s in stats["sessions"] if s["clientCompId"] == client)


def test_an_order_lives_its_life_over_fix(exchange: ExchangeProcess) -> None:
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        client.send("D", new_order("A1"))
        ack = client.answer_to("A1")
        assert (ack.msg_type, ack[150], ack[39], ack[37], ack[151]) == ("8", "0", "0", "XMOCK-1",
                                                                       "100")  # fmt: skip
        client.send(
            "G",
            [
                (41, "A1"),
                (11, "A2"),
                (526, "c-A1"),
                (55, "ACME"),
                (54, "1"),
                (60, transact_time()),
                (38, "60"),
                (40, "2"),
                (44, "10.25"),
            ],
        )
        replaced = client.answer_to("A2")
        assert (replaced[150], replaced[41], replaced[38]) == ("5", "A1", "60")
        client.send("H", [(11, "A1"), (790, "st-1"), (55, "ACME"), (54, "1")])
        state = client.wait_for_app(lambda m: m.get(790) == "st-1")
        assert (state[150], state[39], state[11]) == ("I", "0", "A2")
        client.send("F", [(41, "A2"), (11, "A3"), (55, "ACME"), (54, "1"),
                          (60, transact_time()), (38, "60")])  # fmt: skip
        canceled = client.answer_to("A3")
        assert (canceled[150], canceled[39], canceled[151]) == ("4", "4", "0")

        stats = exchange.http("GET", "/venues/XMOCK/stats")
        assert (stats["received"], stats["accepted"], stats["rejected"]) == (4, 4, 0)
        order = exchange.http("GET", "/venues/XMOCK/orders")["orders"]["A1"]
        assert (order["clOrdIds"], order["status"]) == (["A1", "A2", "A3"], "CANCELED")
        # The log holds exactly what crossed the wire, both ways.
        log = exchange.http("GET", "/venues/XMOCK/messages")["messages"]
        assert [m["msgType"] for m in log] == ["D", "G", "H", "F"]
        received = [m.text.replace("\x01", "|") for m in client.app_messages()]
        wait_until(lambda: all(a["raw"] for m in exchange.http(
            "GET", "/venues/XMOCK/messages")["messages"] for a in m["answers"]))  # fmt: skip
        log = exchange.http("GET", "/venues/XMOCK/messages")["messages"]
        assert [m["answers"][0]["raw"] for m in log] == received
        assert all(m["raw"].startswith("8=FIX.4.4|") and "|35=" in m["raw"] for m in log)
        assert [m["msgSeqNum"] for m in log] == [2, 3, 4, 5]


def test_a_duplicate_clordid_gets_the_first_decision(exchange: ExchangeProcess) -> None:
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        client.send("D", new_order("A"))
        client.send("D", new_order("A", t38="999"))
        client.wait(lambda: len(client.app_messages()) == 2)
        first, again = client.app_messages()
        assert (first[150], again[150], again[58], again[38]) == ("0", "I", "DUPLICATE_CLORDID",
                                                                  "100")  # fmt: skip
    stats = exchange.http("GET", "/venues/XMOCK/stats")
    assert (stats["duplicates"], stats["orders"]) == (1, 1)


def test_over_the_rate_limit_is_answered_j(exchange: ExchangeProcess) -> None:
    exchange.http("PUT", "/venues/XMOCK/config", {"rateLimit": 2})
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        for cl_ord_id in ("R1", "R2", "R3"):
            client.send("D", new_order(cl_ord_id))
        rejected = client.answer_to("R3")
        assert (rejected.msg_type, rejected[380], rejected[58], rejected[372]) == (
            "j", "0", "RATE_LIMIT", "D")  # fmt: skip
    stats = exchange.http("GET", "/venues/XMOCK/stats")
    assert (stats["limitViolations"], stats["maxInAnySlidingSecond"], stats["orders"]) == (1, 3, 2)


def test_answers_wait_out_the_latency_and_keep_receive_order(exchange: ExchangeProcess) -> None:
    exchange.http("PUT", "/venues/XMOCK/config", {"latencyMs": "20-60"})
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        started = time.monotonic()
        ids = [f"L{i}" for i in range(12)]
        for cl_ord_id in ids:
            client.send("D", new_order(cl_ord_id))
        client.answer_to(ids[0])
        assert time.monotonic() - started >= 0.020
        client.wait(lambda: len(client.app_messages()) == len(ids))
        assert [m[11] for m in client.app_messages()] == ids


def test_logout_then_reconnect_continues_sequence_numbers_both_ways(
    exchange: ExchangeProcess, tmp_path: Path
) -> None:
    with Initiator(exchange.fix_port, store_dir=tmp_path) as client:
        client.wait_logged_on()
        client.send("D", new_order("A"))
        client.answer_to("A")
    after = session_stats(exchange)
    assert (after["loggedOn"], after["logons"], after["logouts"]) == (False, 1, 1)
    # Logon(1) D(2) Logout(3) in; Logon(1) 8(2) Logout(3) out.
    assert (after["nextTargetSeqNum"], after["nextSenderSeqNum"]) == (4, 4)

    with Initiator(exchange.fix_port, store_dir=tmp_path) as client:
        client.wait_logged_on()
        logon = next(m for m in client.received if m.msg_type == "A")
        assert logon[34] == "4"  # the exchange continued its numbers
        assert client.session().getExpectedSenderNum() == 5  # we continued ours: Logon was 4
        client.send("D", new_order("B"))
        assert client.answer_to("B")[34] == "5"
    assert session_stats(exchange)["logons"] == 2


def test_reset_seq_num_flag_on_logon_resets_both_sides(exchange: ExchangeProcess) -> None:
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        client.send("D", new_order("A"))
        client.answer_to("A")
    assert session_stats(exchange)["nextSenderSeqNum"] > 1
    with Initiator(exchange.fix_port, reset_on_logon=True) as client:
        client.wait_logged_on()
        logon = next(m for m in client.received if m.msg_type == "A")
        assert (logon[34], logon[141]) == ("1", "Y")
        stats = session_stats(exchange)
        assert (stats["nextSenderSeqNum"], stats["nextTargetSeqNum"]) == (2, 2)


def test_a_skipped_outbound_seq_is_recovered_by_resend_request_and_gap_fill(
    exchange: ExchangeProcess,
) -> None:
    # Numbers used before a reset: QuickFIX's FileStore remembers where they were in its
    # files, and would read garbage for a skipped one if the exchange left it empty.
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        for cl_ord_id in ("OLD1", "OLD2", "OLD3"):
            client.send("D", new_order(cl_ord_id))
        client.answer_to("OLD3")
    exchange.http("POST", "/reset")

    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        before = session_stats(exchange)["nextSenderSeqNum"]
        faults = exchange.http("POST", "/venues/XMOCK/faults", {"skipOutboundSeq": 3})
        assert faults["skippedOutboundSeq"] == 3
        assert session_stats(exchange)["nextSenderSeqNum"] == before + 3
        client.send("D", new_order("GAP1"))
        ack = client.answer_to("GAP1")
        gap_fill = next(m for m in client.received if m.msg_type == "4")
        assert (gap_fill[123], gap_fill[34], gap_fill[36]) == ("Y", str(before), str(before + 3))
        assert client.received.index(gap_fill) < client.received.index(ack)
        assert ack[34] == str(before + 3)
        # Recovered: both sides agree, and the session carries on.
        wait_until(lambda: client.session().getExpectedTargetNum() == session_stats(exchange)[
            "nextSenderSeqNum"])  # fmt: skip
        client.send("D", new_order("GAP2"))
        assert client.answer_to("GAP2")[150] == "0"
    assert session_stats(exchange)["resendRequestsReceived"] == 1
    assert "sequence reset sent venue=XMOCK client=OMS gapFill=Y" in exchange.output()


def test_a_silent_venue_counts_and_logs_but_does_not_answer(exchange: ExchangeProcess) -> None:
    with Initiator(exchange.fix_port, heartbeat_s=1) as client:
        client.wait_logged_on()
        exchange.http("POST", "/venues/XMOCK/faults", {"silent": True})
        client.send("D", new_order("S1"))
        wait_until(lambda: exchange.http("GET", "/venues/XMOCK/stats")["received"] == 1)
        heartbeats_before = sum(1 for m in client.received if m.msg_type == "0")
        time.sleep(1.3)
        assert client.app_messages() == []
        assert sum(1 for m in client.received if m.msg_type == "0") > heartbeats_before
        entry = exchange.http("GET", "/venues/XMOCK/messages")["messages"][0]
        assert (entry["silenced"], entry["answers"][0]["raw"]) == (True, None)
        assert exchange.http("GET", "/venues/XMOCK/orders")["orders"]["S1"]["status"] == "NEW"
        exchange.http("POST", "/venues/XMOCK/faults", {"silent": False})
        client.send("H", [(11, "S1"), (790, "q"), (55, "ACME"), (54, "1")])
        assert client.answer_to("S1")[150] == "I"


def test_disconnect_drops_the_connection_without_a_logout(exchange: ExchangeProcess) -> None:
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        exchange.http("POST", "/venues/XMOCK/faults", {"disconnect": True})
        client.wait_logged_out()
        assert not any(m.msg_type == "5" for m in client.received)
        client.wait_logged_on(timeout=5)  # QuickFIX reconnects on its own, numbers intact
        client.send("D", new_order("D1"))
        assert client.answer_to("D1")[150] == "0"
    stats = session_stats(exchange)
    assert stats["logons"] == 2
    assert exchange.http("GET", "/venues/XMOCK/faults")["disconnects"] == 1


def test_refused_logons_until_the_fault_is_lifted(exchange: ExchangeProcess) -> None:
    exchange.http("POST", "/venues/XMOCK/faults", {"refuseLogon": True})
    mark = len(exchange.lines)
    with Initiator(exchange.fix_port) as client:
        exchange.wait_for_line("Session is not enabled for logon", after=mark)
        assert not client.logged_on
        assert exchange.http("GET", "/venues/XMOCK/faults")["refuseLogon"] is True
        exchange.http("POST", "/venues/XMOCK/faults", {"refuseLogon": False})
        client.wait_logged_on(timeout=5)


def test_reset_logs_clients_out_and_numbers_start_at_one(exchange: ExchangeProcess) -> None:
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        client.send("D", new_order("A"))
        client.answer_to("A")
        exchange.http("POST", "/reset")
        client.wait_logged_out()
        assert any(m.msg_type == "5" for m in client.received)
        client.stop()
    stats = session_stats(exchange)
    assert (stats["nextSenderSeqNum"], stats["nextTargetSeqNum"], stats["logons"]) == (1, 1, 0)
    assert exchange.http("GET", "/venues/XMOCK/stats")["received"] == 0
    # A client that starts afresh (as an OMS with a new database does) logs on at 1.
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        assert next(m for m in client.received if m.msg_type == "A")[34] == "1"


def test_the_venue_closes_expires_day_orders_and_cancels_on_its_own(
    exchange: ExchangeProcess,
) -> None:
    with Initiator(exchange.fix_port) as client:
        client.wait_logged_on()
        client.send("D", new_order("DAY1"))
        client.send("D", new_order("GTC1", t59="1"))
        client.answer_to("GTC1")
        closed = exchange.http("POST", "/venues/XMOCK/close")
        assert (closed["tradingOpen"], closed["expired"]) == (False, 1)
        expired = client.wait_for_app(lambda m: m.get(150) == "C")
        assert (expired[11], expired[39], expired[151]) == ("DAY1", "C", "0")
        client.send("D", new_order("LATE"))
        assert client.answer_to("LATE")[103] == "2"
        exchange.http("POST", "/venues/XMOCK/open")
        canceled = exchange.http("POST", "/venues/XMOCK/orders/GTC1/cancel")
        assert canceled["order"]["status"] == "CANCELED"
        report = client.wait_for_app(lambda m: m.get(150) == "4")
        assert (report[11], report[58]) == ("GTC1", "CANCELED_BY_VENUE")
        client.send("D", new_order("AGAIN"))
        assert client.answer_to("AGAIN")[150] == "0"


def test_each_venue_and_client_is_its_own_session(exchange: ExchangeProcess) -> None:
    with Initiator(exchange.fix_port, sender="OMS2", target="XFAST") as client:
        client.wait_logged_on()
        client.send("D", new_order("A"))
        ack = client.answer_to("A")
        assert (ack[49], ack[56], ack[37]) == ("XFAST", "OMS2", "XFAST-1")
    assert session_stats(exchange, "XFAST", "OMS2")["logons"] == 1
    assert session_stats(exchange, "XMOCK", "OMS")["logons"] == 0
    assert exchange.http("GET", "/venues/XMOCK/stats")["received"] == 0
