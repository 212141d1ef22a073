"""Configuration values of the mock exchange and their parsing.

The same parsers serve the command line, the environment and `PUT /venues/{venue}/config`,
so a value that is valid in one place is valid in all of them.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exchange.config_error import ConfigError
from exchange.market_config import MARKET_FIELDS, MarketConfig

__all__ = ["ConfigError"]  # re-exported: callers know it as exchange.config.ConfigError

DEFAULT_VENUE = "XMOCK"
DEFAULT_CLIENT = "OMS"
DEFAULT_PORT = 9001
DEFAULT_FIX_PORT = 9878
DEFAULT_RATE_LIMIT = 100
DEFAULT_LATENCY_MS = "1-3"
DEFAULT_REJECT_RATIO = 0.0
# The OMS's demo session: open all day, UTC.
DEFAULT_TIME_ZONE = "UTC"
DEFAULT_OPEN_TIME = "00:00:00"
DEFAULT_CLOSE_TIME = "23:59:59"
# At ~1 KB per retained message this bounds each venue's log near 1 GB; a benchmark that
# needs the whole run should page the log out with `?since=` before it wraps.
DEFAULT_LOG_CAP = 1_000_000
DEFAULT_SUMMARY_INTERVAL_S = 10.0

# Anything slower than a minute is a typo, not a test scenario.
MAX_LATENCY_MS = 60_000.0

# CompIDs end up in QuickFIX's settings and in its store's file names.
_COMP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_WALL_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")

CONFIG_FIELDS = ("rateLimit", "latencyMs", "rejectRatio", "timeZone", "openTime", "closeTime")


def _format_ms(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


@dataclass(frozen=True)
class Latency:
    """Answer delay in milliseconds: fixed when low == high, else uniform in [low, high]."""

    low_ms: float
    high_ms: float

    @classmethod
    def parse(cls, value: Any) -> Latency:
        """Accept 5, 2.5, "5" or "1-10"."""
        if isinstance(value, bool):
            raise ConfigError("latencyMs must be a number of milliseconds or a range 'low-high'")
        if isinstance(value, (int, float)):
            low = high = float(value)
        elif isinstance(value, str):
            text = value.strip()
            # No negative values are allowed, so the only '-' can be the range separator.
            low_text, sep, high_text = text.partition("-")
            try:
                low = float(low_text)
                high = float(high_text) if sep else low
            except ValueError:
                raise ConfigError(
                    f"latencyMs {value!r} is neither milliseconds ('5') nor a range ('1-10')"
                ) from None
        else:
            raise ConfigError("latencyMs must be a number of milliseconds or a range 'low-high'")
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ConfigError(f"latencyMs {value!r} is not finite")
        if low < 0 or high < low:
            raise ConfigError(f"latencyMs {value!r} must satisfy 0 <= low <= high")
        if high > MAX_LATENCY_MS:
            raise ConfigError(f"latencyMs {value!r} exceeds {MAX_LATENCY_MS:g} ms")
        return cls(low, high)

    def sample_seconds(self, rng: random.Random) -> float:
        if self.low_ms == self.high_ms:
            return self.low_ms / 1000.0
        return rng.uniform(self.low_ms, self.high_ms) / 1000.0

    def __str__(self) -> str:
        if self.low_ms == self.high_ms:
            return _format_ms(self.low_ms)
        return f"{_format_ms(self.low_ms)}-{_format_ms(self.high_ms)}"


def parse_rate_limit(value: Any) -> int:
    # bool is an int subclass; `true` as a limit is a client bug worth a 400.
    if isinstance(value, bool):
        raise ConfigError("rateLimit must be a positive integer")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(f"rateLimit {value!r} is not an integer") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 1:
        raise ConfigError(f"rateLimit {value!r} must be a positive integer")
    return value


def parse_reject_ratio(value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError("rejectRatio must be a number between 0 and 1")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"rejectRatio {value!r} is not a number") from None
    if not isinstance(value, (int, float)) or not (0.0 <= float(value) <= 1.0):
        raise ConfigError(f"rejectRatio {value!r} must be between 0 and 1")
    return float(value)


def parse_positive_int(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} {value!r} is not an integer") from None
    if number < 1:
        raise ConfigError(f"{name} must be at least 1")
    return number


def parse_time_zone(value: Any) -> str:
    """An IANA zone name such as "America/New_York"; kept as the name, checked by loading it."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("timeZone must be an IANA time zone name such as 'America/New_York'")
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timeZone {name!r} is not a known IANA time zone") from None
    return name


