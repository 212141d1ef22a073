"""Run the mock exchange: `python -m exchange --host 127.0.0.1 --port 9001 --venue XMOCK`.

Every option has an environment default (EXCHANGE_HOST, EXCHANGE_PORT, EXCHANGE_VENUES,
EXCHANGE_RATE_LIMIT, EXCHANGE_LATENCY_MS, EXCHANGE_REJECT_RATIO, EXCHANGE_SEED,
EXCHANGE_LOG_CAP, EXCHANGE_SUMMARY_SECONDS); the command line wins. SIGTERM and SIGINT stop it
cleanly with exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from exchange.config import (
    DEFAULT_LATENCY_MS,
    DEFAULT_LOG_CAP,
    DEFAULT_PORT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_REJECT_RATIO,
    DEFAULT_SUMMARY_INTERVAL_S,
    DEFAULT_VENUE,
    ConfigError,
    ExchangeConfig,
    Latency,
    VenueConfig,
    parse_positive_int,
    parse_rate_limit,
    parse_reject_ratio,
)
from exchange.server import create_app

logger = logging.getLogger("exchange")


def _arg_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Turn a ConfigError into argparse's usage error instead of a traceback."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} out of range")
    return port


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("summary interval must be >= 0 (0 disables it)")
    return value


def parse_config(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> ExchangeConfig:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="python -m exchange", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=env.get("EXCHANGE_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port",
        type=_port,
        default=env.get("EXCHANGE_PORT", str(DEFAULT_PORT)),
        help="0 picks a free port; the chosen one is in the 'listening' line",
    )
    parser.add_argument(
        "--venue",
        dest="venues",
        action="append",
        help="venue to serve (repeatable); default EXCHANGE_VENUES, a comma list",
    )
    parser.add_argument(
        "--rate-limit",
        type=_arg_type(parse_rate_limit),
        default=env.get("EXCHANGE_RATE_LIMIT", str(DEFAULT_RATE_LIMIT)),
        help="messages per venue per sliding second",
    )
    parser.add_argument(
        "--latency-ms",
        type=_arg_type(Latency.parse),
        default=env.get("EXCHANGE_LATENCY_MS", DEFAULT_LATENCY_MS),
        help="answer delay: fixed '5' or uniform range '1-10'",
    )
    parser.add_argument(
        "--reject-ratio",
        type=_arg_type(parse_reject_ratio),
        default=env.get("EXCHANGE_REJECT_RATIO", str(DEFAULT_REJECT_RATIO)),
        help="fraction of NEW orders rejected at random (0..1)",
    )
    parser.add_argument("--seed", default=env.get("EXCHANGE_SEED") or None)
    parser.add_argument(
        "--log-cap",
        type=_arg_type(lambda text: parse_positive_int("log cap", text)),
        default=env.get("EXCHANGE_LOG_CAP", str(DEFAULT_LOG_CAP)),
        help="messages kept in each venue's in-memory log; older ones are dropped",
    )
    parser.add_argument(
        "--summary-seconds",
        type=_seconds,
        default=env.get("EXCHANGE_SUMMARY_SECONDS", str(DEFAULT_SUMMARY_INTERVAL_S)),
        help="interval of the one-line summary on stdout; 0 disables it",
    )
    args = parser.parse_args(argv)
    venues = args.venues or [
        name.strip() for name in env.get("EXCHANGE_VENUES", DEFAULT_VENUE).split(",")
    ]
    venues = [name for name in venues if name]
    try:
        return ExchangeConfig(
            venues=tuple(venues),
            venue=VenueConfig(
                rate_limit=args.rate_limit, latency=args.latency_ms, reject_ratio=args.reject_ratio
            ),
            host=args.host,
            port=args.port,
            seed=args.seed,
            log_cap=args.log_cap,
            summary_interval_s=args.summary_seconds,
        )
    except ConfigError as exc:
        parser.error(str(exc))


async def serve(config: ExchangeConfig) -> None:
    runner = web.AppRunner(create_app(config), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # With --port 0 the kernel picks the port; report the real one.
    port = runner.addresses[0][1] if runner.addresses else config.port
    v = config.venue
    logger.info(
        "listening on http://%s:%s venues=%s rateLimit=%s latencyMs=%s rejectRatio=%s seed=%s "
        "logCap=%s",
        config.host, port, ",".join(config.venues), v.rate_limit, v.latency, v.reject_ratio,
        config.seed, config.log_cap,
    )  # fmt: skip
    try:
        await stop.wait()
    finally:
        logger.info("stopping")
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(argv)
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
