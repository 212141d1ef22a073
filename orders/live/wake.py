"""Wake-ups for the live event stream: after a transaction that wrote audit events commits,
one Redis PUBLISH names the accounts it touched; each stream process listens on one
connection and wakes the streams of those accounts. Only a wake-up: a lost one (Redis down,
a publish that failed) delays an event by the streams' poll interval and loses nothing, since
the stream reads the table (orders/live/feed.py)."""

import asyncio
import logging
from collections.abc import Iterable
from functools import lru_cache

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger("orders.live")

CHANNEL = "oms:live:events"
EVERY_ACCOUNT = "*"


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    # Short timeouts: a wake-up is never worth holding up the request that committed.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.25,
                                socket_connect_timeout=0.25)


class _Wake:
    """One publish per transaction, however many events it wrote."""

    def __init__(self):
        self.accounts: set[str] = set()

    def __call__(self) -> None:
        try:
            _client().publish(CHANNEL, ",".join(sorted(self.accounts)))
        except redis.RedisError as exc:
            logger.debug("live wake-up not published: %r", exc)


def events_written(account_codes: Iterable[str] | None, *, using: str | None = None) -> None:
    """Audit events of these accounts (None: unknown) were written in the current
    transaction: wake their streams once it commits."""
    accounts = {EVERY_ACCOUNT} if account_codes is None else set(account_codes)
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:
        for _savepoints, pending, _robust in connection.run_on_commit:
            if isinstance(pending, _Wake):
                pending.accounts |= accounts
                return
    wake = _Wake()
    wake.accounts = accounts
    transaction.on_commit(wake, using=using, robust=True)


class Listener:
    """This process's one subscription: streams register an asyncio.Event with the accounts
    they follow (None: every account)."""

    def __init__(self):
        self._streams: dict[asyncio.Event, frozenset[str] | None] = {}
        self._task: asyncio.Task | None = None

    def register(self, accounts: frozenset[str] | None) -> asyncio.Event:
        event = asyncio.Event()
        self._streams[event] = accounts
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen())
        return event

    def follow(self, event: asyncio.Event, accounts: frozenset[str] | None) -> None:
        if event in self._streams:
            self._streams[event] = accounts

    def unregister(self, event: asyncio.Event) -> None:
        self._streams.pop(event, None)

    def _wake(self, payload: str) -> None:
        touched = set(payload.split(",")) if payload else {EVERY_ACCOUNT}
        everyone = EVERY_ACCOUNT in touched
        for event, accounts in list(self._streams.items()):
            if accounts is None or everyone or accounts & touched:
                event.set()

    async def _listen(self) -> None:
        backoff = 0.5
        while self._streams:
            client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    backoff = 0.5
                    while self._streams:
                        message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                           timeout=1.0)
                        if message is not None:
                            data = message["data"]
                            self._wake(data.decode() if isinstance(data, bytes) else data)
            except (redis.RedisError, OSError) as exc:
                logger.warning("live wake-ups unavailable (streams poll meanwhile): %r", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)
            finally:
                await client.aclose()


_listeners: dict[asyncio.AbstractEventLoop, Listener] = {}


def listener() -> Listener:
    """The running event loop's Listener."""
    loop = asyncio.get_running_loop()
    if loop not in _listeners:
        for closed in [other for other in _listeners if other.is_closed()]:
            del _listeners[closed]
        _listeners[loop] = Listener()
    return _listeners[loop]
