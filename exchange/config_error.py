"""The one error of configuration parsing, shared by `exchange.config` and
`exchange.market_config` (which `exchange.config` builds on)."""


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says which and why."""
