"""FIX session tests: the OMS's session holder (its own threads, real QuickFIX) against a
QuickFIX acceptor written in the tests (tests/venues/peer.py)."""

import threading
import time

import pytest

from dispatch.outbox import QueueOutbox
from orders.services import OrderBooks
from sessions.models import TradingHalt, VenueSession
from sessions.services import session_reconcile, session_update
from tests.conftest import limiter_born_long_ago
from tests.venues.peer import PeerVenue
from venues.fix.holder import SessionHolder
from venues.models import FixSession
from venues.services import venue_put

VENUE = "XPEER"


def wait_until(predicate, *, timeout: float = 10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")


class RunningHolder:
    """A SessionHolder on its own thread, as `python -m omsproject.fixholder` runs one."""

    def __init__(self, **kwargs):
        self.holder = SessionHolder(outbox=QueueOutbox(), inbox=OrderBooks(), venues=[VENUE],
                                    **kwargs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.holder.run, args=(self._stop,),
                                        daemon=True)

    def start(self) -> "RunningHolder":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=20)

    def crash(self) -> None:
        """Die without a word: no Logout, no clean stop, the lease left to run out."""
        holder = self.holder
        self._stop.set()
        holder.shutdown = lambda: None  # what a SIGKILL would skip
        self._thread.join(timeout=20)
        for runner in list(holder.runners.values()):
            runner._stopping.set()
            runner._initiator.stop(True)
            runner._initiator = None
            runner._events.put(None)  # its threads end (a real crash ends the process)
            runner._reader.join(5)
            runner._wire.stop()
            runner._wire.close()
            runner._market.stop()
        holder.runners.clear()
        import gc

        gc.collect()


def session_state() -> str:
    return VenueSession.objects.get(pk=VENUE).state


def fix_record() -> FixSession:
    return FixSession.objects.get(pk=VENUE)


@pytest.fixture
def peer():
    venue = PeerVenue(venue=VENUE).start()
    yield venue
    venue.stop()


@pytest.fixture
def fix_venue(peer, transactional_db, limiter_redis):
    """XPEER, forced open, pointing at the peer; heartbeats every second."""
    TradingHalt.objects.get_or_create(pk=TradingHalt.SINGLETON_PK)  # an earlier flush took it
    limiter_born_long_ago(limiter_redis, VENUE)
    venue, _ = venue_put(code=VENUE, actor="tests", fix_port=peer.port, heartbeat_seconds=1,
                         throttle_per_second=100)
    session_update(venue_code=VENUE, actor="tests", override="OPEN")
    session_reconcile(venue_code=VENUE)
    return venue


@pytest.fixture
def holders():
    started: list[RunningHolder] = []

    def start(**kwargs) -> RunningHolder:
        running = RunningHolder(**kwargs).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
