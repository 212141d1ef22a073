"""One venue: rule 1 of docs/fix.md (the rate limit), the counters, the message log and the
trading window; rules 2 to 6 are in `exchange.order_rules`.

Pure logic: no I/O, no threads, no QuickFIX. Both clocks are injected, so tests can place
every message at an exact instant. The FIX acceptor hands each application message to
`Venue.receive` and sends the one answer it returns once the latency it drew is over.

Counting choices the OMS's tests rely on (keep them in step with exchange/README.md):

* The rate window ending at receive time t is (t - 1 s, t] on the monotonic clock in integer
  nanoseconds. EVERY application message received counts in it, whatever its answer, and so
  do application messages QuickFIX refused at the session level (`note_session_reject`):
  that is the load on the venue's wire. One that leaves more than the limit in its window is
  a violation and is answered 35=j RATE_LIMIT without being looked at, so its ClOrdID is not
  "seen" and a later send of it is processed afresh.
* Past that gate, every D, G and F decision is remembered by ClOrdID and repeated for a
  duplicate, accepted or not; a duplicate never creates or changes anything.
* State changes at receive time; only the answer waits. Seqs follow receive order, and a
  duplicate arriving during the first answer's latency already sees the first decision.
* `received = accepted + rejected`; `duplicates` and `limitViolations` are observations
  across both. An H that finds its order counts as accepted, one that does not as rejected.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from exchange import fix_fields as f
from exchange.config import DEFAULT_LOG_CAP, VenueConfig
from exchange.market import Level
from exchange.market_data import REJECT_WORDS
from exchange.message_log import LogEntry, MessageLog
from exchange.order_book import Order
from exchange.order_rules import RATE_LIMIT, Inbound, OrderRules
from exchange.reports import Report, ReportFactory
from exchange.sliding_window import SlidingWindowCounter
from exchange.tape import Tape
from exchange.trades import TradeError
from exchange.trading_window import TradingHours, TradingWindow
from exchange.venue_market import VenueMarket

MonotonicClock = Callable[[], int]
"""Returns monotonic time in integer nanoseconds (like `time.monotonic_ns`)."""
WallClock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(slots=True)
class Receipt:
    """What the transport must do: send `answers` after `latency_s` (none for a V that
    unsubscribes), then `follow`, what the market did with the order at once (its trades,
    the cancel of an IOC's rest), then `after`, the reports about other orders the message
    set off (stops its trades triggered); before them all, `unsolicited` (expiries of a
    close that passed since the venue last looked at the clock). A silent venue holds back
    `answers` only: trades are facts the venue reports whatever else it says."""

    entry: LogEntry
    answers: list[Report]
    latency_s: float
    unsolicited: list[Report]
    follow: list[Report] = field(default_factory=list)
    after: list[Report] = field(default_factory=list)

    @property
    def answer(self) -> Report | None:
        return self.answers[0] if self.answers else None


@dataclass(slots=True)
class Counters:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    limit_violations: int = 0
    session_rejected: int = 0
    expired: int = 0
    canceled_by_venue: int = 0


class Venue:
    def __init__(
        self,
        name: str,
        config: VenueConfig,
        *,
        seed: str | None = None,
        log_cap: int = DEFAULT_LOG_CAP,
        run_id: str = "",
        monotonic_ns: MonotonicClock = time.monotonic_ns,
        wall_clock: WallClock = utc_now,
        tape: Tape | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.initial_config = config
        self._seed = seed
        self._log_cap = log_cap
        self._monotonic_ns = monotonic_ns
        self._wall_clock = wall_clock
        # OrderIDs and ExecIDs stay unique for the life of the process, across resets, so an
        # OMS that keeps its database between test runs never sees one id mean two things.
        self._order_counter = 0
        self._reports = ReportFactory(name, run_id)
        # The symbols' prices: the exchange's tape, which its venues share (the exchange
        # resets it); a venue made alone has its own, and `step_market` moves it.
        self._own_tape = tape is None
        self.tape = Tape(seed) if tape is None else tape
        self._reset_state()

    def _reset_state(self) -> None:
        self._seq = 0
        self._window = SlidingWindowCounter()
        self._log = MessageLog(self._log_cap)
        if self._own_tape:
            self.tape.reset()
        self.market = VenueMarket(
            lambda: self.config.market, self._reports,
            seed=None if self._seed is None else f"{self._seed}:{self.name}:market",
            trading_open=self.trading_open, tape=self.tape)  # fmt: skip
        self._rules = OrderRules(self._reports, self._next_order_id, self.market)
        self._rejects_by_reason: Counter[str] = Counter()
        self.counters = Counters()
        # Separate streams so changing the latency does not change which NEWs get rejected.
        seed = None if self._seed is None else f"{self._seed}:{self.name}"
        self._latency_rng = random.Random(None if seed is None else f"{seed}:latency")
        self._reject_rng = random.Random(None if seed is None else f"{seed}:reject")
        self._set_schedule(self.config)

    def _next_order_id(self) -> str:
        self._order_counter += 1
        return f"{self.name}-{self._order_counter}"

    def _set_schedule(self, config: VenueConfig) -> None:
        window = TradingWindow(config.time_zone, config.open_time, config.close_time)
        self._hours = TradingHours(window, self._wall_clock())

    def reset(self, *, config: bool = False) -> None:
        """Forget messages, orders, decisions, counters and overrides; with config=True also
        the run-time config."""
        if config:
            self.config = self.initial_config
        self._reset_state()

    def update_config(self, changes: dict[str, Any]) -> list[Report]:
        """Apply a `PUT /config` body (all or nothing). A new trading window replaces any
        manual open or close; one that leaves the venue closed now is a close."""
        new = self.config.updated(changes)
        window_changed = (new.time_zone, new.open_time, new.close_time) != (
            self.config.time_zone, self.config.open_time, self.config.close_time)  # fmt: skip
        before, self.config = self.config, new
        self.market.config_changed(before.market, list(self._rules.book))
        if not window_changed:
            return []
        when = self._wall_clock()
        was_open = self.trading_open(when)
        self._set_schedule(new)
        if was_open and not self.trading_open(when):
            return self._expire_day_orders(when)
        return []

    # -- the trading window ----------------------------------------------------------------

    def trading_open(self, when: datetime | None = None) -> bool:
        return self._hours.is_open(self._wall_clock() if when is None else when)

    def advance_clock(self, when: datetime | None = None) -> list[Report]:
        """Expire live DAY orders if a scheduled close passed since the last look. Called at
        every message and by the process's timer, so the book is never behind the clock."""
        when = self._wall_clock() if when is None else when
        return self._expire_day_orders(when) if self._hours.close_passed(when) else []

    def close_now(self) -> list[Report]:
        """`POST /close`: expire live DAY orders and refuse NEWs until the next scheduled open."""
        when = self._wall_clock()
        self._hours.close_now(when)
        return self._expire_day_orders(when)

    def open_now(self) -> None:
        """`POST /open`: accept NEWs now; outside the schedule until the next scheduled close
        (which expires DAY orders as any close does)."""
        self._hours.open_now(self._wall_clock())

    def _expire_day_orders(self, when: datetime) -> list[Report]:
        reports = self._rules.expire_day_orders(when)
        self.counters.expired += len(reports)
        return reports

    def cancel_order(self, cl_ord_id: str) -> Report:
        """`POST .../orders/{clOrdId}/cancel`: see `OrderRules.cancel_order`."""
        report = self._rules.cancel_order(cl_ord_id, self._wall_clock())
        self.counters.canceled_by_venue += 1
        return report

    # -- the market (exchange.venue_market) ------------------------------------------------

    def advance_market(self, now_ns: int | None = None) -> list[Report]:
        """The process's market timer: a step when one is due, market-data updates."""
        now_ns = self._monotonic_ns() if now_ns is None else now_ns
        return self.market.advance(now_ns, self._wall_clock())

    def step_market(self) -> list[Report]:
        """One step of every symbol now (tests drive the market with this). A venue with its
        own tape moves it one step first; a shared tape is moved by its owner."""
        if self._own_tape:
            self.tape.advance()
        return self.market.step(self._wall_clock())

    def set_book(self, symbol: str, bids: list[Level], asks: list[Level],
                 last: Decimal | None) -> list[Report]:  # fmt: skip
        return self.market.set_book(symbol, bids, asks, last, self._wall_clock())

    def _order(self, cl_ord_id: str) -> Order:
        order = self._rules.book.by_any_cl_ord_id(cl_ord_id, None)
        if order is None:
            raise TradeError("unknown_order", f"{self.name} has no order {cl_ord_id!r}")
        return order

    def force_fill(self, cl_ord_id: str, quantity: Decimal, price: Decimal,
                   liquidity: str) -> tuple[Report, Order]:  # fmt: skip
        order = self._order(cl_ord_id)
        return self.market.force_fill(order, quantity, price, liquidity, self._wall_clock()), order

    def bust(self, exec_id: str) -> Report:
        return self.market.bust(exec_id, self._wall_clock())

    def correct(self, exec_id: str, quantity: Decimal, price: Decimal) -> Report:
        return self.market.correct(exec_id, quantity, price, self._wall_clock())

    def logged_out(self, client: str) -> None:
        self.market.logged_out(client)

    # -- messages --------------------------------------------------------------------------

    def note_session_reject(self) -> None:
        """QuickFIX refused an application message at the session level (35=3): it never
        reaches `receive`, but it was on the wire, so it counts in the rate window."""
        self.counters.session_rejected += 1
        if self._window.add(self._monotonic_ns()) > self.config.rate_limit:
            self.counters.limit_violations += 1

    def receive(self, inbound: Inbound) -> Receipt:
        now_ns = self._monotonic_ns()
        when = self._wall_clock()
        unsolicited = self.advance_clock(when)
        self._seq += 1
        request = inbound.fields
        entry = LogEntry(
            self._seq, iso(when), now_ns, inbound.client, inbound.msg_seq_num, inbound.poss_dup,
            inbound.msg_type, request.get(f.CL_ORD_ID), request.get(f.ORIG_CL_ORD_ID),
            inbound.raw,
        )  # fmt: skip
        self._log.append(entry)
        counters = self.counters
        counters.received += 1

        follow: list[Report] = []
        after: list[Report] = []
        if self._window.add(now_ns) > self.config.rate_limit:
            counters.limit_violations += 1
            answers = [self._rules.business_reject(inbound, f.BUSINESS_REJECT_OTHER, RATE_LIMIT)]
            reason: str | None = RATE_LIMIT
        elif inbound.msg_type == f.MARKET_DATA_REQUEST and self.market.on:
            answers = self.market.data_request(inbound.client, inbound.raw, now_ns)
            served = not answers or any(a.msg_type == f.MARKET_DATA_SNAPSHOT for a in answers)
            reason = None if served else REJECT_WORDS[answers[0].get(f.MD_REQ_REJ_REASON) or "0"]
        else:
            outcome = self._rules.decide(
                inbound,
                when,
                trading_open=lambda: self.trading_open(when),
                random_reject=lambda: self._reject_rng.random() < self.config.reject_ratio,
            )
            answers, reason = [outcome.answer], outcome.reason
            order_id = outcome.answer.get(f.ORDER_ID)
            for report in outcome.follow:
                (follow if report.get(f.ORDER_ID) == order_id else after).append(report)
            if outcome.duplicate:
                counters.duplicates += 1

        if reason is None:
            counters.accepted += 1
        else:
            counters.rejected += 1
            self._rejects_by_reason[reason] += 1
        entry.answers.extend(answer.to_record() for answer in answers + follow)
        latency_s = self.config.latency.sample_seconds(self._latency_rng)
        return Receipt(entry, answers, latency_s, unsolicited, follow, after)

    # -- observation -----------------------------------------------------------------------

    def book(self) -> dict[str, dict[str, Any]]:
        return self._rules.book.as_json()

    def messages(self, *, since: int = 0, limit: int = 1000) -> dict[str, Any]:
        return self._log.page(self.name, since=since, limit=limit, last_seq=self._seq)

    def stats(self) -> dict[str, Any]:
        c = self.counters
        return {
            "venue": self.name,
            "rateLimit": self.config.rate_limit,
            "latencyMs": str(self.config.latency),
            "rejectRatio": self.config.reject_ratio,
            "received": c.received,
            "accepted": c.accepted,
            "rejected": c.rejected,
            "duplicates": c.duplicates,
            "limitViolations": c.limit_violations,
            "sessionRejected": c.session_rejected,
            "maxInAnySlidingSecond": self._window.max_in_window,
            "inCurrentSecond": self._window.count_at(self._monotonic_ns()),
            "rejectsByReason": dict(sorted(self._rejects_by_reason.items())),
            "orders": len(self._rules.book),
            "expired": c.expired,
            "canceledByVenue": c.canceled_by_venue,
            "lastSeq": self._seq,
            "tradingOpen": self.trading_open(),
            **self.market.stats(),
        }
