"""HTTP face of the mock exchange: JSON over HTTP/1.1 keep-alive on aiohttp.

Handlers only translate HTTP to `Venue` calls; every decision is made in `exchange.venue`.
The one thing done here is waiting the venue's latency with `asyncio.sleep`, so a slow answer
never holds up any other request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from exchange.config import ConfigError, ExchangeConfig
from exchange.venue import (
    InvalidMessage,
    MonotonicClock,
    OrderMessage,
    Venue,
    WallClock,
    sender_of,
    utc_now,
)

logger = logging.getLogger("exchange")

VENUES = web.AppKey("venues", dict[str, Venue])
CONFIG = web.AppKey("config", ExchangeConfig)

MAX_PAGE = 100_000


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
    except InvalidMessage as exc:
        return error_response(400, exc.code, exc.message)
    except ConfigError as exc:
        return error_response(400, "invalid_config", str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return error_response(exc.status, code, f"{request.method} {request.path}: {exc.reason}")
    except Exception:
        logger.exception("error handling %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the mock exchange failed; see its log")


def _venue(request: web.Request) -> Venue:
    name = request.match_info["venue"]
    venue = request.app[VENUES].get(name)
    if venue is None:
        raise UnknownVenue(name)
    return venue


async def _json_body(request: web.Request) -> tuple[Any, str]:
    try:
        text = await request.text()
        return json.loads(text), text
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidMessage("invalid_json", "body is not valid JSON") from None


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidMessage("invalid_query", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise InvalidMessage("invalid_query", f"{name} must be between {low} and {high}")
    return value


async def healthz(request: web.Request) -> web.Response:
    venues = request.app[VENUES]
    return web.json_response({"status": "ok", "venues": list(venues)})


async def logon(request: web.Request) -> web.Response:
    venue = _venue(request)
    sender = sender_of((await _json_body(request))[0])
    change = venue.logon(sender)
    logger.info(
        "logon  venue=%s sender=%s%s", venue.name, sender, "" if change.changed else " (already)"
    )
    return web.json_response(change.answer)


async def logout(request: web.Request) -> web.Response:
    venue = _venue(request)
    sender = sender_of((await _json_body(request))[0])
    change = venue.logout(sender)
    logger.info(
        "logout venue=%s sender=%s%s", venue.name, sender, "" if change.changed else " (already)"
    )
    return web.json_response(change.answer)


async def orders(request: web.Request) -> web.Response:
    venue = _venue(request)
    try:
        message = OrderMessage.parse(*await _json_body(request))
    except InvalidMessage as exc:
        venue.note_malformed()
        return error_response(400, exc.code, exc.message)
    receipt = venue.receive(message)
    if receipt.latency_s > 0:
        await asyncio.sleep(receipt.latency_s)
    return web.json_response(receipt.answer)


async def messages(request: web.Request) -> web.Response:
    venue = _venue(request)
    since = _int_query(request, "since", 0, 0, 2**62)
    limit = _int_query(request, "limit", 1000, 1, MAX_PAGE)
    return web.json_response(venue.messages(since=since, limit=limit))


async def venue_stats(request: web.Request) -> web.Response:
    return web.json_response(_venue(request).stats())


async def all_stats(request: web.Request) -> web.Response:
    return web.json_response({name: v.stats() for name, v in request.app[VENUES].items()})


async def book(request: web.Request) -> web.Response:
    venue = _venue(request)
    return web.json_response({"venue": venue.name, "orders": venue.book()})


async def get_config(request: web.Request) -> web.Response:
    venue = _venue(request)
    return web.json_response({"venue": venue.name, **venue.config.as_json()})


async def put_config(request: web.Request) -> web.Response:
    venue = _venue(request)
    body, _ = await _json_body(request)
    if not isinstance(body, dict):
        raise InvalidMessage("invalid_body", "body must be a JSON object")
    venue.config = venue.config.updated(body)
    logger.info("config venue=%s %s", venue.name, json.dumps(venue.config.as_json()))
    return web.json_response({"venue": venue.name, **venue.config.as_json()})


async def reset(request: web.Request) -> web.Response:
    # `?config=1` also restores each venue's start-up config, for test isolation.
    restore_config = request.query.get("config", "").lower() in {"1", "true", "yes"}
    venues = request.app[VENUES]
    for venue in venues.values():
        venue.reset(config=restore_config)
    logger.info("reset venues=%s config=%s", ",".join(venues), restore_config)
    return web.json_response({"reset": list(venues), "config": restore_config})


def summary_line(venues: dict[str, Venue]) -> str:
    parts = []
    for venue in venues.values():
        s = venue.stats()
        parts.append(
            f"{venue.name}[{s['state']}] recv={s['received']} acc={s['accepted']} "
            f"rej={s['rejected']} dup={s['duplicates']} notLoggedOn={s['notLoggedOn']} "
            f"violations={s['limitViolations']} max1s={s['maxInAnySlidingSecond']}/{s['rateLimit']}"
        )
    return "summary " + " | ".join(parts)


async def _summaries(app: web.Application) -> AsyncIterator[None]:
    interval = app[CONFIG].summary_interval_s

    async def loop() -> None:
        last = None
        while True:
            await asyncio.sleep(interval)
            line = summary_line(app[VENUES])
            # An idle exchange says nothing new; repeating it would bury the logon lines.
            if line != last:
                logger.info("%s", line)
                last = line

    task = asyncio.create_task(loop()) if interval > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(
    config: ExchangeConfig,
    *,
    monotonic_ns: MonotonicClock = time.monotonic_ns,
    wall_clock: WallClock = utc_now,
) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[CONFIG] = config
    app[VENUES] = {
        name: Venue(
            name,
            config.venue,
            seed=config.seed,
            log_cap=config.log_cap,
            monotonic_ns=monotonic_ns,
            wall_clock=wall_clock,
        )
        for name in config.venues
    }
    app.cleanup_ctx.append(_summaries)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/stats", all_stats)
    app.router.add_post("/reset", reset)
    app.router.add_post("/venues/{venue}/logon", logon)
    app.router.add_post("/venues/{venue}/logout", logout)
    app.router.add_post("/venues/{venue}/orders", orders)
    app.router.add_get("/venues/{venue}/orders", book)
    app.router.add_get("/venues/{venue}/messages", messages)
    app.router.add_get("/venues/{venue}/stats", venue_stats)
    app.router.add_get("/venues/{venue}/config", get_config)
    app.router.add_put("/venues/{venue}/config", put_config)
    return app
