"""Configuration parsing shared by the command line, the environment and PUT /config."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from exchange.__main__ import parse_config
from exchange.config import ConfigError, ExchangeConfig, Latency, VenueConfig


@pytest.mark.parametrize(
    ("value", "low", "high", "text"),
    [
        ("5", 5.0, 5.0, "5"),
        (5, 5.0, 5.0, "5"),
        (2.5, 2.5, 2.5, "2.5"),
        ("1-10", 1.0, 10.0, "1-10"),
        (" 0.5 - 2 ", 0.5, 2.0, "0.5-2"),
        ("0", 0.0, 0.0, "0"),
    ],
)
def test_latency_parses(value: object, low: float, high: float, text: str) -> None:
    latency = Latency.parse(value)
    assert (latency.low_ms, latency.high_ms, str(latency)) == (low, high, text)


@pytest.mark.parametrize("value", ["", "x", "10-1", "-5", "1-2-3", "nan", True, None, [1], 10**6])
def test_latency_rejects_nonsense(value: object) -> None:
    with pytest.raises(ConfigError):
        Latency.parse(value)


def test_config_update_is_all_or_nothing() -> None:
    config = VenueConfig(rate_limit=10)
    with pytest.raises(ConfigError):
        config.updated({"rateLimit": 20, "rejectRatio": 1.5})
    assert config.rate_limit == 10
    assert config.updated({"rateLimit": "20"}).rate_limit == 20


@pytest.mark.parametrize(
    "change",
    [
        {"timeZone": "Mars/Olympus"},
        {"timeZone": ""},
        {"timeZone": 5},
        {"openTime": "25:00:00"},
        {"openTime": "9:30"},
        {"closeTime": "16:00:60"},
        {"openTime": "23:59:59"},  # equal to the close: 0 or 24 hours?
        {"bogus": 1},
    ],
)
def test_trading_window_changes_are_validated(change: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        VenueConfig().updated(change)


def test_trading_window_config_round_trips() -> None:
    config = VenueConfig().updated(
        {"timeZone": "America/New_York", "openTime": "09:30", "closeTime": "16:00:00"}
    )
    assert (config.open_time, config.close_time) == (time(9, 30), time(16, 0))
    assert config.as_json()["openTime"] == "09:30:00"
    assert config.as_json()["timeZone"] == "America/New_York"


def test_defaults() -> None:
    config = parse_config([], env={})
    assert (config.venues, config.clients) == (("XMOCK",), ("OMS",))
    assert (config.host, config.port, config.fix_port) == ("127.0.0.1", 9001, 9878)
    assert config.venue.rate_limit == 100
    assert str(config.venue.latency) == "1-3"
    assert config.venue.reject_ratio == 0.0
    # The OMS's demo session: open all day, UTC.
    assert (config.venue.time_zone, config.venue.open_time, config.venue.close_time) == (
        "UTC", time(0, 0), time(23, 59, 59))  # fmt: skip
    assert (config.seed, config.state_dir, config.log_cap) == (None, None, 1_000_000)


def test_environment_defaults_and_command_line_overrides() -> None:
    env = {
        "EXCHANGE_HOST": "127.0.0.2",
        "EXCHANGE_PORT": "9100",
        "EXCHANGE_FIX_PORT": "9200",
        "EXCHANGE_VENUES": "XA, XB",
        "EXCHANGE_CLIENTS": "OMS,OMS2",
        "EXCHANGE_RATE_LIMIT": "50",
        "EXCHANGE_LATENCY_MS": "5",
        "EXCHANGE_REJECT_RATIO": "0.25",
        "EXCHANGE_TIME_ZONE": "Europe/London",
        "EXCHANGE_OPEN": "08:00:00",
        "EXCHANGE_CLOSE": "16:30:00",
        "EXCHANGE_STATE_DIR": "/tmp/exchange-state",
        "EXCHANGE_SEED": "42",
        "EXCHANGE_LOG_CAP": "1000",
    }
    config = parse_config([], env=env)
    assert (config.venues, config.clients) == (("XA", "XB"), ("OMS", "OMS2"))
    assert (config.host, config.port, config.fix_port) == ("127.0.0.2", 9100, 9200)
    assert (config.seed, config.log_cap, config.state_dir) == (
        "42", 1000, Path("/tmp/exchange-state"))  # fmt: skip
    v = config.venue
    assert (v.rate_limit, str(v.latency), v.reject_ratio) == (50, "5", 0.25)
    assert (v.time_zone, v.open_time, v.close_time) == ("Europe/London", time(8), time(16, 30))

    config = parse_config(
        ["--venue", "XC", "--client", "ME", "--rate-limit", "7", "--open", "07:00:00",
         "--fix-port", "0"], env=env)  # fmt: skip
    assert (config.venues, config.clients, config.fix_port) == (("XC",), ("ME",), 0)
    assert (config.venue.rate_limit, config.venue.open_time) == (7, time(7))


@pytest.mark.parametrize(
    "argv",
    [
        ["--rate-limit", "0"],
        ["--reject-ratio", "2"],
        ["--venue", "A", "--venue", "A"],
        ["--client", "A", "--venue", "A"],
        ["--venue", "bad id"],
        ["--time-zone", "Nowhere/Land"],
        ["--open", "10:00:00", "--close", "10:00:00"],
        ["--fix-port", "70000"],
    ],
)
def test_command_line_errors_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_config(argv, env={})
    assert exc.value.code == 2


def test_comp_ids_must_be_safe_for_quickfix_settings_and_file_names() -> None:
    with pytest.raises(ConfigError):
        ExchangeConfig(venues=("X/../Y",))
    with pytest.raises(ConfigError):
        ExchangeConfig(clients=("_DOORBELL",))  # reserved shape for the internal session
