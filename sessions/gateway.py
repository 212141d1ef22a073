"""How the OMS logs on to and off a venue.

session_reconcile talks to venues only through a VenueGateway. The in-process one stands in
for the venue until the mock exchange exists; a network gateway replaces it through the
OMS_VENUE_GATEWAY setting (a dotted path to a class taking no arguments).

A gateway call either returns the venue's acknowledgement or raises. It must give up (raise)
within the reconcile lease (OMS_SESSION_LEASE_SECONDS): after that another reconcile may
take the venue over.
"""

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

DEFAULT_GATEWAY = "sessions.gateway.InProcessGateway"


class GatewayError(Exception):
    """The venue refused, or did not answer in time."""


@dataclass(frozen=True, kw_only=True)
class GatewayAck:
    venue_code: str
    action: str  # "LOGON" or "LOGOUT"
    acknowledged_at: datetime
    detail: str = ""


class VenueGateway(Protocol):
    def logon(self, venue_code: str) -> GatewayAck: ...

    def logout(self, venue_code: str) -> GatewayAck: ...


class InProcessGateway:
    """A venue simulated in this process: it acknowledges at once and remembers who is on.

    The state is module-level, shared by every instance in the process, so a test can ask
    what the venue saw after the service built its own gateway. A repeated logon (or logout)
    is acknowledged again, as a venue does for a session it already holds.
    """

    _lock = threading.Lock()
    _logged_on: set[str] = set()
    _received: list[tuple[str, str]] = []

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

    # --- what the venue saw (tests and the demo) ---

    @classmethod
    def logged_on(cls) -> frozenset[str]:
        with cls._lock:
            return frozenset(cls._logged_on)

    @classmethod
    def received(cls, venue_code: str | None = None) -> list[tuple[str, str]]:
        """(action, venue_code) of every request, in arrival order."""
        with cls._lock:
            return [r for r in cls._received if venue_code is None or r[1] == venue_code]

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._logged_on.clear()
            cls._received.clear()


def gateway_get() -> VenueGateway:
    path = getattr(settings, "OMS_VENUE_GATEWAY", DEFAULT_GATEWAY)
    return import_string(path)()
