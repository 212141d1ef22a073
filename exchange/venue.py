"""One venue as the OMS's outside observer sees it: sessions, an exact sliding-window rate
counter, a minimal order book, duplicate suppression and a log of every message received.

Pure logic: no I/O and no asyncio. Both clocks are injected, so tests can place every message
at an exact instant. The server only parses HTTP, calls `Venue.receive` and waits the latency
the venue chose before answering.

Decisions the OMS's tests rely on (keep them in step with exchange/README.md):

* The rate window ending at receive time t is the half-open interval (t - 1 s, t] on the
  monotonic clock, in integer nanoseconds: a message received exactly 1.000 s earlier has left.
* EVERY order message received counts in the window, whatever its answer (not logged on,
  rate-rejected, duplicate). That is what the venue sees on its wire, so an OMS that keeps
  sending while over the limit keeps being rejected, and `maxInAnySlidingSecond` is the plain
  truth about the load the OMS put on the venue. Bodies that are not messages at all (HTTP
  400) get no seq, are not in the window and are counted only as `malformed`; logon/logout
  do not count either.
* Receive time is when the venue processes the message (`receive`), which in the server is
  as soon as the body is parsed; seq and receive time are taken together, so the log is in
  both seq and time order.
* A limit violation is any message whose arrival leaves more than L messages in its window.
  It is counted even when the message is answered NOT_LOGGED_ON (that rule comes first), so
  the two faults never hide each other.
* Session and rate rejections happen before the order is looked at, so they do not make a
  clientOrderId or requestId "seen": a later send of the same id is processed afresh. Any
  answer given past those gates (ACCEPT, RANDOM_REJECT, UNKNOWN_ORDER, ORDER_CLOSED) is
  remembered and repeated for duplicates.
* State changes at receive time; only the answer is delayed. Sequence numbers therefore
  follow receive order, and a duplicate arriving during the first answer's latency already
  sees the first decision.
"""

from __future__ import annotations

import json
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from exchange.config import VenueConfig

MonotonicClock = Callable[[], int]
"""Returns monotonic time in integer nanoseconds (like `time.monotonic_ns`)."""
WallClock = Callable[[], datetime]

WINDOW_NS = 1_000_000_000

KINDS = ("NEW", "MODIFY", "CANCEL")
ACCEPT = "ACCEPT"
REJECT = "REJECT"
LIVE = "LIVE"
CANCELED = "CANCELED"
LOGGED_ON = "LOGGED_ON"
LOGGED_OUT = "LOGGED_OUT"

NOT_LOGGED_ON = "NOT_LOGGED_ON"
RATE_LIMIT = "RATE_LIMIT"
RANDOM_REJECT = "RANDOM_REJECT"
UNKNOWN_ORDER = "UNKNOWN_ORDER"
ORDER_CLOSED = "ORDER_CLOSED"

