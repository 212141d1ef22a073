"""One venue's FIX session while this process holds it: QuickFIX's initiator, the thread
that writes claimed messages, the thread that applies what the venue says, and what is
recorded about all three.

Threads, and why four:
* QuickFIX's initiator thread connects, heartbeats and reads, and calls VenueApplication.
  Its callbacks never touch the database: they may run while QuickFIX holds the session's
  lock, which the writer needs to send, while the writer holds row locks a callback could
  wait for. They parse and hand over, in arrival order, to
* the reader thread, which applies each message in its own transaction (the Inbox) and
  records logons and logouts. The MsgSeqNum it has applied is what is kept as the next one
  expected, so after a crash the venue is asked to resend the rest (PossDup, idempotent).
* The writer thread waits for a dispatcher's wake-up, then writes claimed messages in queue
  order, in batches, each batch inside the send gate's transaction.
* The holder's thread calls `tick` twice a second: log on or off as the venue's session row
  wants, back off reconnects, keep the sequence numbers durable.
Besides these, market data has two threads of its own (venues/fix/marketdata.py): the
venue's quotes never wait behind, nor hold up, its execution reports.
"""

import gc
import logging
import queue
import threading
import time

import quickfix as fix
import redis
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from marketdata.quotes import QuoteStore
from sessions.services import (
    session_record_connecting,
    session_record_logged_off,
    session_record_logging_off,
    session_record_logon,
)
from venues import services as venue_services
from venues.fix import codec, wake
from venues.fix.application import VenueApplication
from venues.fix.config import initiator_settings, session_id
from venues.fix.latency import LatencyClock
from venues.fix.marketdata import MarketDataFeed, is_market_data
from venues.fix.ports import Inbox, Outbox
from venues.fix.wire import WireWriter
from venues.fix.writer import BATCH
from venues.models import FixSession, FixSessionState, Venue

logger = logging.getLogger("venues.fix")


class Backoff:
    """Reconnect waits: 1, 2, 4, ... up to the cap, reset by a logon."""

    def __init__(self, cap: float):
        self._cap = cap
        self._failures = 0
        self.not_before = 0.0

    def failed(self, now: float) -> float:
        wait = min(2 ** self._failures, self._cap)
        self._failures += 1
        self.not_before = now + wait
        return wait

    def reset(self) -> None:
        self._failures = 0
        self.not_before = 0.0

# Sender sequence numbers are reserved in the database this far ahead of use, so a
# successor after a crash never reuses one (venues.models.FixSession).
RESERVE_BLOCK = 5_000
RESERVE_LOW_WATER = 1_000


