"""The process that holds venues' FIX sessions (`python -m omsproject.fixholder`).

Any number of holders may run, on any hosts: each venue's session is held by exactly one of
them at a time, the one with the current lease on the venue's FixSession row. Twice a
second a holder renews the leases it has, takes any that ran out (a holder died), starts or
stops each venue's runner accordingly, and lets each runner log on or off to match the
venue's session row. A holder that cannot renew for most of a lease drops its connections
itself, before anyone else may take them over, so two processes never open sessions with
the same CompIDs.
"""

import logging
import os
import secrets
import socket
import threading
import time

import redis
from django.conf import settings
from django.db import close_old_connections, connection

from sessions.models import SessionState, VenueSession
from venues import services as venue_services
from venues.fix.ports import Inbox, Outbox
from venues.fix.runner import VenueRunner
from venues.models import Venue

logger = logging.getLogger("venues.fix")

TICK_SECONDS = 0.5


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:100]


class SessionHolder:
    def __init__(self, *, outbox: Outbox, inbox: Inbox, name: str | None = None,
                 lease_seconds: float | None = None, venues: list[str] | None = None):
        self.name = name or holder_name()
        self._outbox = outbox
        self._inbox = inbox
        self._lease = lease_seconds or settings.OMS_FIX_LEASE_SECONDS
        self._only = set(venues) if venues else None
        self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5,
                                           socket_connect_timeout=2)
        self.runners: dict[str, VenueRunner] = {}
        self._renewed: dict[str, float] = {}  # venue -> monotonic time of the last renewal

    def run(self, stop: threading.Event) -> None:
        logger.info("FIX session holder %s started", self.name)
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(TICK_SECONDS)
        finally:
            self.shutdown()
            connection.close()

    def tick(self) -> None:
        try:
            self._tick()
        except Exception:
            logger.exception("FIX session holder %s: tick failed", self.name)
            close_old_connections()
        self._drop_unrenewed()

    def _tick(self) -> None:
        close_old_connections()
        venues = {v.code: v for v in Venue.objects.all()
                  if self._only is None or v.code in self._only}
        desired = dict(VenueSession.objects.filter(pk__in=list(venues))
                       .values_list("venue_id", "desired"))
        for code in [code for code in self.runners if code not in venues]:
            self._stop(code, graceful=True)
        for code, venue in venues.items():
            runner = self.runners.get(code)
            if runner is not None and runner.identity != venue.fix_identity:
                logger.info("venue %s: FIX settings changed; reconnecting", code)
                self._stop(code, graceful=True)
                runner = None
            if runner is not None:
                if venue_services.fix_session_renew(venue_code=code, owner=self.name,
                                                    lease_seconds=self._lease):
                    self._renewed[code] = time.monotonic()
                else:
                    logger.error("venue %s: lost the FIX session's lease", code)
                    self._stop(code, graceful=False)
                    continue
            else:
                record = venue_services.fix_session_acquire(
                    venue_code=code, owner=self.name, lease_seconds=self._lease)
                if record is None:
                    continue
                runner = VenueRunner(venue=venue, owner=self.name, outbox=self._outbox,
                                     inbox=self._inbox, redis_client=self._redis)
                self.runners[code] = runner
                self._renewed[code] = time.monotonic()
                runner.start(record)
            runner.tick(desired_on=desired.get(code) == SessionState.LOGGED_ON)

    def _drop_unrenewed(self) -> None:
        # The database is out of reach: before the lease can run out and another holder take
        # the session, drop it here.
        limit = max(self._lease - 3, self._lease / 2)
        now = time.monotonic()
        for code in [c for c, at in self._renewed.items() if now - at > limit]:
            logger.error("venue %s: could not renew the FIX session's lease for %.0f s; "
                         "dropping the connection", code, now - self._renewed[code])
            self._stop(code, graceful=False)

    def _stop(self, code: str, *, graceful: bool) -> None:
        runner = self.runners.pop(code, None)
        self._renewed.pop(code, None)
        if runner is None:
            return
        try:
            runner.stop(graceful=graceful)
        except Exception:
            logger.exception("venue %s: stopping the FIX session failed", code)

    def shutdown(self) -> None:
        for code in list(self.runners):
            self._stop(code, graceful=True)
        logger.info("FIX session holder %s stopped", self.name)
