"""The real process, as the Procfile, tests and benchmarks start it: `python -m exchange`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from .exchange_process import REPO, ExchangeProcess, wait_until
from .fix_client import Initiator
from .raw_peer import RawPeer

ORDER = [(11, "P1"), (55, "ACME"), (54, "1"), (60, "20260302-12:00:00.000"), (38, "5"),
         (40, "1"), (59, "1")]  # fmt: skip


def test_it_logs_what_happens_and_stops_cleanly_on_sigterm() -> None:
    env = {**os.environ, "EXCHANGE_VENUES": "XPROC,XOTHER", "EXCHANGE_LATENCY_MS": "2"}
    exchange = ExchangeProcess("--summary-seconds", "0.2", env=env)
    try:
        assert exchange.http("GET", "/healthz") == {
            "status": "ok",
            "venues": ["XPROC", "XOTHER"],
            "fixPort": exchange.fix_port,
        }
        with Initiator(exchange.fix_port, target="XPROC") as client:
            client.wait_logged_on()
            client.send("D", ORDER)
            assert client.answer_to("P1")[150] == "0"
            exchange.wait_for_line("summary XPROC[open OMS:on] recv=1 acc=1")
        exchange.http("PUT", "/venues/XPROC/config", {"rateLimit": 7})
        exchange.http("POST", "/venues/XPROC/faults", {"silent": True})
        exchange.http("POST", "/reset")
    finally:
        code = exchange.stop(signal.SIGTERM)
    output = exchange.output()
    assert code == 0, output
    for line in (
        f"listening on http://127.0.0.1:{exchange.http_port} fixPort={exchange.fix_port}",
        "logon  venue=XPROC client=OMS nextSenderSeqNum=2 nextTargetSeqNum=2",
        "logout venue=XPROC client=OMS",
        "config venue=XPROC {'rateLimit': 7,",
        "fault venue=XPROC {'silent': True}",
        "reset venues=XPROC,XOTHER config=False",
        "stopping",
    ):
        assert line in output, (line, output)
    assert "Traceback" not in output


def test_sigint_stops_it_cleanly_too() -> None:
    # `import quickfix` resets SIGINT to the default action; the exchange takes it back.
    exchange = ExchangeProcess()
    assert exchange.stop(signal.SIGINT) == 0, exchange.output()
    assert "stopped" in exchange.output()


def test_bad_configuration_exits_with_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exchange", "--latency-ms", "9-1"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "latencyMs" in result.stderr


def test_a_fix_port_in_use_is_an_error_not_a_crash() -> None:
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "exchange", "--port", "0", "--fix-port", str(port)],
            cwd=REPO, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert f"cannot listen on FIX port {port}" in result.stdout


def test_a_restart_with_a_state_dir_continues_sequence_numbers(tmp_path: Path) -> None:
    state, client_store = tmp_path / "exchange", tmp_path / "client"
    # Sequence numbers counted message by message: no market, so no trade adds one.
    exchange = ExchangeProcess("--state-dir", str(state), "--market", "off")
    try:
        with Initiator(exchange.fix_port, store_dir=client_store) as client:
            client.wait_logged_on()
            client.send("D", ORDER)
            client.answer_to("P1")
        before = exchange.http("GET", "/venues/XMOCK/stats")["sessions"][0]
    finally:
        assert exchange.stop() == 0
    assert (before["nextSenderSeqNum"], before["nextTargetSeqNum"]) == (4, 4)

    # The same FIX port: the client's configuration does not change across the restart.
    exchange = ExchangeProcess("--state-dir", str(state), "--fix-port", str(exchange.fix_port),
                               "--market", "off")
    try:
        after = exchange.http("GET", "/venues/XMOCK/stats")["sessions"][0]
        assert (after["nextSenderSeqNum"], after["nextTargetSeqNum"]) == (4, 4)
        with Initiator(exchange.fix_port, store_dir=client_store) as client:
            client.wait_logged_on()
            assert next(m for m in client.received if m.msg_type == "A")[34] == "4"
            client.send("D", [(11, "P2"), *ORDER[1:]])
            ack = client.answer_to("P2")
            # The book is the process's memory: a new process has a new one.
            assert (ack[150], ack[34]) == ("0", "5")
            assert not any(m.msg_type in ("2", "4") for m in client.received)
    finally:
        assert exchange.stop() == 0


def test_without_a_state_dir_a_restart_starts_from_one() -> None:
    exchange = ExchangeProcess()
    try:
        peer = RawPeer(exchange.fix_port, sender="OMS", target="XMOCK")
        peer.logon()
        peer.send(peer.encode("0"))
        wait_until(lambda: exchange.http("GET", "/venues/XMOCK/stats")["sessions"][0][
            "nextTargetSeqNum"] == 3)  # fmt: skip
        peer.close()
    finally:
        assert exchange.stop() == 0
    exchange = ExchangeProcess()
    try:
        session = exchange.http("GET", "/venues/XMOCK/stats")["sessions"][0]
        assert (session["nextSenderSeqNum"], session["nextTargetSeqNum"]) == (1, 1)
    finally:
        assert exchange.stop() == 0


def test_the_exchange_imports_nothing_from_django_or_the_oms() -> None:
    # Checked in a fresh interpreter: this test process has Django loaded by pytest-django.
    probe = (
        "import sys, exchange.__main__;"
        "roots = {m.split('.')[0] for m in sys.modules};"
        "print(sorted(roots & {'django', 'rest_framework', 'celery', 'orders', 'sessions',"
        " 'venues', 'omsproject', 'dispatch'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
