"""The real process, as the Procfile, tests and benchmarks start it: `python -m exchange`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def wait_healthy(base: str, process: subprocess.Popen[str], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if http("GET", f"{base}/healthz")["status"] == "ok":
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise AssertionError("exchange did not become healthy")


def test_process_serves_logon_and_new_and_stops_cleanly_on_sigterm() -> None:
    port = free_port()
    env = {**os.environ, "EXCHANGE_LATENCY_MS": "2", "EXCHANGE_SUMMARY_SECONDS": "0.2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "exchange", "--host", "127.0.0.1", "--port", str(port),
         "--venue", "XPROC", "--venue", "XOTHER"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, process)
        logon = http("POST", f"{base}/venues/XPROC/logon", {"senderCompId": "OMS"})
        assert logon["state"] == "LOGGED_ON"
        answer = http(
            "POST",
            f"{base}/venues/XPROC/orders",
            {"senderCompId": "OMS", "kind": "NEW", "requestId": "r1", "clientOrderId": "A",
             "symbol": "ACME", "side": "SELL", "orderType": "MARKET", "quantity": "5",
             "limitPrice": None, "stopPrice": None, "timeInForce": "DAY"},
        )  # fmt: skip
        assert (answer["result"], answer["seq"]) == ("ACCEPT", 1)
        stats = http("GET", f"{base}/stats")
        assert set(stats) == {"XPROC", "XOTHER"}
        assert stats["XPROC"]["latencyMs"] == "2"
        time.sleep(0.5)  # let one periodic summary out
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            raise AssertionError(f"exchange ignored SIGTERM:\n{output}") from None
    assert process.returncode == 0, output
    assert f"listening on http://127.0.0.1:{port}" in output
    assert "logon  venue=XPROC sender=OMS" in output
    assert "summary XPROC[LOGGED_ON] recv=1 acc=1" in output
    assert "Traceback" not in output


def test_port_zero_picks_a_free_port_and_reports_it() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "exchange", "--port", "0", "--summary-seconds", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line
        port = int(line.rsplit("http://127.0.0.1:", 1)[1].split()[0])
        assert port != 0
        wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_bad_configuration_exits_with_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exchange", "--latency-ms", "9-1"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "latencyMs" in result.stderr


def test_the_exchange_imports_nothing_from_django_or_the_oms() -> None:
    # Checked in a fresh interpreter: this test process has Django loaded by pytest-django.
    probe = (
        "import sys, exchange, exchange.__main__, exchange.server, exchange.venue;"
        "roots = {m.split('.')[0] for m in sys.modules};"
        "print(sorted(roots & {'django', 'rest_framework', 'celery', 'orders', 'sessions',"
        " 'venues', 'omsproject'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
