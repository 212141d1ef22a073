"""A dispatcher tells the session's holder that claimed messages wait (a Redis list of at
most one token per venue). Only a wake-up: the holder also looks every half second, so a
lost token delays a send by that much and loses nothing."""

import redis

WAIT_SECONDS = 0.5


def wake_key(venue_code: str) -> str:
    return f"oms:fix:wake:{venue_code}"


def wake(client: redis.Redis, venue_code: str) -> None:
    key = wake_key(venue_code)
    pipe = client.pipeline(transaction=False)
    pipe.lpush(key, 1)
    pipe.ltrim(key, 0, 0)
    pipe.expire(key, 60)
    pipe.execute()


def wait(client: redis.Redis, venue_code: str, timeout: float = WAIT_SECONDS) -> bool:
    """Until a wake-up or the timeout; True when woken."""
    return client.blpop([wake_key(venue_code)], timeout=timeout) is not None
