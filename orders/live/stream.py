"""GET /api/v1/events: the live stream of a user's orders and fills (Server-Sent Events),
served by the ASGI process (`live` in the Procfile, uvicorn) so that a client following its
orders for hours holds no gunicorn thread: here a stream is a coroutine, waiting costs
nothing, and each read of the table is a short call on a worker thread.

    curl -N -H "Authorization: Token $TOKEN" http://127.0.0.1:8001/api/v1/events

Each event is one audit event (orders/live/feed.py): `event: order` for a state change (or
any other change to the order), `event: fill` for a fill, `id:` its event id. A client that
reconnects sends the last id it saw as `Last-Event-ID` and gets exactly what followed.
"""

import asyncio
import logging
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import JsonResponse, StreamingHttpResponse
from rest_framework import exceptions

from omsproject.authentication import TokenAuthentication
from omsproject.errors import error_body
from orders.live import feed
from orders.live.wake import listener

logger = logging.getLogger("orders.live")

KEEPALIVE_SECONDS = 15  # a comment line, so proxies and clients see a live connection
RECHECK_SECONDS = 10  # the token and the user's accounts are looked at again this often
HELD_BACK_RETRY_SECONDS = 0.1


def _error(status: int, code: str, message: str, **headers) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _authenticate(request):
    """(user, None) or (None, an error response), by the API's token rules."""
    try:
        found = TokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed as exc:
        return None, _error(401, "authentication_failed", str(exc.detail),
                            WWW_Authenticate="Token")
    if found is None:
        return None, _error(401, "not_authenticated",
                            "Authentication credentials were not provided.",
                            WWW_Authenticate="Token")
    return found[0], None


async def events_stream(request):
    if not isinstance(request, ASGIRequest):
        # Under gunicorn a stream would hold a thread for as long as the client listens.
        return _error(404, "not_found", "The event stream is served by the live process "
                      f"(port {settings.OMS_LIVE_PORT}), not here.")
    if request.method != "GET":
        return _error(405, "method_not_allowed", f'Method "{request.method}" not allowed.',
                      Allow="GET")
    user, refused = await sync_to_async(_authenticate, thread_sensitive=False)(request)
    if refused is not None:
        return refused
    last_seen = request.headers.get("Last-Event-ID")
    if last_seen is not None and last_seen.strip() and not (
        last_seen.strip().isascii() and last_seen.strip().isdigit()
        and int(last_seen) < 2 ** 63
    ):
        return _error(400, "invalid_last_event_id", "Last-Event-ID is not an event id.")
    position = await sync_to_async(feed.start_position, thread_sensitive=False)(last_seen)
    if position is None:
        return _error(400, "invalid_last_event_id",
                      f"There is no event {last_seen.strip()} to resume after.")
    response = StreamingHttpResponse(_frames(request, user, position),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def _frames(request, user, position: feed.Position):
    scoped = not user.is_staff
    user_id = user.pk if scoped else None
    call = sync_to_async  # each read on a worker thread, never the event loop
    accounts = await call(feed.accounts_of, thread_sensitive=False)(user.pk) if scoped else None
    wakes = listener()
    woken = wakes.register(accounts)
    poll = settings.OMS_LIVE_POLL_SECONDS
    last_sent = last_check = time.monotonic()
    try:
        yield f"retry: {int(poll * 1000)}\n\n"
        while True:
            woken.clear()
            events, held_back = await call(feed.events_after, thread_sensitive=False)(
                position, user_id=user_id)
            if events:
                yield "".join(event.frame() for event in events)
                position = events[-1].position
                last_sent = time.monotonic()
                if len(events) == feed.BATCH:
                    continue
            now = time.monotonic()
            if now - last_check >= RECHECK_SECONDS:
                last_check = now
                still, _ = await call(_authenticate, thread_sensitive=False)(request)
                if still is None:
                    yield "event: error\ndata: {\"code\": \"authentication_failed\"}\n\n"
                    return
                if scoped:
                    accounts = await call(feed.accounts_of, thread_sensitive=False)(user.pk)
                    wakes.follow(woken, accounts)
            if now - last_sent >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                last_sent = now
            try:
                await asyncio.wait_for(woken.wait(),
                                       HELD_BACK_RETRY_SECONDS if held_back else poll)
            except TimeoutError:
                pass
    finally:
        wakes.unregister(woken)
