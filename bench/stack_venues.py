"""The bench stack's venues, on both sides: the OMS's (migrated, each venue at its limit and
fees, forced open) and the exchange's HTTP (its config, stats and message log). A part of
bench/stack.py's Stack, which runs the processes."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

from omsproject.demo_venues import DEMO_VENUES

VENUE = "XMOCK"
SENDER_COMP_ID = "OMS"


def http_json(method: str, url: str, body=None, *, headers=None, timeout: float = 10.0):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


class StackError(RuntimeError):
    pass


class StackVenues:
    """Needs the Stack's venues, demo_venues, fix_port, exchange_url and env_apply."""

    def bootstrap(self) -> None:
        """Migrate; an operator with a token; the venue at 1,000/s (or the demo venues at
        their limits and fees) pointing at the exchange's FIX port, forced open, so its
        session should be logged on (the holder does it). Runs in this process (Django set
        up on the bench database)."""
        import django

        self.env_apply()
        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        user, _ = get_user_model().objects.get_or_create(
            username="bench-operator", defaults={"is_staff": True, "is_superuser": True})
        self.token = Token.objects.get_or_create(user=user)[0].key
        from venues.services import venue_put

        for code in self.venues:
            venue_put(code=code, actor="bench", name=f"Bench venue {code} (the mock exchange)",
                      fix_host="127.0.0.1", fix_port=self.fix_port,
                      sender_comp_id=SENDER_COMP_ID, **self._venue_fields(code))
            self.venue_open(code)

    def _venue_fields(self, code: str) -> dict:
        if not self.demo_venues:
            return {"throttle_per_second": 1000}
        fields = DEMO_VENUES[code]
        return {"throttle_per_second": int(fields["rateLimit"]),
                "maker_fee_per_share": Decimal(fields["makerFeePerShare"]),
                "taker_fee_per_share": Decimal(fields["takerFeePerShare"])}

    def venue_open(self, code: str = VENUE) -> None:
        from sessions.models import SessionState
        from sessions.services import session_reconcile, session_update

        session_update(venue_code=code, actor="bench", override="OPEN")
        outcome = session_reconcile(venue_code=code)
        if outcome[0].desired != SessionState.LOGGED_ON:
            raise StackError(f"venue {code} is not to be logged on: {outcome}")

    def venue_limit(self, limit: int, *, latency_ms: str | None = None,
                    code: str = VENUE) -> None:
        """The OMS's limit and the exchange's, together. Dispatchers read the limit at the
        start of each drain, so change it only while the queue is empty."""
        from venues.services import venue_update

        venue_update(code=code, actor="bench", throttle_per_second=limit)
        config: dict = {"rateLimit": limit}
        if latency_ms is not None:
            config["latencyMs"] = latency_ms
        http_json("PUT", f"{self.exchange_url}/venues/{code}/config", config)

    def exchange_stats(self, code: str = VENUE) -> dict:
        return http_json("GET", f"{self.exchange_url}/venues/{code}/stats")

    def exchange_messages(self, since: int, code: str = VENUE) -> list[dict]:
        out: list[dict] = []
        while True:
            page = http_json(
                "GET", f"{self.exchange_url}/venues/{code}/messages?since={since}&limit=100000",
                timeout=60)
            out.extend(page["messages"])
            if not page.get("hasMore") or not page["messages"]:
                return out
            since = page["messages"][-1]["seq"]
