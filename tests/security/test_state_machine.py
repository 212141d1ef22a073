"""A property-based state machine over the order life cycle (hypothesis), with the venue in
this process (tests/venues/inproc.py: the OMS's own writer, send gate and books; a PeerBook
venue that answers by docs/fix.md). Random interleavings of clients (create, modify,
cancel), dispatch (claim), the session's holder (write, deliver the venue's answers, die
mid-write), the venue acting on its own (fills, cancels, DAY expiry), beat's sweeper asking
the venue, logon reconciliation, and the kill switch, with DESIGN.md's invariants checked
after every step."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from dispatch.drain import dispatch_drain
from dispatch.models import RequestKind, RequestState, UnmatchedResponse, VenueRequest
from dispatch.sweeper import dispatch_sweep
from executions.checks import books_problems
from executions.models import ExecutionReport, Fill, Position
from omsproject.errors import DomainError
from orders import services
from orders.models import (
    AFTER_TRADE_AMENDED,
    ALLOWED_TRANSITIONS,
    CANCELLABLE_STATUSES,
    TERMINAL_STATUSES,
    Order,
)
from sessions.errors import TradingHalted
from sessions.selectors import trading_halt_get
from sessions.services import session_record_logged_off, session_record_logon, trading_halt_set
from tests.dispatch.conftest import venue_live
from tests.factories import OperatorFactory, order_terms
from tests.venues.inproc import HolderDied, InProcessVenue

VENUE = settings.OMS_DEFAULT_VENUE
REFUSED_SYMBOL = "NOPE"  # the venue rejects NewOrderSingles for it
AT_VENUE = {"0": "NEW", "1": "PARTIALLY_FILLED", "2": "FILLED", "4": "CANCELED",
            "C": "EXPIRED"}
_OPEN = (RequestState.QUEUED, RequestState.SENDING)


class WatchedVenue(InProcessVenue):
    """The in-process venue, noting every NewOrderSingle or replace written while the kill
    switch is on (the writer holds the halt row share-locked while it writes)."""

    def __init__(self, venue_code: str):
        super().__init__(venue_code)
        self.written_while_halted: list[str] = []

    def _write(self, item):
        if item.kind in (RequestKind.NEW, RequestKind.MODIFY) and trading_halt_get().halted:
            self.written_while_halted.append(item.answer_key)
        return super()._write(item)


class OrderLifeCycle(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self):
        super().__init__()
        # A clean slate per example, inside the test's transaction (rolled back after it).
        Fill.objects.all().delete()
        Position.objects.all().delete()
        ExecutionReport.objects.all().delete()
        UnmatchedResponse.objects.all().delete()
        Order.objects.all().delete()
        venue_live(VENUE, limit=10_000)  # the limit is not under test here
        trading_halt_set(halted=False, reason="", actor="machine")
        self.venue = WatchedVenue(VENUE)
        self.venue.book.reject_symbols.add(REFUSED_SYMBOL)
        self.operator = OperatorFactory(username="machine-operator")
        self.next_id = 0
        self.cancelled_in_queue: set[str] = set()
        # When a holder last died: what was written until then may have lost its answer and
        # waits for a question to the venue (at the logon, or the sweeper's).
        self.lost_at = None

    # --- clients -----------------------------------------------------------------------------

    @initialize(target=orders, quantities=st.lists(st.integers(1, 20), min_size=1, max_size=3))
    def first_orders(self, quantities):
        return multiple(*(self.create(tif="GTC", quantity=q, symbol="AAPL")
                          for q in quantities))

    @rule(target=orders, tif=st.sampled_from(["DAY", "GTC"]), quantity=st.integers(1, 20),
          symbol=st.sampled_from(["AAPL", "AAPL", "AAPL", REFUSED_SYMBOL]))
    def create(self, tif, quantity, symbol):
        self.next_id += 1
        try:
            order, created = services.order_create(
                user=self.operator, account_code="ACC-SM", client_order_id=f"sm-{self.next_id}",
                terms=order_terms(symbol=symbol, time_in_force=tif, quantity=Decimal(quantity)))
        except TradingHalted:
            assert trading_halt_get().halted
            return multiple()
        assert created
        return order.pk

    @rule(order_id=orders, quantity=st.integers(1, 25))
    def modify(self, order_id, quantity):
        try:
            services.order_modify(order_id=order_id, actor="machine", quantity=Decimal(quantity))
        except DomainError:
            pass  # refused by its status, the halt, or a quantity at or below the filled one

    @rule(order_id=orders)
    def cancel(self, order_id):
        was = Order.objects.get(pk=order_id).status
        try:
            services.order_cancel(order_id=order_id, actor="machine")
        except DomainError:
            assert was not in CANCELLABLE_STATUSES, f"{was} refused a cancel"
            return
        if was == "QUEUED":
            self.cancelled_in_queue.add(Order.objects.get(pk=order_id).client_order_id)

    # --- dispatch and the session's holder ---------------------------------------------------

    @rule()
    def round_trip(self):
        """Claim, write and answer until nothing moves (a quiet spell)."""
        dispatch_drain(venue_code=VENUE, budget_seconds=0.3)
        self.venue.pump()

    @rule(and_write=st.booleans())
    def claim(self, and_write):
        """A dispatcher's drain; with `and_write` the holder, woken, writes at once."""
        dispatch_drain(venue_code=VENUE, budget_seconds=0.3)
        if and_write:
            self.venue.write()

    @rule()
    def write(self):
        self.venue.write()

    @rule()
    def deliver(self):
        self.venue.deliver()

    @rule(reached_the_venue=st.booleans())
    def holder_dies_mid_write(self, reached_the_venue):
        """Like a SIGKILL as the first claimed message is written, before or after it reached
        the venue: nothing of that transaction commits and what the venue wrote back is
        never read. The next holder takes over (what was claimed is possibly at the venue)
        and logs on, asking about every open order."""
        self.venue.lose, self.venue.die_after_writing = not reached_the_venue, True
        try:
            self.venue.write()  # nothing is written when the gate holds everything back
        except HolderDied:
            pass
        finally:
            self.venue.lose = self.venue.die_after_writing = False
        self.venue.take_over()
        self.lost_at = timezone.now()
        self.logon()

    @rule()
    def logon(self):
        """The session drops and logs on again; at the logon the open orders are asked about."""
        session_record_logged_off(venue_code=VENUE, asked=False, reason="machine")
        session_record_logon(venue_code=VENUE)
        services.OrderBooks().logged_on(venue_code=VENUE)

    @rule(timeouts=st.sampled_from([1, 3]))
    def sweep(self, timeouts):
        """Beat's sweeper, `timeouts` answer timeouts from now: it asks the venue about what
        waits for an answer (and gives up on questions left unanswered)."""
        later = timeouts * settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS + 1
        dispatch_sweep(now=timezone.now() + timedelta(seconds=later))

    # --- the venue on its own -----------------------------------------------------------------

    def _live_at_venue(self, order_id):
        cl = VenueRequest.objects.get(order_id=order_id, kind=RequestKind.NEW).cl_ord_id
        book = self.venue.book.order_for(cl)
        return book if book is not None and book["status"] in ("0", "1") else None

    @rule(order_id=orders, quantity=st.integers(1, 10), price=st.sampled_from(["150", "151"]))
    def venue_fills(self, order_id, quantity, price):
        book = self._live_at_venue(order_id)
        if book is not None:
            self.venue.emit(self.venue.book.fill(book["clOrdId"],
                                                 min(Decimal(quantity), book["leaves"]),
                                                 Decimal(price)))

    def _standing_trades(self, order_id) -> list[str]:
        cl = VenueRequest.objects.get(order_id=order_id, kind=RequestKind.NEW).cl_ord_id
        book = self.venue.book.order_for(cl)
        if book is None:
            return []
        return [exec_id for exec_id, trade in self.venue.book.trades.items()
                if trade["order"] == book["chain"][0] and not trade["busted"]]

    # A bust or correction is read at once (with what was before it): the in-process venue
    # loses what a dying holder had not read, which FIX's resend would bring back, and a
    # lost bust leaves the venue's CumQty below the trades it reported, which is flagged.

    @rule(order_id=orders)
    def venue_busts(self, order_id):
        standing = self._standing_trades(order_id)
        if standing:
            self.venue.emit(self.venue.book.bust(standing[-1]))
            self.venue.deliver()

    @rule(order_id=orders)
    def venue_corrects(self, order_id):
        standing = self._standing_trades(order_id)
        trade = self.venue.book.trades[standing[-1]] if standing else None
        if trade is not None and trade["qty"] > 1:  # one less, one dearer: never an overfill
            self.venue.emit(self.venue.book.correct(standing[-1], trade["qty"] - 1,
                                                    trade["px"] + 1))
            self.venue.deliver()

    @rule(order_id=orders)
    def venue_cancels(self, order_id):
        book = self._live_at_venue(order_id)
        if book is not None:
            self.venue.emit(self.venue.book.cancel(book["clOrdId"]))

    @rule()
    def venue_expires_day_orders(self):
        for report in self.venue.book.expire_day_orders():
            self.venue.emit(report)

    # --- the kill switch ------------------------------------------------------------------------

    @rule(cancel_open_orders=st.booleans())
    def halt(self, cancel_open_orders):
        # The open orders are cancelled once the halt commits: run that here.
        with TestCase.captureOnCommitCallbacks(execute=True):
            trading_halt_set(halted=True, reason="machine", actor="machine",
                             cancel_open_orders=cancel_open_orders)

    @rule()
    def resume(self):
        trading_halt_set(halted=False, reason="", actor="machine")

    # --- invariants -----------------------------------------------------------------------------

    def _quiet(self) -> bool:
        """Nothing in flight: no message of the venue unread, nothing claimed and unwritten,
        no answer lost with a dead holder still unsettled."""
        if self.venue.in_transit():
            return False
        sending = VenueRequest.objects.filter(state=RequestState.SENDING)
        if sending.filter(sent_at__isnull=True).exists():
            return False
        if self.lost_at is not None:
            if sending.filter(sent_at__lte=self.lost_at).exists():
                return False
            self.lost_at = None
        return True

    @invariant()
    def invariants_hold(self):
        # One read of the books per step, checked for each invariant in turn.
        orders = list(Order.objects.prefetch_related("events", "requests"))
        quiet = self._quiet()
        statuses_move_only_along_allowed_transitions(orders)
        one_new_order_single_per_order_acted_on_at_the_venue(self.venue, self.cancelled_in_queue)
        assert self.venue.written_while_halted == [], "a NEW or replace left while halted"
        nothing_waits_for_a_closed_order(orders, quiet=quiet)
        every_answer_is_matched_and_nothing_is_flagged(orders, quiet=quiet)
        books_equal_the_venues_once_nothing_is_in_flight(orders, self.venue, quiet=quiet)
        assert books_problems() == []