class VenueRunner:
    def __init__(self, *, venue: Venue, owner: str, outbox: Outbox, inbox: Inbox,
                 redis_client: redis.Redis):
        self.venue_code = venue.code
        self.identity = venue.fix_identity
        self._venue = venue
        self._owner = owner
        self._outbox = outbox
        self._inbox = inbox
        self._redis = redis_client
        self._app = VenueApplication(self)
        self._session_id = session_id(venue)
        self._initiator: fix.SocketInitiator | None = None
        self._first_seqs = (1, 1)
        self._reserved = 1
        self._stopping = threading.Event()
        self._latency = LatencyClock()
        self._wire = WireWriter(
            venue_code=venue.code, session_id=self._session_id, outbox=outbox,
            redis_client=redis_client, latency=self._latency,
            last_sent_seq_num=self._app.last_sent_seq_num, session=self._session,
            before_batch=lambda session: self._reserve_ahead(session, BATCH),
            new_order_written=lambda symbol: self._market.order_sent(symbol))
        code = venue.code
        self._market = MarketDataFeed(
            venue_code=code, session_id=self._session_id, session=self._session,
            last_sent_seq_num=self._app.last_sent_seq_num,
            own_slot=lambda timeout: outbox.own_slot(venue_code=code, timeout=timeout),
            slot_answered=self._wire.answered,
            open_symbols=lambda: inbox.open_symbols(venue_code=code),
            store=QuoteStore(redis_client))
        self._events: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read_loop, daemon=True,
                                        name=f"fix-reader-{venue.code}")
        self._applied_target = 0  # the highest MsgSeqNum the reader has applied
        self._last_sender = 0  # the engine's next sender number at the last tick
        self._dropped = False
        self._backoff = Backoff(settings.OMS_FIX_RECONNECT_MAX_SECONDS)
        self._connecting_since: float | None = None
        self._logout_asked = False
        self._logging_out_since: float | None = None

    # --- life cycle (the holder's thread) ---------------------------------------------------

    def start(self, record: FixSession) -> None:
        if not record.clean_stop:
            unknown = self._outbox.possibly_written(venue_code=self.venue_code,
                                                    at=timezone.now())
            if unknown:
                logger.warning("venue %s: %d message(s) the last holder claimed may have "
                               "reached the venue; it will be asked", self.venue_code, unknown)
        self._first_seqs = venue_services.fix_session_first_numbers(record, now=timezone.now())
        sender = self._first_seqs[0]
        if self._first_seqs == (1, 1) and record.next_sender_seq > 1:
            venue_services.fix_session_reset_sequence(venue_code=self.venue_code,
                                                      owner=self._owner)
        self._reserved = sender + RESERVE_BLOCK
        venue_services.fix_session_started(venue_code=self.venue_code, owner=self._owner,
                                           reserved=self._reserved)
        if self._session() is not None:
            # QuickFIX keeps one session per CompIDs in a process; a stale one would take
            # the sequence numbers meant for this one.
            raise RuntimeError(f"a FIX session {self._session_id} is still registered")
        quickfix_settings = initiator_settings(self._venue)
        self._initiator = fix.SocketInitiator(
            self._app, fix.MemoryStoreFactory(), quickfix_settings,
            fix.ScreenLogFactory(quickfix_settings),
        )
        self._initiator.start()  # on_create runs in here: sequence numbers, disabled
        self._applied_target = self._first_seqs[1] - 1
        self._reader.start()
        self._wire.start()
        self._market.start()
        logger.info("holding the FIX session of %s (%s -> %s at %s:%s), sequence %s/%s",
                    self.venue_code, self._venue.sender_comp_id, self._venue.target_comp_id,
                    self._venue.fix_host, self._venue.fix_port, *self._first_seqs)

    def stop(self, *, graceful: bool) -> None:
        """graceful: log out (waiting a moment for the venue's answer), record the exact
        sequence numbers and give the lease up. Otherwise drop the connection at once (the
        lease was lost: someone else may hold the session now)."""
        session = self._session()
        if graceful and session is not None and session.isLoggedOn():
            self._logout_asked = True
            session.logout("OMS stopping")
            deadline = time.monotonic() + 3
            while session.isLoggedOn() and time.monotonic() < deadline:
                time.sleep(0.05)
        self._stopping.set()
        self._wire.stop()
        self._market.stop()
        numbers = None
        if self._initiator is not None:
            self._initiator.stop(not graceful)
            if session is not None:  # nothing is read or written any more
                numbers = (session.getExpectedSenderNum(), session.getExpectedTargetNum())
            # Its sessions stay registered in QuickFIX until the initiator is destroyed: a
            # later runner for the same CompIDs must find none.
            self._initiator = session = None
            gc.collect()
        self._events.put(None)
        self._reader.join(timeout=10)
        self._wire.close()
        if graceful and numbers is not None:
            # Everything read has been applied (the reader is done), so QuickFIX's own count
            # is exact; otherwise the venue is asked for what was not applied.
            target = numbers[1] if not self._reader.is_alive() else self._applied_target + 1
            venue_services.fix_session_release(
                venue_code=self.venue_code, owner=self._owner,
                next_sender=numbers[0], next_target=target,
            )
            session_record_logged_off(venue_code=self.venue_code, reason="OMS stopping")
        logger.info("released the FIX session of %s", self.venue_code)

    def tick(self, *, desired_on: bool) -> None:
        """Log on or off as the session row wants; keep the numbers durable."""
        session = self._session()
        if session is None:
            return
        now = time.monotonic()
        self._persist_sequence(session)
        self._latency.forget_old()
        if self._dropped:
            # The venue or the network ended the session: reconnect, but not in a tight loop
            # against a venue that keeps dropping us.
            self._dropped = False
            if session.isEnabled() and not session.isLoggedOn():
                session.logout()
                wait = self._backoff.failed(now)
                logger.warning("venue %s: reconnecting in %.0f s", self.venue_code, wait)
        if desired_on:
            called_off = self._logging_out_since is not None and not self._logout_asked
            self._logging_out_since = None
            if session.isLoggedOn():
                if called_off:
                    # The logout was called off before our Logout went out: the session
                    # never went down, and the send gate opens again only once it says so.
                    session_record_logon(venue_code=self.venue_code,
                                         detail="the logout was called off")
                    self._record(state=FixSessionState.LOGGED_ON)
                    self._wake()
                return
            if not session.isEnabled():
                if now >= self._backoff.not_before:
                    self._logout_asked = False
                    self._connecting_since = now
                    session_record_connecting(venue_code=self.venue_code)
                    self._record(state=FixSessionState.CONNECTING)
                    session.logon()
            elif (self._connecting_since is not None
                  and now - self._connecting_since > settings.OMS_FIX_LOGON_TIMEOUT_SECONDS + 2):
                # No logon in time (refused, or no answer): stop trying for a while.
                session.logout()
                wait = self._backoff.failed(now)
                self._connecting_since = None
                logger.warning("venue %s: no logon; trying again in %.0f s", self.venue_code,
                               wait)
            return
        if session.isLoggedOn():
            self._log_out_when_quiet(session, now)
        elif session.isEnabled():
            session.logout()

    def _log_out_when_quiet(self, session: fix.Session, now: float) -> None:
        # A scheduled logout lets nothing new out (the send gate sees `desired` off) and
        # waits, a bounded time, for answers to what was already written.
        if self._logging_out_since is None:
            self._logging_out_since = now
            session_record_logging_off(venue_code=self.venue_code)
            self._record(state=FixSessionState.LOGGING_OUT)
        waited = now - self._logging_out_since
        if self._outbox.in_flight(venue_code=self.venue_code) and (
            waited < settings.OMS_FIX_LOGOUT_WAIT_SECONDS
        ):
            return
        self._logout_asked = True
        session.logout("session closed")

    # --- QuickFIX's callbacks --------------------------------------------------------------

    def on_create(self, sid) -> None:
        session = fix.Session.lookupSession(sid)
        sender, target = self._first_seqs
        session.setNextSenderMsgSeqNum(sender)
        session.setNextTargetMsgSeqNum(target)
        session.logout()  # disabled: tick() logs on when the venue's session row says so

    def on_logon(self) -> None:
        self._events.put(("logon",))
        self._market.logged_on()

    def on_logout(self) -> None:
        self._events.put(("logout", self._logout_asked))

    def on_sequence_reset(self) -> None:
        self._events.put(("reset",))

    def on_message(self, message: fix.Message) -> None:
        arrived = time.perf_counter_ns()
        if is_market_data(message):
            # Not the books': never queued behind (or ahead of) execution reports.
            self._market.received(message)
            return
        # Parsed here: QuickFIX frees its message when the callback returns.
        venue_message = codec.read(message)
        latency, slot = self._latency.answered(venue_message, arrived)
        if slot:
            # Its slot counts from now: at once, not after the books caught up (the limit
            # would be exact either way, but used less).
            self._wire.answered(slot)
        self._events.put(("message", venue_message, latency))

    # --- applying what the venue says (the reader thread) -----------------------------------

    def _read_loop(self) -> None:
        try:
            while True:
                event = self._events.get()
                if event is None:
                    break
                try:
                    getattr(self, f"_apply_{event[0]}")(*event[1:])
                except Exception:
                    logger.exception("venue %s: %s failed", self.venue_code, event[0])
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection

    def _apply_logon(self) -> None:
        self._backoff.reset()
        self._connecting_since = None
        now = timezone.now()
        self._record(state=FixSessionState.LOGGED_ON, last_logon_at=now)
        session_record_logon(venue_code=self.venue_code, at=now)
        self._inbox.logged_on(venue_code=self.venue_code)
        self._wake()

    def _apply_logout(self, asked: bool) -> None:
        now = timezone.now()
        self._record(state=FixSessionState.DISCONNECTED, last_logout_at=now)
        session_record_logged_off(
            venue_code=self.venue_code, at=now, asked=asked,
            reason="" if asked else "the venue or the network ended the session",
        )
        if not asked and not self._stopping.is_set():
            self._dropped = True

    def _apply_reset(self) -> None:
        venue_services.fix_session_reset_sequence(venue_code=self.venue_code, owner=self._owner)
        self._reserved = 1
        self._applied_target = 0
        logger.warning("venue %s: sequence numbers reset at logon (ResetSeqNumFlag)",
                       self.venue_code)

    def _apply_message(self, message: codec.VenueMessage, latency: int | None) -> None:
        try:
            with transaction.atomic():
                self._inbox.received(venue_code=self.venue_code, message=message,
                                     latency_micros=latency)
        except Exception as exc:
            logger.exception("venue %s: could not apply %s", self.venue_code, message.raw)
            close_old_connections()
            self._inbox.unapplied(venue_code=self.venue_code, message=message, error=repr(exc))
        self._applied_target = max(self._applied_target, message.seq_num)

    def _reserve_ahead(self, session: fix.Session, count: int) -> None:
        upto = session.getExpectedSenderNum() + count + RESERVE_LOW_WATER
        if upto < self._reserved:
            return
        self._reserved = upto + RESERVE_BLOCK
        # Its own transaction, committed before any of these numbers can be used.
        venue_services.fix_session_reserve(venue_code=self.venue_code, owner=self._owner,
                                           reserved=self._reserved)

    def _persist_sequence(self, session: fix.Session) -> None:
        sender = session.getExpectedSenderNum()
        if sender < self._last_sender:
            # QuickFIX started the session again at 1 (a new FIX week, or a reset at logon):
            # the record follows, or a later start would bring back last week's numbers.
            venue_services.fix_session_reset_sequence(venue_code=self.venue_code,
                                                      owner=self._owner)
            self._reserved = 1
            self._applied_target = session.getExpectedTargetNum() - 1
            logger.warning("venue %s: QuickFIX reset the sequence numbers", self.venue_code)
        self._last_sender = sender
        self._reserve_ahead(session, 0)
        # The next expected is the one after the last message applied, not QuickFIX's own
        # count: a message read but not yet applied when the process dies is asked for again.
        self._record(next_sender=session.getExpectedSenderNum(),
                     next_target=self._applied_target + 1)

    def _record(self, **changes) -> None:
        venue_services.fix_session_record(venue_code=self.venue_code, owner=self._owner,
                                          **changes)

    def _session(self) -> fix.Session | None:
        return fix.Session.lookupSession(self._session_id)

    def _wake(self) -> None:
        try:
            wake.wake(self._redis, self.venue_code)
        except redis.RedisError:
            pass  # the writer looks every half second anyway

    def sequence_numbers(self) -> tuple[int, int] | None:
        session = self._session()
        if session is None:
            return None
        return session.getExpectedSenderNum(), session.getExpectedTargetNum()

    def is_logged_on(self) -> bool:
        session = self._session()
        return session is not None and session.isLoggedOn()
