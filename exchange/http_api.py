"""The exchange's HTTP face (aiohttp, JSON): stats, the message log, the book, config,
trading-window control, resets and fault injection; the market's endpoints are in
`exchange.http_market`. Orders travel over FIX, never here.

Handlers translate HTTP to `Exchange` calls; what must happen on QuickFIX's thread comes back
as a future, awaited here with a deadline so a wedged FIX thread cannot hang a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from aiohttp import web

from exchange.config import ConfigError
from exchange.http_market import add_market_routes, market_timer, trade_error_status
from exchange.service import Exchange, InvalidRequest
from exchange.trades import TradeError

logger = logging.getLogger("exchange")

EXCHANGE = web.AppKey("exchange", Exchange)
SUMMARY_INTERVAL = web.AppKey("summary_interval", float)

MAX_PAGE = 100_000
FIX_THREAD_DEADLINE_S = 5.0
# How often the trading windows are looked at; a message arriving sooner sees the close too.
CLOCK_TICK_S = 0.1


class UnknownVenue(LookupError):
    pass


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error is JSON with a machine-readable code, unknown paths and methods included."""
    try:
        return await handler(request)
    except UnknownVenue as exc:
        return error_response(404, "unknown_venue", f"no venue {exc.args[0]!r}")
    except InvalidRequest as exc:
        return error_response(400, exc.code, exc.message)
    except TradeError as exc:
        return error_response(trade_error_status(exc), exc.code, str(exc))
    except ConfigError as exc:
        return error_response(400, "invalid_config", str(exc))
    except TimeoutError:
        return error_response(503, "fix_thread_busy", "QuickFIX's thread did not run the request")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return error_response(exc.status, code, f"{request.method} {request.path}: {exc.reason}")
    except Exception:
        logger.exception("error handling %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the mock exchange failed; see its log")


def _exchange(request: web.Request) -> Exchange:
    return request.app[EXCHANGE]


def _venue_name(request: web.Request) -> str:
    name = request.match_info["venue"]
    if name not in request.app[EXCHANGE].venues:
        raise UnknownVenue(name)
    return name


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidRequest("invalid_json", "body is not valid JSON") from None


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest("invalid_query", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise InvalidRequest("invalid_query", f"{name} must be between {low} and {high}")
    return value


async def _on_fix_thread(start: Callable[[], Future[Any]]) -> Any:
    # Ringing the doorbell is a blocking socket write; keep it off the event loop.
    future = await asyncio.to_thread(start)
    return await asyncio.wait_for(asyncio.wrap_future(future), FIX_THREAD_DEADLINE_S)


async def healthz(request: web.Request) -> web.Response:
    exchange = _exchange(request)
    return web.json_response(
        {"status": "ok", "venues": list(exchange.venues), "fixPort": exchange.fix.port}
    )


async def all_stats(request: web.Request) -> web.Response:
    exchange = _exchange(request)
    return web.json_response({name: exchange.stats(name) for name in exchange.venues})


async def venue_stats(request: web.Request) -> web.Response:
    return web.json_response(_exchange(request).stats(_venue_name(request)))


async def messages(request: web.Request) -> web.Response:
    venue = _exchange(request).venue(_venue_name(request))
    since = _int_query(request, "since", 0, 0, 2**62)
    limit = _int_query(request, "limit", 1000, 1, MAX_PAGE)
    page = _exchange(request).locked(lambda: venue.messages(since=since, limit=limit))
    return web.json_response(page)


async def book(request: web.Request) -> web.Response:
    name = _venue_name(request)
    venue = _exchange(request).venue(name)
    return web.json_response({"venue": name, "orders": _exchange(request).locked(venue.book)})


async def cancel_order(request: web.Request) -> web.Response:
    name = _venue_name(request)
    cl_ord_id = request.match_info["cl_ord_id"]
    try:
        return web.json_response(_exchange(request).cancel_order(name, cl_ord_id))
    except LookupError:
        return error_response(404, "unknown_order", f"{name} has no order {cl_ord_id!r}")
    except ValueError as exc:
        return error_response(409, "order_closed", f"order {cl_ord_id!r} is {exc}")


async def get_config(request: web.Request) -> web.Response:
    name = _venue_name(request)
    venue = _exchange(request).venue(name)
    return web.json_response({"venue": name, **_exchange(request).locked(venue.config.as_json)})


async def put_config(request: web.Request) -> web.Response:
    name = _venue_name(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise InvalidRequest("invalid_body", "body must be a JSON object")
    return web.json_response(_exchange(request).update_config(name, body))


async def close_venue(request: web.Request) -> web.Response:
    return web.json_response(_exchange(request).close_venue(_venue_name(request)))


async def open_venue(request: web.Request) -> web.Response:
    return web.json_response(_exchange(request).open_venue(_venue_name(request)))


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(_exchange(request).faults(_venue_name(request)))


async def post_faults(request: web.Request) -> web.Response:
    name = _venue_name(request)
    body = await _json_body(request)
    exchange = _exchange(request)
    return web.json_response(await _on_fix_thread(lambda: exchange.inject_faults(name, body)))


async def reset(request: web.Request) -> web.Response:
    # `?config=1` also restores each venue's start-up config, for test isolation.
    restore = request.query.get("config", "").lower() in {"1", "true", "yes"}
    exchange = _exchange(request)
    return web.json_response(await _on_fix_thread(lambda: exchange.reset(restore_config=restore)))


async def _background(app: web.Application) -> AsyncIterator[None]:
    """The trading-window timer and the periodic summary line."""
    exchange = app[EXCHANGE]
    interval = app[SUMMARY_INTERVAL]

    async def tick_clocks() -> None:
        while True:
            await asyncio.sleep(CLOCK_TICK_S)
            try:
                exchange.advance_clocks()
            except Exception:
                logger.exception("trading-window timer failed")

    async def summaries() -> None:
        last = None
        while True:
            await asyncio.sleep(interval)
            line = exchange.summary_line()
            # An idle exchange says nothing new; repeating it would bury the lines that matter.
            if line != last:
                logger.info("%s", line)
                last = line

    tasks = [asyncio.create_task(tick_clocks()), asyncio.create_task(market_timer(exchange))]
    if interval > 0:
        tasks.append(asyncio.create_task(summaries()))
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(exchange: Exchange, *, summary_interval_s: float = 0.0) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[EXCHANGE] = exchange
    app[SUMMARY_INTERVAL] = summary_interval_s
    app.cleanup_ctx.append(_background)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/stats", all_stats)
    app.router.add_post("/reset", reset)
    app.router.add_get("/venues/{venue}/stats", venue_stats)
    app.router.add_get("/venues/{venue}/messages", messages)
    app.router.add_get("/venues/{venue}/orders", book)
    app.router.add_post("/venues/{venue}/orders/{cl_ord_id}/cancel", cancel_order)
    app.router.add_get("/venues/{venue}/config", get_config)
    app.router.add_put("/venues/{venue}/config", put_config)
    app.router.add_post("/venues/{venue}/close", close_venue)
    app.router.add_post("/venues/{venue}/open", open_venue)
    app.router.add_get("/venues/{venue}/faults", get_faults)
    app.router.add_post("/venues/{venue}/faults", post_faults)
    add_market_routes(app, exchange)
    return app