def statuses_move_only_along_allowed_transitions(orders) -> None:
    for order in orders:
        events = list(order.events.all())
        assert (events[0].from_status, events[0].to_status) == ("", "QUEUED")
        for before, after in zip(events, events[1:]):
            assert after.from_status == before.to_status, (before, after)
            if after.from_status != after.to_status:
                allowed = ALLOWED_TRANSITIONS[after.from_status]
                if after.type in ("BUSTED", "CORRECTED"):
                    allowed |= AFTER_TRADE_AMENDED.get(after.from_status, frozenset())
                assert after.to_status in allowed, after
        assert events[-1].to_status == order.status


def one_new_order_single_per_order_acted_on_at_the_venue(venue, cancelled_in_queue) -> None:
    cl_ord_ids: dict[str, set[str]] = {}
    for message in venue.messages("D"):
        cl_ord_ids.setdefault(message[526], set()).add(message[11])
    # A resend carries the same ClOrdID, and the venue treats it as a duplicate.
    assert all(len(ids) == 1 for ids in cl_ord_ids.values()), cl_ord_ids
    at_venue = [order["secondary"] for order in venue.book.orders.values()]
    assert len(at_venue) == len(set(at_venue)), at_venue
    assert not cancelled_in_queue & set(cl_ord_ids), "an order cancelled in the queue left"


