"""Dispatch tests: a venue in this process (tests/venues/inproc.py) for the queue and the
books, real Redis for the limiter, PostgreSQL for the queue. Tests about the wire use the
QuickFIX peer (tests/venues/peer.py) or the mock exchange process."""

import threading

import pytest

from dispatch.drain import dispatch_drain
from sessions.services import session_reconcile, session_record_logon, session_update
from tests.venues.inproc import InProcessVenue
from venues.models import Venue
from venues.services import venue_put


def venue_live(code: str = "XMOCK", *, limit: int = 100, **fix_settings) -> Venue:
    """A venue forced open, with its FIX session recorded as logged on (what the session's
    holder does when the venue answers its Logon)."""
    venue, _ = venue_put(code=code, actor="tests", throttle_per_second=limit, **fix_settings)
    session_update(venue_code=code, actor="tests", override="OPEN")
    outcome = session_reconcile(venue_code=code)
    assert outcome[0].desired == "LOGGED_ON", outcome
    session_record_logon(venue_code=code)
    return venue


@pytest.fixture
def in_process_venue(limiter_redis, db):
    """XMOCK, live, answered by a venue in this process; `drain()` claims and `pump()` writes
    and answers."""
    venue_live("XMOCK")
    return InProcessVenue("XMOCK")


def drain(venue: InProcessVenue, **kwargs):
    """Claim the queue (a dispatcher's drain), then let the venue write and answer."""
    result = dispatch_drain(venue_code=venue.venue_code, budget_seconds=kwargs.pop("budget", 1),
                            **kwargs)
    venue.pump()
    return result


def at_once(*actions) -> None:
    """Run the callables in threads released together (a race), each on its own database
    connection, and wait for all of them."""
    from django.db import connection

    barrier = threading.Barrier(len(actions))

    def run(action):
        barrier.wait()
        try:
            action()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    [thread.start() for thread in threads]
    [thread.join(timeout=20) for thread in threads]
