"""The three demo venues `./oms run` and the system tests start on the mock exchange: one
table for both sides, so the exchange's send limit and the OMS's throttle of a venue agree.

They differ where a router would look (issue 12): fees (maker rebate, taker fee per share),
latency, book depth and the send limit. XMOCK is the exchange's defaults, as before.
"""

from decimal import Decimal

# code -> fields of the exchange's `PUT /venues/{v}/config` (exchange/README.md). rateLimit
# is also the OMS's throttle_per_second for the venue (its queue's limiter).
DEMO_VENUES: dict[str, dict[str, str]] = {
    # The middle of the road: the exchange's defaults.
    "XMOCK": {"rateLimit": "100", "latencyMs": "1-3", "makerFeePerShare": "-0.0020",
              "takerFeePerShare": "0.0030", "depth": "500", "levels": "5"},
    # Fast and deep, but taking costs more and adding earns less; a generous send limit.
    "XFAST": {"rateLimit": "200", "latencyMs": "0-1", "makerFeePerShare": "-0.0010",
              "takerFeePerShare": "0.0035", "depth": "1000", "levels": "10"},
    # Slow and thin, cheap to take, a large rebate to add; a tight send limit.
    "XSLOW": {"rateLimit": "50", "latencyMs": "20-40", "makerFeePerShare": "-0.0032",
              "takerFeePerShare": "0.0010", "depth": "100", "levels": "3"},
}


def exchange_venue_config(codes: list[str] | None = None) -> str:
    """EXCHANGE_VENUE_CONFIG for these demo venues (all by default): `V:f=v,...;V:...`."""
    chosen = DEMO_VENUES if codes is None else {c: DEMO_VENUES[c] for c in codes
                                                  if c in DEMO_VENUES}
    return ";".join(
        f"{code}:" + ",".join(f"{name}={value}" for name, value in fields.items())
        for code, fields in chosen.items()
    )


def oms_demo_venues() -> str:
    """OMS_DEMO_VENUES: `CODE:SEND_LIMIT,...`, the venues `migrate` creates."""
    return ",".join(f"{code}:{fields['rateLimit']}" for code, fields in DEMO_VENUES.items())


def parse_oms_demo_venues(text: str, default_limit: int) -> dict[str, dict]:
    """OMS_DEMO_VENUES read: {code: the Venue fields `migrate` creates it with}: its send
    limit (a bare CODE gets `default_limit`) and, for a venue of the table above, the fees
    the exchange charges there, so the OMS routes on the fees it will be charged."""
    return {
        code.strip(): {"throttle_per_second": int(limit) if limit.strip() else default_limit,
                       **_oms_fees(code.strip())}
        for code, _, limit in (item.partition(":") for item in text.split(","))
        if code.strip()
    }


def _oms_fees(code: str) -> dict[str, Decimal]:
    fields = DEMO_VENUES.get(code)
    if fields is None:
        return {}
    return {"maker_fee_per_share": Decimal(fields["makerFeePerShare"]),
            "taker_fee_per_share": Decimal(fields["takerFeePerShare"])}
