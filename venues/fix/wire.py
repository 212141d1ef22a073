"""The session's wire side of the runner: the thread that writes claimed messages in queue
order (woken by dispatchers, looking every half second anyway), and the thread that
completes the rate-limit slots of messages the venue has answered."""

import logging
import queue
import threading
import time
from collections.abc import Callable

import quickfix as fix
import redis
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from venues.fix import codec, wake
from venues.fix.latency import LatencyClock
from venues.fix.ports import Outbox, Outgoing
from venues.fix.writer import BATCH, write_batch

logger = logging.getLogger("venues.fix")


class WireWriter:
    def __init__(self, *, venue_code: str, session_id: fix.SessionID, outbox: Outbox,
                 redis_client: redis.Redis, latency: LatencyClock,
                 last_sent_seq_num: Callable[[], int | None],
                 session: Callable[[], fix.Session | None],
                 before_batch: Callable[[fix.Session], None],
                 new_order_written: Callable[[str], None] = lambda symbol: None):
        self.venue_code = venue_code
        self._session_id = session_id
        self._outbox = outbox
        self._redis = redis_client
        self._latency = latency
        self._last_sent_seq_num = last_sent_seq_num
        self._session = session
        self._before_batch = before_batch
        self._new_order_written = new_order_written
        self._stopping = threading.Event()
        self._answered_slots: queue.Queue = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                        name=f"fix-writer-{venue_code}")
        self._completer = threading.Thread(target=self._complete_loop, daemon=True,
                                           name=f"fix-slots-{venue_code}")

    def start(self) -> None:
        self._writer.start()
        self._completer.start()

    def stop(self) -> None:
        """Stop writing (a batch under way finishes first)."""
        self._stopping.set()
        self._writer.join(timeout=5)

    def close(self) -> None:
        """Complete what was answered, then end."""
        self._answered_slots.put(None)
        self._completer.join(timeout=5)

    def answered(self, slot: str) -> None:
        """The venue's first answer to the message claimed with `slot` was just read: it
        counts from now, at once, not after the books caught up (the limit would be exact
        either way, but used less)."""
        self._answered_slots.put(slot)

    def _complete_loop(self) -> None:
        """Completes answered messages' slots, several per round trip to Redis."""
        while True:
            slots = [self._answered_slots.get()]
            while not self._answered_slots.empty() and len(slots) < 256:
                slots.append(self._answered_slots.get_nowait())
            done = None in slots
            try:
                self._outbox.answered(venue_code=self.venue_code,
                                      slots=[slot for slot in slots if slot])
            except Exception as exc:  # not completed, they age out: later, never earlier
                logger.warning("venue %s: %d slots not completed: %r", self.venue_code,
                               len(slots), exc)
            if done:
                return

    def _write_loop(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    wake.wait(self._redis, self.venue_code)
                except redis.RedisError:
                    time.sleep(wake.WAIT_SECONDS)  # polling the table is the fallback
                if self._stopping.is_set():
                    break
                session = self._session()
                if session is None or not session.isLoggedOn():
                    continue
                if not self.write_all(session):
                    time.sleep(0.5)
        finally:
            connection.close()

    def write_all(self, session: fix.Session) -> bool:
        """Write batches while there are full ones; False when one failed."""
        try:
            while self._write_batch(session) == BATCH and not self._stopping.is_set():
                pass
            return True
        except Exception:
            logger.exception("venue %s: writing failed", self.venue_code)
            close_old_connections()
            self._possibly_written()
            return False

    def _possibly_written(self) -> None:
        # The batch's transaction failed after some of it may have gone out: what it had
        # taken must not go back to the queue as never sent. Recorded as written, with its
        # outcome unknown, it is asked about (dispatch/sweeper.py).
        try:
            with transaction.atomic():
                self._outbox.possibly_written(venue_code=self.venue_code, at=timezone.now())
        except Exception:
            logger.exception("venue %s: could not record what may have been written",
                             self.venue_code)
            close_old_connections()

    def _write_batch(self, session: fix.Session) -> int:
        self._before_batch(session)
        return write_batch(venue_code=self.venue_code, outbox=self._outbox, write=self._write,
                           wire_up=session.isLoggedOn)

    def _write(self, item: Outgoing) -> int | None:
        message = codec.build(item.message)
        self._latency.writing(item.answer_key, item.slot)
        if not fix.Session.sendToTarget(message, self._session_id):
            self._latency.not_written(item.answer_key)
            return None
        seq_num = self._last_sent_seq_num()
        self._latency.written(item.answer_key, seq_num)
        if item.message.get("msgType") == "D":
            self._new_order_written(item.message.get("symbol") or "")
        return seq_num

    # --- bookkeeping ----------------------------------------------------------------------

