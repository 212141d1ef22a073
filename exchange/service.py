"""The running exchange: its venues, their FIX sessions, the faults, and the lock they share.

Threads, and what each may do:

* QuickFIX's thread calls every `SessionEvents` method below: it decides about a message
  under the lock (receipt is when it is counted and acted on) and queues the answer.
* The outbox thread sends answers when their latency is over (QuickFIX's `sendToTarget` is
  safe from any thread) and writes the text sent into the message log's record.
* The asyncio thread (HTTP, the trading-window timer) reads and changes venues under the
  lock, and hands anything that touches a session's connection to QuickFIX's thread.

The lock guards all venue state and is never held while calling into QuickFIX: QuickFIX holds
a session's mutex while it calls back into Python (`toAdmin` on every send), so a thread that
waited for that mutex while holding our lock could deadlock with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from exchange import fix_fields as f
from exchange.config import ExchangeConfig
from exchange.fix_acceptor import FixAcceptor, SessionKey
from exchange.market_control import MarketControl
from exchange.order_rules import Inbound
from exchange.outbox import Outbox
from exchange.reports import Report
from exchange.tape import Tape
from exchange.venue import MonotonicClock, Venue, WallClock, utc_now

logger = logging.getLogger("exchange")

MAX_SKIP = 1_000_000
FAULT_FIELDS = ("disconnect", "silent", "skipOutboundSeq", "refuseLogon")


class InvalidRequest(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class SessionCounters:
    logons: int = 0
    logouts: int = 0
    resend_requests_received: int = 0
    session_rejects_sent: int = 0


@dataclass(slots=True)
class Faults:
    silent: bool = False
    refuse_logon: bool = False
    # One-shot faults, counted so a test can see they happened.
    disconnects: int = 0
    skipped_outbound_seq: int = 0

    def as_json(self, venue: str) -> dict[str, Any]:
        return {
            "venue": venue,
            "silent": self.silent,
            "refuseLogon": self.refuse_logon,
            "disconnects": self.disconnects,
            "skippedOutboundSeq": self.skipped_outbound_seq,
        }


def parse_faults(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body:
        raise InvalidRequest("invalid_body", f"body must be an object with any of {FAULT_FIELDS}")
    unknown = set(body) - set(FAULT_FIELDS)
    if unknown:
        raise InvalidRequest("invalid_field", f"unknown fault fields: {', '.join(sorted(unknown))}")
    for name in ("disconnect", "silent", "refuseLogon"):
        if name in body and not isinstance(body[name], bool):
            raise InvalidRequest("invalid_field", f"{name} must be true or false")
    skip = body.get("skipOutboundSeq", 1)
    if isinstance(skip, bool) or not isinstance(skip, int) or not 1 <= skip <= MAX_SKIP:
        raise InvalidRequest("invalid_field", f"skipOutboundSeq must be an integer 1..{MAX_SKIP}")
    return body


class Exchange:
    def __init__(
        self,
        config: ExchangeConfig,
        *,
        run_id: str = "",
        monotonic_ns: MonotonicClock = time.monotonic_ns,
        wall_clock: WallClock = utc_now,
        fix_factory: Callable[..., FixAcceptor] = FixAcceptor,
    ) -> None:
        self.config = config
        # One price process per symbol for all the venues: each keeps its own book on it.
        self.tape = Tape(config.seed)
        self.venues = {
            name: Venue(name, config.config_of(name), seed=config.seed, log_cap=config.log_cap,
                        run_id=run_id, monotonic_ns=monotonic_ns, wall_clock=wall_clock,
                        tape=self.tape)
            for name in config.venues
        }  # fmt: skip
        self._lock = threading.Lock()
        self._keys = [(venue, client) for venue in config.venues for client in config.clients]
        self._session_counters = {key: SessionCounters() for key in self._keys}
        self._faults = {venue: Faults() for venue in config.venues}
        self._resetting = False  # read and written on QuickFIX's thread only
        self._outbox = Outbox(self._send)
        self.market = MarketControl(self.venues, self._lock, self._queue)
        self.fix = fix_factory(self._keys, port=config.fix_port, state_dir=config.state_dir,
                               events=self)  # fmt: skip

    def start(self) -> None:
        self._outbox.start()
        self.fix.start()

    def stop(self) -> None:
        self.fix.stop()
        self._outbox.stop()

    def venue(self, name: str) -> Venue:
        return self.venues[name]  # KeyError: the HTTP layer answers unknown_venue

    # -- SessionEvents: QuickFIX's thread --------------------------------------------------

    def app_received(self, key: SessionKey, text: str) -> None:
        # The venue's latency counts from the message's receipt, as a venue's does, not from
        # after this process has parsed and matched it (its own work was added to every
        # latency the OMS measured).
        now = time.monotonic_ns()
        venue_name, client = key
        inbound = Inbound.from_text(client, text)
        with self._lock:
            receipt = self.venues[venue_name].receive(inbound)
            receipt.entry.silenced = silent = self._faults[venue_name].silent
        due = now + round(receipt.latency_s * 1e9)
        self._queue(venue_name, receipt.unsolicited, now)
        if not silent:
            self._queue(venue_name, receipt.answers, due)
        self._queue(venue_name, receipt.follow + receipt.after, due)

    def admin_received(self, key: SessionKey, msg_type: str, text: str) -> None:
        with self._lock:
            counters = self._session_counters[key]
            if msg_type == "A":
                counters.logons += 1
            elif msg_type == "5":
                counters.logouts += 1
            elif msg_type == "2":
                counters.resend_requests_received += 1
        if msg_type == "2":
            tags = f.parse_fields(text)
            logger.info("resend request venue=%s client=%s from=%s to=%s", *key,
                        tags.get(7), tags.get(16))  # fmt: skip

    def admin_sent(self, key: SessionKey, msg_type: str, text: str) -> None:
        tags = f.parse_fields(text)
        if msg_type == "3":
            ref_msg_type = tags.get(f.REF_MSG_TYPE, "")
            with self._lock:
                self._session_counters[key].session_rejects_sent += 1
                if ref_msg_type and ref_msg_type not in f.ADMIN_MESSAGE_TYPES:
                    self.venues[key[0]].note_session_reject()
            logger.info(
                "session reject venue=%s client=%s refSeqNum=%s refMsgType=%s refTagId=%s "
                "reason=%s text=%r", *key, tags.get(f.REF_SEQ_NUM), ref_msg_type or None,
                tags.get(371), tags.get(373), tags.get(f.TEXT),
            )  # fmt: skip
        elif msg_type == "5" and tags.get(f.TEXT) and not self._resetting:
            # A Logout with a reason is QuickFIX ending a session over a protocol fault.
            logger.info("logout sent venue=%s client=%s text=%r", *key, tags[f.TEXT])
        elif msg_type == "4":
            logger.info("sequence reset sent venue=%s client=%s gapFill=%s newSeqNo=%s", *key,
                        tags.get(123, "N"), tags.get(36))  # fmt: skip

    def logged_on(self, key: SessionKey) -> None:
        status = self.fix.status(key)
        logger.info("logon  venue=%s client=%s nextSenderSeqNum=%s nextTargetSeqNum=%s", *key,
                    status["nextSenderSeqNum"], status["nextTargetSeqNum"])  # fmt: skip

    def logged_out(self, key: SessionKey) -> None:
        logger.info("logout venue=%s client=%s", *key)
        with self._lock:
            refuse = self._faults[key[0]].refuse_logon
            self.venues[key[0]].logged_out(key[1])  # its market-data subscriptions end
        if refuse:
            self.fix.allow_logons(key, False)

    # -- answers ---------------------------------------------------------------------------

    def _queue(self, venue: str, reports: list[Report], due_ns: int) -> None:
        for report in reports:
            self._outbox.put((venue, report.client), report, due_ns)

    def _send(self, key: SessionKey, report: Report) -> None:
        raw = self.fix.send(key, report.msg_type, report.fields, report.groups)
        if report.record is not None:
            # One attribute store: readers see None or the text, never half of it.
            report.record.raw = raw

    # -- the HTTP API and the timer: the asyncio thread ------------------------------------

    def advance_clocks(self) -> None:
        """The trading-window timer: expire DAY orders at each venue's close."""
        now = time.monotonic_ns()
        for name, venue in self.venues.items():
            with self._lock:
                reports = venue.advance_clock()
            if reports:
                logger.info("close venue=%s expired=%d (scheduled)", name, len(reports))
            self._queue(name, reports, now)

    def update_config(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        venue = self.venue(name)
        with self._lock:
            expired = venue.update_config(changes)
            config = venue.config.as_json()
        logger.info("config venue=%s %s%s", name, config,
                    f" expired={len(expired)}" if expired else "")  # fmt: skip
        self._queue(name, expired, time.monotonic_ns())
        return {"venue": name, **config}

    def close_venue(self, name: str) -> dict[str, Any]:
        venue = self.venue(name)
        with self._lock:
            expired = venue.close_now()
            is_open = venue.trading_open()
        logger.info("close venue=%s expired=%d (on demand)", name, len(expired))
        self._queue(name, expired, time.monotonic_ns())
        return {"venue": name, "tradingOpen": is_open, "expired": len(expired)}

    def open_venue(self, name: str) -> dict[str, Any]:
        venue = self.venue(name)
        with self._lock:
            venue.open_now()
            is_open = venue.trading_open()
        logger.info("open venue=%s (on demand)", name)
        return {"venue": name, "tradingOpen": is_open}

    def cancel_order(self, name: str, cl_ord_id: str) -> dict[str, Any]:
        venue = self.venue(name)
        with self._lock:
            report = venue.cancel_order(cl_ord_id)  # LookupError / ValueError: HTTP 404 / 409
            order = venue.book()
        logger.info("venue cancel venue=%s clOrdId=%s", name, cl_ord_id)
        self._queue(name, [report], time.monotonic_ns())
        first = next(first for first, entry in order.items() if cl_ord_id in entry["clOrdIds"])
        return {"venue": name, "order": order[first]}

    def faults(self, name: str) -> dict[str, Any]:
        self.venue(name)
        with self._lock:
            return self._faults[name].as_json(name)

    def inject_faults(self, name: str, body: Any) -> Future[dict[str, Any]]:
        """Set the flags now; what touches connections runs on QuickFIX's thread."""
        self.venue(name)
        changes = parse_faults(body)
        keys = [key for key in self._keys if key[0] == name]
        with self._lock:
            faults = self._faults[name]
            faults.silent = changes.get("silent", faults.silent)
            faults.refuse_logon = changes.get("refuseLogon", faults.refuse_logon)
        logger.info("fault venue=%s %s", name, changes)

        def on_fix_thread() -> dict[str, Any]:
            if "refuseLogon" in changes:
                for key in keys:
                    self.fix.allow_logons(key, not changes["refuseLogon"])
            if "skipOutboundSeq" in changes:
                # The skip writes into QuickFIX's store, which a send also writes.
                with self._outbox.held():
                    for key in keys:
                        self.fix.skip_outbound(key, changes["skipOutboundSeq"])
            if changes.get("disconnect"):
                for key in keys:
                    self.fix.disconnect(key)
            with self._lock:
                faults.skipped_outbound_seq += changes.get("skipOutboundSeq", 0)
                faults.disconnects += 1 if changes.get("disconnect") else 0
                return faults.as_json(name)

        return self.fix.call_on_fix_thread(on_fix_thread)

    def reset(self, *, restore_config: bool) -> Future[dict[str, Any]]:
        """Books, logs, counters, decisions and faults of every venue, and every session's
        sequence numbers (connected clients are logged out). On QuickFIX's thread, so no
        message can arrive half-way; answers still waiting are dropped first."""

        def on_fix_thread() -> dict[str, Any]:
            dropped = self._outbox.clear()
            self._resetting = True
            try:
                for key in self._keys:
                    self.fix.reset(key)
                    self.fix.allow_logons(key, True)
            finally:
                self._resetting = False
            with self._lock:
                self.tape.reset()
                for venue in self.venues.values():
                    venue.reset(config=restore_config)
                self._session_counters = {key: SessionCounters() for key in self._keys}
                self._faults = {venue: Faults() for venue in self.venues}
            logger.info("reset venues=%s config=%s unsentAnswersDropped=%d",
                        ",".join(self.venues), restore_config, dropped)  # fmt: skip
            return {"reset": list(self.venues), "config": restore_config}

        return self.fix.call_on_fix_thread(on_fix_thread)

    def stats(self, name: str) -> dict[str, Any]:
        venue = self.venue(name)
        keys = [key for key in self._keys if key[0] == name]
        statuses = {key: self.fix.status(key) for key in keys}  # outside the lock
        with self._lock:
            stats = venue.stats()
            counters = {key: self._session_counters[key] for key in keys}
            stats["sessions"] = [
                {"clientCompId": key[1], **statuses[key],
                 "logons": counters[key].logons, "logouts": counters[key].logouts,
                 "resendRequestsReceived": counters[key].resend_requests_received,
                 "sessionRejectsSent": counters[key].session_rejects_sent}
                for key in keys
            ]  # fmt: skip
        return stats

    def locked(self, read: Callable[[], Any]) -> Any:
        """Run a read of venue state under the lock (the book, the log, the config)."""
        with self._lock:
            return read()

    def summary_line(self) -> str:
        parts = []
        for name in self.venues:
            s = self.stats(name)
            sessions = ",".join(
                f"{x['clientCompId']}:{'on' if x['loggedOn'] else 'off'}" for x in s["sessions"]
            )
            parts.append(
                f"{name}[{'open' if s['tradingOpen'] else 'closed'} {sessions}] "
                f"recv={s['received']} acc={s['accepted']} rej={s['rejected']} "
                f"dup={s['duplicates']} violations={s['limitViolations']} "
                f"max1s={s['maxInAnySlidingSecond']}/{s['rateLimit']} trades={s['trades']}"
            )
        return "summary " + " | ".join(parts)
