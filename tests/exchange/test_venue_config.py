"""Each venue's own start-up config (--venue-config, EXCHANGE_VENUE_CONFIG): the fields of
PUT /venues/{v}/config, parsed by the same parsers, over the options the venues share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.__main__ import parse_config
from tests.exchange.exchange_process import ExchangeProcess

FAST = ("XB:rateLimit=200,latencyMs=0-1,takerFeePerShare=0.0035,makerFeePerShare=-0.0010,"
        "depth=1000,symbols=AAPL=100,MSFT=200.5")


def test_a_venue_config_applies_to_its_venue_over_the_shared_options() -> None:
    config = parse_config(["--venue", "XA", "--venue", "XB", "--reject-ratio", "0.5",
                           "--levels", "4", "--venue-config", FAST], env={})
    assert config.config_of("XA") == config.venue
    fast = config.config_of("XB")
    assert (fast.rate_limit, str(fast.latency)) == (200, "0-1")
    assert (fast.market.taker_fee, fast.market.maker_fee) == (Decimal("0.0035"),
                                                              Decimal("-0.0010"))
    assert fast.market.depth == 1000
    assert fast.market.symbols == {"AAPL": Decimal("100"), "MSFT": Decimal("200.5")}
    # What the entry does not name comes from the options every venue shares.
    assert (fast.reject_ratio, fast.market.levels) == (0.5, 4)


def test_the_environment_separates_venues_with_semicolons_and_the_command_line_wins() -> None:
    env = {"EXCHANGE_VENUES": "XA,XB,XC",
           "EXCHANGE_VENUE_CONFIG": "XA:rateLimit=50 ; XC:latencyMs=20-40,depth=100;"}
    config = parse_config([], env=env)
    assert config.config_of("XA").rate_limit == 50
    assert config.config_of("XB") == config.venue
    assert (str(config.config_of("XC").latency), config.config_of("XC").market.depth) == (
        "20-40", 100)
    config = parse_config(["--venue-config", "XB:rateLimit=7"], env=env)
    assert config.config_of("XA") == config.venue
    assert config.config_of("XB").rate_limit == 7


@pytest.mark.parametrize("entry", [
    "XB",  # no fields
    "XB:",
    "XB:depth",  # no value
    "XB:dept=1",  # unknown field
    "XB:depth=0",  # the PUT's parser refuses it
    "XB:takerFeePerShare=cheap",
    "XB:rateLimit=1,rateLimit=2",
    "XZ:rateLimit=1",  # not a venue served
    "bad id:rateLimit=1",
])
def test_a_bad_venue_config_exits_with_usage(entry: str) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_config(["--venue", "XA", "--venue", "XB", "--venue-config", entry], env={})
    assert exc.value.code == 2


def test_the_running_exchange_serves_each_venue_its_own_config_and_reset_restores_it() -> None:
    exchange = ExchangeProcess("--venue", "XA", "--venue", "XB", "--venue-config", FAST,
                               "--market", "off")
    try:
        exchange.wait_for_line("venue XB rateLimit=200 latencyMs=0-1")
        fast = exchange.http("GET", "/venues/XB/config")
        assert (fast["rateLimit"], fast["latencyMs"], fast["depth"]) == (200, "0-1", 1000)
        assert (fast["makerFeePerShare"], fast["takerFeePerShare"]) == ("-0.0010", "0.0035")
        assert exchange.http("GET", "/venues/XB/stats")["rateLimit"] == 200
        assert exchange.http("GET", "/venues/XA/config")["rateLimit"] == 100
        exchange.http("PUT", "/venues/XB/config", {"rateLimit": 5})
        exchange.http("POST", "/reset?config=1", {})
        assert exchange.http("GET", "/venues/XB/config")["rateLimit"] == 200
    finally:
        exchange.stop()
