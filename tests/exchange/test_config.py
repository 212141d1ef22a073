"""Configuration parsing shared by the command line, the environment and PUT /config."""

from __future__ import annotations

import pytest

from exchange.__main__ import parse_config
from exchange.config import ConfigError, Latency, VenueConfig


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


def test_defaults() -> None:
    config = parse_config([], env={})
    assert config.venues == ("XMOCK",)
    assert (config.host, config.port) == ("127.0.0.1", 9001)
    assert config.venue.rate_limit == 100
    assert str(config.venue.latency) == "1-3"
    assert config.venue.reject_ratio == 0.0
    assert config.seed is None
    assert config.log_cap == 1_000_000


def test_environment_defaults_and_command_line_overrides() -> None:
    env = {
        "EXCHANGE_HOST": "127.0.0.2",
        "EXCHANGE_PORT": "9100",
        "EXCHANGE_VENUES": "XA, XB",
        "EXCHANGE_RATE_LIMIT": "50",
        "EXCHANGE_LATENCY_MS": "5",
        "EXCHANGE_REJECT_RATIO": "0.25",
        "EXCHANGE_SEED": "42",
        "EXCHANGE_LOG_CAP": "1000",
    }
    config = parse_config([], env=env)
    assert config.venues == ("XA", "XB")
    assert (config.host, config.port) == ("127.0.0.2", 9100)
    assert (config.seed, config.log_cap) == ("42", 1000)
    assert (config.venue.rate_limit, str(config.venue.latency)) == (50, "5")
    assert config.venue.reject_ratio == 0.25

    config = parse_config(["--venue", "XC", "--venue", "XD", "--rate-limit", "7"], env=env)
    assert config.venues == ("XC", "XD")
    assert config.venue.rate_limit == 7


def test_command_line_errors_exit_with_usage() -> None:
    for argv in (["--rate-limit", "0"], ["--reject-ratio", "2"], ["--venue", "A", "--venue", "A"]):
        with pytest.raises(SystemExit) as exc:
            parse_config(argv, env={})
        assert exc.value.code == 2