def parse_wall_time(name: str, value: Any) -> time:
    """A local wall-clock time "HH:MM:SS" (or "HH:MM")."""
    match = _WALL_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{name} {value!r} must be a wall time 'HH:MM:SS'")
    hour, minute, second = (int(part or 0) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise ConfigError(f"{name} {value!r} is not a time of day")
    return time(hour, minute, second)


def parse_comp_id(value: str) -> str:
    text = value.strip()
    if not _COMP_ID.fullmatch(text):
        raise ConfigError(
            f"CompID {value!r} must be 1-32 letters, digits, '_', '.' or '-', starting with a "
            "letter or digit"
        )
    return text


@dataclass(frozen=True)
class VenueConfig:
    """The behaviour knobs of one venue; tests and benchmarks change them at run time."""

    rate_limit: int = DEFAULT_RATE_LIMIT
    latency: Latency = field(default_factory=lambda: Latency.parse(DEFAULT_LATENCY_MS))
    reject_ratio: float = DEFAULT_REJECT_RATIO
    time_zone: str = DEFAULT_TIME_ZONE
    open_time: time = field(default_factory=lambda: parse_wall_time("open", DEFAULT_OPEN_TIME))
    close_time: time = field(default_factory=lambda: parse_wall_time("close", DEFAULT_CLOSE_TIME))
    market: MarketConfig = field(default_factory=MarketConfig)

    def __post_init__(self) -> None:
        if self.open_time == self.close_time:
            # Zero hours or twenty-four? Neither reading is obviously right, so ask.
            raise ConfigError("openTime and closeTime must differ")

    def updated(self, changes: dict[str, Any]) -> VenueConfig:
        """Apply a `PUT /config` body; all fields are validated before any is applied."""
        unknown = set(changes) - set(CONFIG_FIELDS) - set(MARKET_FIELDS)
        if unknown:
            raise ConfigError(f"unknown config fields: {', '.join(sorted(unknown))}")
        market = {name: value for name, value in changes.items() if name in MARKET_FIELDS}
        new = replace(self, market=self.market.updated(market)) if market else self
        if "rateLimit" in changes:
            new = replace(new, rate_limit=parse_rate_limit(changes["rateLimit"]))
        if "latencyMs" in changes:
            new = replace(new, latency=Latency.parse(changes["latencyMs"]))
        if "rejectRatio" in changes:
            new = replace(new, reject_ratio=parse_reject_ratio(changes["rejectRatio"]))
        if "timeZone" in changes:
            new = replace(new, time_zone=parse_time_zone(changes["timeZone"]))
        if "openTime" in changes:
            new = replace(new, open_time=parse_wall_time("openTime", changes["openTime"]))
        if "closeTime" in changes:
            new = replace(new, close_time=parse_wall_time("closeTime", changes["closeTime"]))
        return new

    def as_json(self) -> dict[str, Any]:
        return {
            "rateLimit": self.rate_limit,
            "latencyMs": str(self.latency),
            "rejectRatio": self.reject_ratio,
            "timeZone": self.time_zone,
            "openTime": self.open_time.isoformat(),
            "closeTime": self.close_time.isoformat(),
            **self.market.as_json(),
        }


_ALL_FIELDS = CONFIG_FIELDS + MARKET_FIELDS
# A field separator is a comma before a field's name, so `symbols=AAPL=190,MSFT=320` keeps its.
_FIELD_SEPARATOR = re.compile(r",\s*(?=(?:%s)\s*=)" % "|".join(_ALL_FIELDS))


def parse_venue_config(text: str) -> tuple[str, dict[str, str]]:
    """One venue's own start-up config, `VENUE:field=value,field=value`, with the fields of
    `PUT /venues/{v}/config` (values parsed later by VenueConfig.updated, as that PUT's)."""
    venue, sep, body = text.strip().partition(":")
    if not sep or not body.strip():
        raise ConfigError(f"venue config {text!r} must be 'VENUE:field=value,field=value'")
    changes: dict[str, str] = {}
    for item in _FIELD_SEPARATOR.split(body.strip()):
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or name not in _ALL_FIELDS:
            raise ConfigError(f"venue config {text!r}: {item!r} is not a known field=value")
        if name in changes:
            raise ConfigError(f"venue config {text!r}: {name} given twice")
        changes[name] = value.strip()
    return parse_comp_id(venue), changes


def parse_venue_configs(
    entries: list[str], base: VenueConfig
) -> dict[str, VenueConfig]:
    """Each venue's config: `base` (the other options) with its entry's fields applied."""
    configs: dict[str, VenueConfig] = {}
    for entry in entries:
        venue, changes = parse_venue_config(entry)
        if venue in configs:
            raise ConfigError(f"venue config for {venue} given twice")
        try:
            configs[venue] = base.updated(changes)
        except ConfigError as exc:
            raise ConfigError(f"venue config for {venue}: {exc}") from None
    return configs


@dataclass(frozen=True)
class ExchangeConfig:
    """Everything one exchange process needs."""

    venues: tuple[str, ...] = (DEFAULT_VENUE,)
    clients: tuple[str, ...] = (DEFAULT_CLIENT,)
    venue: VenueConfig = field(default_factory=VenueConfig)
    # A venue's own config (--venue-config), in place of `venue`, which the others share.
    venue_configs: Mapping[str, VenueConfig] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    fix_port: int = DEFAULT_FIX_PORT
    state_dir: Path | None = None
    seed: str | None = None
    log_cap: int = DEFAULT_LOG_CAP
    summary_interval_s: float = DEFAULT_SUMMARY_INTERVAL_S

    def __post_init__(self) -> None:
        for kind, names in (("venues", self.venues), ("clients", self.clients)):
            if not names:
                raise ConfigError(f"at least one of {kind} is required")
            if len(set(names)) != len(names):
                raise ConfigError(f"{kind} repeated: {', '.join(names)}")
            for name in names:
                parse_comp_id(name)
        both = set(self.venues) & set(self.clients)
        if both:
            raise ConfigError(f"a CompID cannot be both venue and client: {', '.join(both)}")
        if self.log_cap < 1:
            raise ConfigError("log cap must be at least 1")
        strangers = set(self.venue_configs) - set(self.venues)
        if strangers:
            raise ConfigError(f"config for a venue not served: {', '.join(sorted(strangers))}")

    def config_of(self, venue: str) -> VenueConfig:
        return self.venue_configs.get(venue, self.venue)