# The order fields a MODIFY may change; anything else in its body is ignored by the book.
AMENDABLE_FIELDS = ("quantity", "limitPrice", "stopPrice")
BOOK_FIELDS = ("symbol", "side", "orderType", "quantity", "limitPrice", "stopPrice", "timeInForce")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class InvalidMessage(ValueError):
    """A request body that is not a venue message at all; answered 400, never logged."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _required_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidMessage("invalid_field", f"{name} must be a non-empty string")
    return value


def sender_of(body: Any) -> str:
    if not isinstance(body, dict):
        raise InvalidMessage("invalid_body", "body must be a JSON object")
    return _required_str(body, "senderCompId")


@dataclass(frozen=True, slots=True)
class OrderMessage:
    sender: str
    kind: str
    request_id: str
    client_order_id: str
    body: dict[str, Any]
    # The body as received. The log keeps this rather than the parsed dict: a third of the
    # memory, and exactly what came over the wire.
    text: str

    @classmethod
    def parse(cls, body: Any, text: str | None = None) -> OrderMessage:
        sender = sender_of(body)
        kind = body.get("kind")
        if kind not in KINDS:
            raise InvalidMessage("invalid_field", f"kind must be one of {', '.join(KINDS)}")
        return cls(
            sender=sender,
            kind=kind,
            request_id=_required_str(body, "requestId"),
            client_order_id=_required_str(body, "clientOrderId"),
            body=body,
            text=json.dumps(body, separators=(",", ":")) if text is None else text,
        )


class SlidingWindowCounter:
    """Exact count of events in the last second, and the most ever seen in any second.

    Only the events of the current window are kept, so memory is bounded by the load. The
    busiest sliding window always ends at some event (slide any window's right edge back to
    its last event and it loses nothing), so taking the maximum at every `add` is exact.
    """

    def __init__(self, window_ns: int = WINDOW_NS) -> None:
        self._window_ns = window_ns
        self._times: deque[int] = deque()
        self.max_in_window = 0

    def add(self, now_ns: int) -> int:
        """Record an event at `now_ns`; return how many events its window holds, itself included."""
        times = self._times
        if times and now_ns < times[-1]:
            raise ValueError("monotonic clock went backwards")
        horizon = now_ns - self._window_ns
        while times and times[0] <= horizon:
            times.popleft()
        times.append(now_ns)
        count = len(times)
        if count > self.max_in_window:
            self.max_in_window = count
        return count

    def count_at(self, now_ns: int) -> int:
        """Events within (now - 1 s, now], without recording anything."""
        horizon = now_ns - self._window_ns
        return sum(1 for t in self._times if t > horizon)

    def clear(self) -> None:
        self._times.clear()
        self.max_in_window = 0


@dataclass(slots=True)
class BookEntry:
    venue_order_id: str
    state: str
    fields: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"venueOrderId": self.venue_order_id, "state": self.state, **self.fields}


class Decision(NamedTuple):
    """What the venue decided about a message; repeated verbatim for its duplicates."""

    kind: str
    client_order_id: str
    result: str
    reason: str | None
    venue_order_id: str | None
    seq: int  # the message that got this decision first


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One received message and its answer, kept compact (the log holds up to a million):
    the answer is rebuilt from the decision, identical to the one sent."""

    seq: int
    received_at: str
    received_monotonic_ns: int
    sender: str
    kind: str
    request_id: str
    client_order_id: str
    body_text: str
    decision: Decision
    duplicate: bool

    def answer(self) -> dict[str, Any]:
        d = self.decision
        return {
            # Echo this message's requestId, not the first one's: the OMS matches answers to
            # the request it sent, and a resend after a crash carries the same id anyway.
            "requestId": self.request_id,
            "clientOrderId": d.client_order_id,
            "kind": d.kind,
            "result": d.result,
            "reason": d.reason,
            "duplicate": self.duplicate,
            "venueOrderId": d.venue_order_id,
            "receivedAt": self.received_at,
            "seq": self.seq,
            "originalSeq": d.seq if self.duplicate else None,
        }

    def as_json(self, venue: str) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "receivedAt": self.received_at,
            "receivedMonotonicNs": self.received_monotonic_ns,
            "venue": venue,
            "senderCompId": self.sender,
            "kind": self.kind,
            "requestId": self.request_id,
            "clientOrderId": self.client_order_id,
            "body": json.loads(self.body_text),
            "answer": self.answer(),
        }


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the server needs to answer: the JSON answer and how long to wait before sending it."""

    answer: dict[str, Any]
    latency_s: float


@dataclass(frozen=True, slots=True)
class SessionChange:
    answer: dict[str, Any]
    changed: bool


@dataclass(slots=True)
class Counters:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    not_logged_on: int = 0
    limit_violations: int = 0
    logons: int = 0
    logouts: int = 0
    malformed: int = 0


class Venue:
    def __init__(
        self,
        name: str,
        config: VenueConfig,
        *,
        seed: str | None = None,
        log_cap: int = 1_000_000,
        monotonic_ns: MonotonicClock = time.monotonic_ns,
        wall_clock: WallClock = utc_now,
    ) -> None:
        self.name = name
        self.config = config
        self.initial_config = config
        self._seed = seed
        self._log_cap = log_cap
        self._monotonic_ns = monotonic_ns
        self._wall_clock = wall_clock
        # Venue order ids stay unique for the life of the process, across resets, so an OMS
        # that keeps its database between test runs never sees one id mean two orders.
        self._venue_order_counter = 0
        self._reset_state()

    def _reset_state(self) -> None:
        self._sessions: set[str] = set()
        self._seq = 0
        self._window = SlidingWindowCounter()
        self._log: deque[LogEntry] = deque(maxlen=self._log_cap)
        self._book: dict[str, BookEntry] = {}
        # Every NEW decision by clientOrderId, accepted or not, so a resend repeats it; and
        # every MODIFY/CANCEL decision by requestId.
        self._new_decisions: dict[str, Decision] = {}
        self._amend_decisions: dict[str, Decision] = {}
        self._rejects_by_reason: dict[str, int] = {}
        self.counters = Counters()
        # Separate streams so changing the latency does not change which NEWs get rejected.
        seed = None if self._seed is None else f"{self._seed}:{self.name}"
        self._latency_rng = random.Random(None if seed is None else f"{seed}:latency")
        self._reject_rng = random.Random(None if seed is None else f"{seed}:reject")

    def reset(self, *, config: bool = False) -> None:
        """Forget sessions, messages, orders and counters; with config=True also the config."""
        self._reset_state()
        if config:
            self.config = self.initial_config

    # -- sessions --------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return LOGGED_ON if self._sessions else LOGGED_OUT

    def logon(self, sender: str) -> SessionChange:
        self.counters.logons += 1
        changed = sender not in self._sessions
        self._sessions.add(sender)
        return SessionChange(self._session_answer(sender, LOGGED_ON), changed)

    def logout(self, sender: str) -> SessionChange:
        self.counters.logouts += 1
        changed = sender in self._sessions
        self._sessions.discard(sender)
        return SessionChange(self._session_answer(sender, LOGGED_OUT), changed)

    def _session_answer(self, sender: str, state: str) -> dict[str, Any]:
        return {
            "venue": self.name,
            "senderCompId": sender,
            "state": state,
            "at": iso(self._wall_clock()),
        }

    # -- orders ----------------------------------------------------------------------------

    def note_malformed(self) -> None:
        self.counters.malformed += 1

    def receive(self, message: OrderMessage) -> Receipt:
        now_ns = self._monotonic_ns()
        received_at = iso(self._wall_clock())
        self._seq += 1
        seq = self._seq
        counters = self.counters
        counters.received += 1

        over_limit = self._window.add(now_ns) > self.config.rate_limit
        if over_limit:
            counters.limit_violations += 1

        if message.sender not in self._sessions:
            counters.not_logged_on += 1
            decision = self._decision(message, seq, REJECT, NOT_LOGGED_ON)
        elif over_limit:
            decision = self._decision(message, seq, REJECT, RATE_LIMIT)
        elif message.kind == "NEW":
            decision = self._new(message, seq)
        else:
            decision = self._amend(message, seq)

        duplicate = decision.seq != seq
        if duplicate:
            counters.duplicates += 1
        if decision.result == ACCEPT:
            counters.accepted += 1
        else:
            counters.rejected += 1
            reason = str(decision.reason)
            self._rejects_by_reason[reason] = self._rejects_by_reason.get(reason, 0) + 1

        entry = LogEntry(
            seq,
            received_at,
            now_ns,
            message.sender,
            message.kind,
            message.request_id,
            message.client_order_id,
            message.text,
            decision,
            duplicate,
        )
        self._log.append(entry)
        return Receipt(entry.answer(), self.config.latency.sample_seconds(self._latency_rng))

    @staticmethod
    def _decision(
        message: OrderMessage,
        seq: int,
        result: str,
        reason: str | None,
        venue_order_id: str | None = None,
    ) -> Decision:
        return Decision(message.kind, message.client_order_id, result, reason, venue_order_id, seq)

    def _new(self, message: OrderMessage, seq: int) -> Decision:
        first = self._new_decisions.get(message.client_order_id)
        if first is not None:
            return first
        if self._reject_rng.random() < self.config.reject_ratio:
            decision = self._decision(message, seq, REJECT, RANDOM_REJECT)
        else:
            self._venue_order_counter += 1
            venue_order_id = f"{self.name}-{self._venue_order_counter}"
            fields = {name: message.body.get(name) for name in BOOK_FIELDS}
            self._book[message.client_order_id] = BookEntry(venue_order_id, LIVE, fields)
            decision = self._decision(message, seq, ACCEPT, None, venue_order_id)
        self._new_decisions[message.client_order_id] = decision
        return decision

    def _amend(self, message: OrderMessage, seq: int) -> Decision:
        first = self._amend_decisions.get(message.request_id)
        if first is not None:
            return first
        entry = self._book.get(message.client_order_id)
        if entry is None:
            decision = self._decision(message, seq, REJECT, UNKNOWN_ORDER)
        elif entry.state == CANCELED:
            decision = self._decision(message, seq, REJECT, ORDER_CLOSED, entry.venue_order_id)
        else:
            if message.kind == "CANCEL":
                entry.state = CANCELED
            else:
                for name in AMENDABLE_FIELDS:
                    if message.body.get(name) is not None:
                        entry.fields[name] = message.body[name]
            decision = self._decision(message, seq, ACCEPT, None, entry.venue_order_id)
        self._amend_decisions[message.request_id] = decision
        return decision

    # -- observation -----------------------------------------------------------------------

    def book(self) -> dict[str, dict[str, Any]]:
        return {cl_ord_id: entry.as_json() for cl_ord_id, entry in self._book.items()}

    def messages(self, *, since: int = 0, limit: int = 1000) -> dict[str, Any]:
        """Log entries with seq > since, oldest first, at most `limit` of them."""
        log = self._log
        oldest = log[0].seq if log else self._seq + 1
        # Seqs in the log are consecutive, so the first wanted entry is found by arithmetic.
        start = max(since + 1 - oldest, 0)
        stop = min(start + limit, len(log))
        entries = [log[i].as_json(self.name) for i in range(start, stop)]
        return {
            "venue": self.name,
            "since": since,
            "messages": entries,
            "lastSeq": self._seq,
            "oldestRetainedSeq": log[0].seq if log else None,
            # Entries after `since` that the log cap already dropped: a reader that sees
            # True here knows its record of the run is incomplete.
            "gap": bool(log) and since + 1 < oldest,
            "hasMore": stop < len(log),
            "logCap": self._log_cap,
        }

    def stats(self) -> dict[str, Any]:
        c = self.counters
        return {
            "venue": self.name,
            "state": self.state,
            "sessions": sorted(self._sessions),
            "rateLimit": self.config.rate_limit,
            "latencyMs": str(self.config.latency),
            "rejectRatio": self.config.reject_ratio,
            "received": c.received,
            "accepted": c.accepted,
            "rejected": c.rejected,
            "duplicates": c.duplicates,
            "notLoggedOn": c.not_logged_on,
            "limitViolations": c.limit_violations,
            "maxInAnySlidingSecond": self._window.max_in_window,
            "inCurrentSecond": self._window.count_at(self._monotonic_ns()),
            "rejectsByReason": dict(sorted(self._rejects_by_reason.items())),
            "logons": c.logons,
            "logouts": c.logouts,
            "malformed": c.malformed,
            "orders": len(self._book),
            "lastSeq": self._seq,
        }
