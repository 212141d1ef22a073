"""The market's HTTP endpoints (exchange/README.md, "HTTP API"), for tests and demos, and
the timer that moves the markets. Handlers only translate; `exchange.market_control` acts."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from typing import Any

from aiohttp import web

from exchange.service import Exchange, InvalidRequest
from exchange.trades import TradeError

logger = logging.getLogger("exchange")

# How often the markets are looked at: each steps every `tickMs` of its venue's config, and
# a market-data update waits at most this long past its 200 ms.
MARKET_TICK_S = 0.02

EXCHANGE = web.AppKey("market_exchange", Exchange)
NOT_FOUND = {"unknown_order", "unknown_trade", "unknown_symbol"}
CONFLICT = {"order_closed", "trade_busted", "overfill"}


def trade_error_status(error: TradeError) -> int:
    return 404 if error.code in NOT_FOUND else 409 if error.code in CONFLICT else 400


def _exchange(request: web.Request) -> Exchange:
    return request.app[EXCHANGE]


def _venue(request: web.Request) -> str:
    name = request.match_info["venue"]
    if name not in _exchange(request).venues:
        raise web.HTTPNotFound(reason="Unknown Venue")
    return name


async def _body(request: web.Request) -> Any:
    """JSON with its numbers as Decimals: a price never passes through a float."""
    text = await request.text()
    if not text.strip():
        return {}
    try:
        return json.loads(text, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidRequest("invalid_json", "body is not valid JSON") from None


async def get_book(request: web.Request) -> web.Response:
    market = _exchange(request).market
    return web.json_response(market.book(_venue(request), request.match_info["symbol"]))


async def put_book(request: web.Request) -> web.Response:
    market = _exchange(request).market
    name, body = _venue(request), await _body(request)
    return web.json_response(market.set_book(name, request.match_info["symbol"], body))


async def delete_book(request: web.Request) -> web.Response:
    market = _exchange(request).market
    return web.json_response(market.unpin(_venue(request), request.match_info["symbol"]))


async def trades(request: web.Request) -> web.Response:
    return web.json_response(_exchange(request).market.trades(_venue(request)))


async def pause(request: web.Request) -> web.Response:
    return web.json_response(_exchange(request).market.pause(_venue(request), True))


async def resume(request: web.Request) -> web.Response:
    return web.json_response(_exchange(request).market.pause(_venue(request), False))


async def fill(request: web.Request) -> web.Response:
    name, body = _venue(request), await _body(request)
    market = _exchange(request).market
    return web.json_response(market.force_fill(name, request.match_info["cl_ord_id"], body))


async def bust(request: web.Request) -> web.Response:
    market = _exchange(request).market
    return web.json_response(market.bust(_venue(request), request.match_info["exec_id"]))


async def correct(request: web.Request) -> web.Response:
    name, body = _venue(request), await _body(request)
    market = _exchange(request).market
    return web.json_response(market.correct(name, request.match_info["exec_id"], body))


async def market_timer(exchange: Exchange) -> None:
    while True:
        await asyncio.sleep(MARKET_TICK_S)
        try:
            exchange.market.advance()
        except Exception:
            logger.exception("market timer failed")


def add_market_routes(app: web.Application, exchange: Exchange) -> None:
    app[EXCHANGE] = exchange
    router = app.router
    router.add_get("/venues/{venue}/marketdata/{symbol}", get_book)
    router.add_put("/venues/{venue}/marketdata/{symbol}", put_book)
    router.add_delete("/venues/{venue}/marketdata/{symbol}", delete_book)
    router.add_get("/venues/{venue}/trades", trades)
    router.add_post("/venues/{venue}/trades/{exec_id}/bust", bust)
    router.add_post("/venues/{venue}/trades/{exec_id}/correct", correct)
    router.add_post("/venues/{venue}/orders/{cl_ord_id}/fill", fill)
    router.add_post("/venues/{venue}/market/pause", pause)
    router.add_post("/venues/{venue}/market/resume", resume)
