"""How the OMS talks to venues: logon, logout and order messages.

Sessions (logon/logout) and dispatch (orders) reach a venue only through a VenueGateway,
chosen by the OMS_VENUE_GATEWAY setting (a dotted path to a class taking no arguments):
HttpVenueGateway speaks to the mock exchange (exchange/README.md); InProcessGateway is a
venue simulated in this process, for tests that are not about the wire.

A call either returns the venue's answer or raises GatewayError. For an order message, a
GatewayError means the outcome is unknown: the venue may or may not have received it, so the
request is resent later with the same ids and the venue's duplicate check decides. Every
call gives up within OMS_EXCHANGE_TIMEOUT_SECONDS, well inside the session reconcile lease.
"""

import http.client
import json
import select
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class GatewayError(Exception):
    """The venue refused the session request, or did not answer in time."""


@dataclass(frozen=True, kw_only=True)
class GatewayAck:
    venue_code: str
    action: str  # "LOGON" or "LOGOUT"
    acknowledged_at: datetime
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class VenueAnswer:
    body: dict
    # Message written -> answer read, on this process's monotonic clock.
    latency_micros: int


class VenueGateway(Protocol):
    def logon(self, venue_code: str) -> GatewayAck: ...

    def logout(self, venue_code: str) -> GatewayAck: ...

    def send(self, venue_code: str, message: dict) -> VenueAnswer: ...


class HttpVenueGateway:
    """The mock exchange over HTTP/1.1 keep-alive; one connection per thread.

    The standard library's http.client rather than httpx: a send is one small POST on a
    connection this thread owns, and httpx's pooling, hooks and stream layers cost about
    four times as much CPU per request (profiled: a third of a send's CPU on the hot path).
    """

    _local = threading.local()
    # An idle connection is dropped after this long rather than found closed by the server.
    KEEPALIVE_SECONDS = 30

    def _connection(self) -> http.client.HTTPConnection:
        base, timeout = settings.OMS_EXCHANGE_URL, settings.OMS_EXCHANGE_TIMEOUT_SECONDS
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is not None and (
            local.key != (base, timeout) or not self._reusable(connection)
        ):
            connection.close()
            connection = None
        if connection is None:
            url = urlsplit(base)
            factory = (http.client.HTTPSConnection if url.scheme == "https"
                       else http.client.HTTPConnection)
            connection = factory(url.hostname, url.port, timeout=timeout)
            local.connection, local.key = connection, (base, timeout)
            local.prefix = url.path.rstrip("/")
        local.used = time.monotonic()
        return connection

    def _reusable(self, connection: http.client.HTTPConnection) -> bool:
        if connection.sock is None:
            return True  # connects on first use
        if time.monotonic() - self._local.used > self.KEEPALIVE_SECONDS:
            return False
        # Readable while idle means the server closed it (or sent what we did not ask for):
        # a message written to it now would have an unknown outcome for nothing.
        readable, _, _ = select.select([connection.sock], [], [], 0)
        return not readable

    def connect(self) -> None:
        """Open this thread's connection ahead of a send, so no slot waits for it."""
        connection = self._connection()
        if connection.sock is None:
            try:
                connection.connect()
            except OSError:
                connection.close()  # the send will try again and report it

    def _post(self, path: str, body: dict) -> tuple[dict, int]:
        connection = self._connection()
        payload = json.dumps(body).encode()
        try:
            started = time.perf_counter_ns()
            connection.request("POST", self._local.prefix + path, body=payload,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
            elapsed = time.perf_counter_ns() - started
            if response.status >= 400:
                raise GatewayError(f"{path}: HTTP {response.status} {data[:200]!r}")
            return json.loads(data), elapsed // 1000
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # Whatever state the connection is in, it is not reused.
            connection.close()
            raise GatewayError(f"{path}: {exc!r}") from exc

    def _session(self, venue_code: str, action: str) -> GatewayAck:
        body, _ = self._post(
            f"/venues/{venue_code}/{action.lower()}",
            {"senderCompId": settings.OMS_SENDER_COMP_ID},
        )
        return GatewayAck(
            venue_code=venue_code,
            action=action,
            acknowledged_at=timezone.now(),
            detail=str(body.get("state", "")),
        )

    def logon(self, venue_code: str) -> GatewayAck:
        return self._session(venue_code, "LOGON")

    def logout(self, venue_code: str) -> GatewayAck:
        return self._session(venue_code, "LOGOUT")

    def send(self, venue_code: str, message: dict) -> VenueAnswer:
        body, latency = self._post(
            f"/venues/{venue_code}/orders",
            {**message, "senderCompId": settings.OMS_SENDER_COMP_ID},
        )
        return VenueAnswer(body=body, latency_micros=latency)


class InProcessGateway:
    """A venue simulated in this process: it answers at once and remembers what it saw.

    The state is class-level, shared by every instance in the process, so a test can ask
    what the venue saw after a service built its own gateway. Like the mock exchange, it
    refuses orders while logged out and answers a repeated id as a duplicate.
    """

    _lock = threading.Lock()
    _logged_on: set[str] = set()
    _received: list[tuple[str, str]] = []
    _messages: list[tuple[str, dict]] = []
    _answers: dict[tuple[str, str], dict] = {}

    def logon(self, venue_code: str) -> GatewayAck:
        return self._receive(venue_code, "LOGON")

    def logout(self, venue_code: str) -> GatewayAck:
        return self._receive(venue_code, "LOGOUT")

    def _receive(self, venue_code: str, action: str) -> GatewayAck:
        with self._lock:
            self._received.append((action, venue_code))
            if action == "LOGON":
                self._logged_on.add(venue_code)
            else:
                self._logged_on.discard(venue_code)
        return GatewayAck(venue_code=venue_code, action=action, acknowledged_at=timezone.now())

    def send(self, venue_code: str, message: dict) -> VenueAnswer:
        started = time.perf_counter_ns()
        with self._lock:
            self._messages.append((venue_code, dict(message)))
            answer = {
                "requestId": message["requestId"],
                "clientOrderId": message["clientOrderId"],
                "kind": message["kind"],
                "duplicate": False,
            }
            key = (venue_code, message["clientOrderId"] if message["kind"] == "NEW"
                   else message["requestId"])
            if venue_code not in self._logged_on:
                answer |= {"result": "REJECT", "reason": "NOT_LOGGED_ON"}
            elif key in self._answers:
                answer = {**self._answers[key], "requestId": message["requestId"],
                          "duplicate": True}
            else:
                answer |= {"result": "ACCEPT", "reason": None}
                self._answers[key] = answer
        return VenueAnswer(
            body=answer, latency_micros=(time.perf_counter_ns() - started) // 1000
        )

    # --- what the venue saw (tests) ---

    @classmethod
    def logged_on(cls) -> frozenset[str]:
        with cls._lock:
            return frozenset(cls._logged_on)

    @classmethod
    def received(cls, venue_code: str | None = None) -> list[tuple[str, str]]:
        """(action, venue_code) of every session request, in arrival order."""
        with cls._lock:
            return [r for r in cls._received if venue_code is None or r[1] == venue_code]

    @classmethod
    def messages(cls, venue_code: str | None = None) -> list[dict]:
        """Every order message, in arrival order."""
        with cls._lock:
            return [m for v, m in cls._messages if venue_code is None or v == venue_code]

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._logged_on.clear()
            cls._received.clear()
            cls._messages.clear()
            cls._answers.clear()


def gateway_get() -> VenueGateway:
    return import_string(settings.OMS_VENUE_GATEWAY)()
