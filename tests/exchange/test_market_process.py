"""The market in the real process, over FIX with an independent QuickFIX initiator that
validates every message against the stock FIX 4.4 dictionary: a message it would refuse never
reaches `fromApp`, so what the client records is what an OMS on QuickFIX accepts."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal
from pathlib import Path

from exchange.run_ids import next_run_id

from .exchange_process import ExchangeProcess, wait_until
from .fix_client import Initiator, Received, entries_of, transact_time


def limit_order(cl_ord_id: str, qty: str, price: str, symbol: str = "AAPL"):
    return [(11, cl_ord_id), (526, f"c-{cl_ord_id}"), (1, "ACC1"), (55, symbol), (54, "1"),
            (60, transact_time()), (38, qty), (40, "2"), (44, price), (59, "0")]  # fmt: skip


def reports_for(client: Initiator, cl_ord_id: str) -> list[Received]:
    return [m for m in client.app_messages() if m.msg_type == "8" and m.get(11) == cl_ord_id]


def test_a_large_crossing_limit_order_fills_partially_then_fully_within_a_second() -> None:
    # The demo market as `./oms run` starts it: the defaults, on.
    exchange = ExchangeProcess("--seed", "1", "--latency-ms", "1")
    try:
        with Initiator(exchange.fix_port) as client:
            client.wait_logged_on()
            started = time.monotonic()
            client.send("D", limit_order("BIG", "5000", "190.50"))
            client.wait(lambda: any(m.get(39) == "2" for m in reports_for(client, "BIG")), 1.0)
            assert time.monotonic() - started < 1.0
            reports = reports_for(client, "BIG")
            trades = [m for m in reports if m[150] == "F"]
            assert reports[0][150] == "0" and trades[0][39] == "1" and trades[-1][39] == "2"
            assert {m[851] for m in trades} == {"1", "2"}  # took liquidity, then rested
            assert sum(Decimal(m[32]) for m in trades) == Decimal(trades[-1][14]) == 5000
            notional = sum(Decimal(m[32]) * Decimal(m[31]) for m in trades)
            assert abs(Decimal(trades[-1][6]) - notional / 5000) < Decimal("1e-8")
            assert all(m[13] == "3" and m.get(12) for m in trades)
            log = exchange.http("GET", "/venues/XMOCK/trades")["trades"]
            assert [t["execId"] for t in log] == [m[17] for m in trades]
    finally:
        assert exchange.stop() == 0, exchange.output()


def test_market_data_over_fix_a_snapshot_updates_and_a_reject() -> None:
    exchange = ExchangeProcess("--seed", "2", "--latency-ms", "1", "--tick-ms", "50")
    try:
        with Initiator(exchange.fix_port) as client:
            client.wait_logged_on()
            client.send("V", [(262, "md1"), (263, "1"), (264, "3"), (265, "0")], groups=[
                (267, 269, [[(269, "0")], [(269, "1")], [(269, "2")]]),
                (146, 55, [[(55, "AAPL")], [(55, "NOPE")]])])  # fmt: skip
            reject = client.wait_for_app(lambda m: m.msg_type == "Y")
            assert (reject[262], reject[281], reject[58]) == ("md1", "0", "UNKNOWN_SYMBOL NOPE")
            client.wait(lambda: len(snapshots(client)) >= 4, timeout=3)
            first = snapshots(client)[0]
            assert (first[262], first[55], first[268]) == ("md1", "AAPL", "7")
            kinds = [(e[269], e.get(290)) for e in entries_of(first.text)]
            assert kinds == [("0", "1"), ("0", "2"), ("0", "3"), ("1", "1"), ("1", "2"),
                             ("1", "3"), ("2", None)]  # fmt: skip
            sent = [sending_time(m) for m in snapshots(client)]
            assert all(b - a >= 0.19 for a, b in itertools.pairwise(sent)), sent
            # Unsubscribed: the updates stop.
            client.send("V", [(262, "md1"), (263, "2"), (264, "0")], groups=[
                (267, 269, [[(269, "0")]]), (146, 55, [[(55, "AAPL")]])])  # fmt: skip
            time.sleep(0.3)
            count = len(snapshots(client))
            time.sleep(0.5)
            assert len(snapshots(client)) == count
            assert exchange.http("GET", "/venues/XMOCK/stats")["marketDataSubscriptions"] == 0
    finally:
        assert exchange.stop() == 0, exchange.output()


def test_busts_and_corrections_over_fix_pass_the_fix_44_dictionary() -> None:
    exchange = ExchangeProcess("--latency-ms", "0", "--market", "off")
    try:
        with Initiator(exchange.fix_port) as client:
            client.wait_logged_on()
            client.send("D", limit_order("B", "100", "10.00"))
            client.answer_to("B")
            for qty in ("30", "70"):
                exchange.http("POST", "/venues/XMOCK/orders/B/fill", {"qty": qty, "price": "9.99"})
            first, second = (t["execId"] for t in
                             exchange.http("GET", "/venues/XMOCK/trades")["trades"])
            exchange.http("POST", f"/venues/XMOCK/trades/{first}/bust")
            exchange.http("POST", f"/venues/XMOCK/trades/{second}/correct",
                          {"qty": "60", "price": "9.98"})  # fmt: skip
            client.wait(lambda: len(reports_for(client, "B")) == 5)
            reports = reports_for(client, "B")
            assert [(m[150], m[39], m[14], m[151], m.get(19)) for m in reports] == [
                ("0", "0", "0", "100", None), ("F", "1", "30", "70", None),
                ("F", "2", "100", "0", None), ("H", "4", "70", "0", first),
                ("G", "4", "60", "0", second)]
            assert (reports[4][32], reports[4][31], reports[4][6], reports[4][12]) == (
                "60", "9.98", "9.98", "-0.12")
    finally:
        assert exchange.stop() == 0, exchange.output()


def snapshots(client: Initiator) -> list[Received]:
    return [m for m in client.app_messages() if m.msg_type == "W"]


def sending_time(message: Received) -> float:
    stamp = message[52]
    seconds = time.mktime(time.strptime(stamp[:17], "%Y%m%d-%H:%M:%S"))
    return seconds + int(stamp[18:21]) / 1000


def test_exec_ids_are_never_reused_across_restarts_with_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "exchange"
    seen: list[str] = []
    for run in range(2):
        exchange = ExchangeProcess("--state-dir", str(state), "--market", "off")
        try:
            with Initiator(exchange.fix_port, reset_on_logon=True) as client:
                client.wait_logged_on()
                client.send("D", limit_order(f"R{run}", "10", "1.00"))
                client.answer_to(f"R{run}")
                exchange.http("POST", f"/venues/XMOCK/orders/R{run}/fill",
                              {"qty": "10", "price": "1.00"})  # fmt: skip
                wait_until(lambda c=client: len(c.app_messages()) == 2)
                seen += [m[17] for m in client.app_messages()]
        finally:
            assert exchange.stop() == 0
    assert len(set(seen)) == 4
    runs = [exec_id.split("-")[1] for exec_id in seen]
    assert runs[0] == runs[1] != runs[2] == runs[3]
    assert int(runs[2], 36) > int(runs[0], 36)


def test_a_run_id_only_grows_from_a_state_dir_even_when_the_clock_goes_back(tmp_path) -> None:
    first = next_run_id(tmp_path, now_ms=1_000_000)
    assert next_run_id(tmp_path, now_ms=5) == next_run_id(None, now_ms=1_000_001) != first
    assert int(next_run_id(tmp_path, now_ms=5), 36) == 1_000_002
    assert next_run_id(None, now_ms=5) == "5"  # without a state dir: the clock alone