def nothing_waits_for_a_closed_order(orders, *, quiet: bool) -> None:
    # Closing withdraws what the order had queued. What it had claimed (possibly on the wire)
    # waits for its answer, or for the answer to a question about it; once nothing is in
    # flight, nothing waits at all.
    for order in orders:
        if order.status not in TERMINAL_STATUSES:
            continue
        requests = list(order.requests.all())
        unresolved = any(r.state == RequestState.SENDING and r.kind != RequestKind.STATUS
                         for r in requests)
        waiting = [(r.kind, r.state) for r in requests
                   if (r.state == RequestState.QUEUED
                       and not (r.kind == RequestKind.STATUS and unresolved))
                   or (quiet and r.state in _OPEN)]
        assert waiting == [], (order.status, waiting)


def every_answer_is_matched_and_nothing_is_flagged(orders, *, quiet: bool) -> None:
    # The venue here is honest: an answer nobody asked for, or a report our rules cannot
    # follow, would be our mistake.
    assert not UnmatchedResponse.objects.exists(), list(UnmatchedResponse.objects.all())
    assert [(o.status, o.flag) for o in orders if o.flag] == []
    if quiet:
        assert not [r for o in orders for r in o.requests.all()
                    if r.state == RequestState.SENDING], "a request left unanswered"


def books_equal_the_venues_once_nothing_is_in_flight(orders, venue, *, quiet: bool) -> None:
    received = {m[11] for m in venue.messages("D")}
    for order in orders:
        cl = next(r.cl_ord_id for r in order.requests.all() if r.kind == RequestKind.NEW)
        book = venue.book.order_for(cl)
        if book is not None:
            # Fills are only ever late here, never ahead of the venue's.
            assert order.filled_quantity <= book["cum"], (order.status, book)
        if not quiet or any(r.state in _OPEN for r in order.requests.all()):
            continue
        if book is None:
            # Never live at the venue: cancelled before it left, or refused there. (A refusal
            # whose answer was lost is "unknown order" to a status request, as a NEW that
            # never arrived is: an order with a cancel pending is then cancelled here.)
            expected = {"REJECTED", "CANCELED"} if cl in received else {"CANCELED"}
            assert order.status in expected, (order.status, cl in received)
            continue
        assert order.status == AT_VENUE[book["status"]], (order.status, book)
        assert (order.filled_quantity, order.quantity) == (book["cum"], book["qty"]), book


@pytest.mark.django_db
def test_order_life_cycle_keeps_its_invariants(limiter_redis):
    run_state_machine_as_test(
        OrderLifeCycle,
        settings=hypothesis_settings(
            max_examples=30, stateful_step_count=40, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

