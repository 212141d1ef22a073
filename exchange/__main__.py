"""Run the mock exchange: `python -m exchange --venue XMOCK --client OMS --fix-port 9878`.

Every option has an environment default (EXCHANGE_HOST, EXCHANGE_PORT, EXCHANGE_FIX_PORT,
EXCHANGE_VENUES, EXCHANGE_CLIENTS, EXCHANGE_RATE_LIMIT, EXCHANGE_LATENCY_MS,
EXCHANGE_REJECT_RATIO, EXCHANGE_TIME_ZONE, EXCHANGE_OPEN, EXCHANGE_CLOSE, EXCHANGE_SEED,
EXCHANGE_LOG_CAP, EXCHANGE_SUMMARY_SECONDS, EXCHANGE_STATE_DIR, and the market's:
EXCHANGE_MARKET, EXCHANGE_SYMBOLS, EXCHANGE_TICK_SIZE, EXCHANGE_VOLATILITY_TICKS,
EXCHANGE_LEVELS, EXCHANGE_DEPTH, EXCHANGE_TICK_MS, EXCHANGE_FILL_PROBABILITY,
EXCHANGE_MAKER_FEE, EXCHANGE_TAKER_FEE, and EXCHANGE_VENUE_CONFIG, each venue's own: entries
`VENUE:field=value,...` separated by ';'); the command line wins.
SIGTERM and SIGINT stop it cleanly with exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from exchange.config import (
    DEFAULT_CLIENT,
    DEFAULT_CLOSE_TIME,
    DEFAULT_FIX_PORT,
    DEFAULT_LATENCY_MS,
    DEFAULT_LOG_CAP,
    DEFAULT_OPEN_TIME,
    DEFAULT_PORT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_REJECT_RATIO,
    DEFAULT_SUMMARY_INTERVAL_S,
    DEFAULT_TIME_ZONE,
    DEFAULT_VENUE,
    ConfigError,
    ExchangeConfig,
    Latency,
    VenueConfig,
    parse_positive_int,
    parse_rate_limit,
    parse_reject_ratio,
    parse_time_zone,
    parse_venue_configs,
    parse_wall_time,
)
from exchange.fix_acceptor import DOORBELL_COMP_ID, check_port_free
from exchange.http_api import create_app
from exchange.market_config import MARKET_OPTIONS, MarketConfig
from exchange.quickfix_events import QuickfixEventLog
from exchange.run_ids import next_run_id
from exchange.service import Exchange

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


def _names(values: list[str] | None, env_value: str) -> tuple[str, ...]:
    names = values or env_value.split(",")
    return tuple(name.strip() for name in names if name.strip())


def parse_config(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> ExchangeConfig:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="python -m exchange", description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--host", default=env.get("EXCHANGE_HOST", "127.0.0.1"), help="HTTP address")
    add(
        "--port",
        type=_port,
        default=env.get("EXCHANGE_PORT", str(DEFAULT_PORT)),
        help="HTTP port; 0 picks a free one, printed in the 'listening' line",
    )
    add(
        "--fix-port",
        type=_port,
        default=env.get("EXCHANGE_FIX_PORT", str(DEFAULT_FIX_PORT)),
        help="the FIX acceptor's port (all venues); 0 picks a free one",
    )
    add(
        "--venue",
        dest="venues",
        action="append",
        help="venue to serve, its SenderCompID (repeatable); default EXCHANGE_VENUES",
    )
    add(
        "--client",
        dest="clients",
        action="append",
        help="client CompID each venue accepts (repeatable); default EXCHANGE_CLIENTS",
    )
    add(
        "--rate-limit",
        type=_arg_type(parse_rate_limit),
        default=env.get("EXCHANGE_RATE_LIMIT", str(DEFAULT_RATE_LIMIT)),
        help="application messages per venue per sliding second",
    )
    add(
        "--latency-ms",
        type=_arg_type(Latency.parse),
        default=env.get("EXCHANGE_LATENCY_MS", DEFAULT_LATENCY_MS),
        help="answer delay: fixed '5' or uniform range '1-10'",
    )
    add(
        "--reject-ratio",
        type=_arg_type(parse_reject_ratio),
        default=env.get("EXCHANGE_REJECT_RATIO", str(DEFAULT_REJECT_RATIO)),
        help="fraction of NewOrderSingles rejected at random (0..1)",
    )
    add(
        "--time-zone",
        type=_arg_type(parse_time_zone),
        default=env.get("EXCHANGE_TIME_ZONE", DEFAULT_TIME_ZONE),
        help="IANA zone of the trading window",
    )
    add(
        "--open",
        type=_arg_type(lambda text: parse_wall_time("open", text)),
        default=env.get("EXCHANGE_OPEN", DEFAULT_OPEN_TIME),
        help="local opening time HH:MM:SS",
    )
    add(
        "--close",
        type=_arg_type(lambda text: parse_wall_time("close", text)),
        default=env.get("EXCHANGE_CLOSE", DEFAULT_CLOSE_TIME),
        help="local closing time HH:MM:SS; earlier than --open is an overnight window",
    )
    add(
        "--state-dir",
        type=Path,
        default=env.get("EXCHANGE_STATE_DIR") or None,
        help="keep QuickFIX's sequence numbers and sent messages here across restarts",
    )
    add("--seed", default=env.get("EXCHANGE_SEED") or None)
    add(
        "--log-cap",
        type=_arg_type(lambda text: parse_positive_int("log cap", text)),
        default=env.get("EXCHANGE_LOG_CAP", str(DEFAULT_LOG_CAP)),
        help="messages kept in each venue's in-memory log; older ones are dropped",
    )
    add(
        "--venue-config",
        dest="venue_configs",
        action="append",
        metavar="VENUE:FIELD=VALUE,...",
        help="a venue's own config, fields as PUT /venues/{v}/config's, over the options "
        "above (repeatable); default EXCHANGE_VENUE_CONFIG, entries separated by ';'",
    )
    add("--summary-seconds", type=_seconds,
        default=env.get("EXCHANGE_SUMMARY_SECONDS", str(DEFAULT_SUMMARY_INTERVAL_S)),
        help="interval of the one-line summary on stdout; 0 disables it")  # fmt: skip
    for option, variable, name, text in MARKET_OPTIONS:
        add(option, dest=name, default=env.get(variable) or None, help=text,
            metavar=option[2:].upper().replace("-", "_"))
    args = parser.parse_args(argv)
    try:
        market = MarketConfig().updated({
            name: getattr(args, name) for _, _, name, _ in MARKET_OPTIONS
            if getattr(args, name) is not None})  # fmt: skip
        venue = VenueConfig(
            rate_limit=args.rate_limit, latency=args.latency_ms,
            reject_ratio=args.reject_ratio, time_zone=args.time_zone,
            open_time=args.open, close_time=args.close, market=market,
        )
        entries = args.venue_configs or env.get("EXCHANGE_VENUE_CONFIG", "").split(";")
        return ExchangeConfig(
            venues=_names(args.venues, env.get("EXCHANGE_VENUES", DEFAULT_VENUE)),
            clients=_names(args.clients, env.get("EXCHANGE_CLIENTS", DEFAULT_CLIENT)),
            venue=venue,
            venue_configs=parse_venue_configs([e for e in entries if e.strip()], venue),
            host=args.host, port=args.port, fix_port=args.fix_port,
            state_dir=args.state_dir, seed=args.seed, log_cap=args.log_cap,
            summary_interval_s=args.summary_seconds,
        )  # fmt: skip
    except ConfigError as exc:
        parser.error(str(exc))


async def serve(config: ExchangeConfig) -> int:
    try:
        config = replace(config, fix_port=check_port_free(config.fix_port))
    except OSError as exc:
        logger.error("cannot listen on FIX port %s: %s", config.fix_port, exc)
        return 1
    try:
        run_id = next_run_id(config.state_dir)
    except OSError as exc:
        logger.error("cannot keep the run id in %s: %s", config.state_dir, exc)
        return 1
    exchange = Exchange(config, run_id=run_id)
    runner = web.AppRunner(
        create_app(exchange, summary_interval_s=config.summary_interval_s),
        access_log=None, handle_signals=False,
    )  # fmt: skip
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port).start()
    except OSError as exc:
        logger.error("cannot listen on http://%s:%s: %s", config.host, config.port, exc)
        await runner.cleanup()
        return 1
    await asyncio.to_thread(exchange.start)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # After `import quickfix`, which resets SIGINT to the default action.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    port = runner.addresses[0][1] if runner.addresses else config.port
    v = config.venue
    logger.info(
        "listening on http://%s:%s fixPort=%s venues=%s clients=%s rateLimit=%s latencyMs=%s "
        "rejectRatio=%s window=%s %s-%s stateDir=%s seed=%s logCap=%s market=%s",
        config.host, port, config.fix_port, ",".join(config.venues), ",".join(config.clients),
        v.rate_limit, v.latency, v.reject_ratio, v.time_zone, v.open_time, v.close_time,
        config.state_dir, config.seed, config.log_cap, "on" if v.market.on else "off",
    )  # fmt: skip
    for name, own in config.venue_configs.items():
        logger.info(
            "venue %s rateLimit=%s latencyMs=%s makerFeePerShare=%s takerFeePerShare=%s "
            "depth=%s levels=%s market=%s", name, own.rate_limit, own.latency,
            own.market.maker_fee, own.market.taker_fee, own.market.depth, own.market.levels,
            "on" if own.market.on else "off",
        )  # fmt: skip
    try:
        await stop.wait()
    finally:
        logger.info("stopping")
        await runner.cleanup()
        await asyncio.to_thread(exchange.stop)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(argv)
    events = QuickfixEventLog(hide=lambda session: DOORBELL_COMP_ID in session)
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    try:
        return asyncio.run(serve(config))
    finally:
        logger.info("stopped")
        events.close()


if __name__ == "__main__":
    sys.exit(main())
