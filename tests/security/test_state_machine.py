"""A property-based state machine over the order lifecycle (hypothesis): random interleavings
of create, modify, cancel, dispatch (a venue that accepts, and one that rejects) and session
edges (forced closed / open, each reconciled), with DESIGN.md's invariants checked after
every step. Runs through the services, with the in-process venue (venues.gateway)."""

from decimal import Decimal

import pytest
import redis
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test,
)

from dispatch.models import RequestKind, RequestState, VenueRequest
from dispatch.services import dispatch_drain
from omsproject.errors import DomainError
from orders import services
from orders.models import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, Order, OrderStatus
from sessions.errors import VenueClosed
from sessions.models import SessionState, VenueSession
from sessions.services import session_reconcile, session_update
from tests.factories import OperatorFactory, order_terms
from venues.gateway import InProcessGateway, VenueAnswer
from venues.services import venue_get_or_create_default

VENUE = settings.OMS_DEFAULT_VENUE
S = OrderStatus


class WatchingVenue(InProcessGateway):
    """The in-process venue, noting any order message that arrives while the OMS's own
    session row does not say LOGGED_ON (the dispatcher holds that row share-locked)."""

    sent_while_logged_out: list[dict] = []

    def send(self, venue_code, message):
        state = VenueSession.objects.values_list("state", flat=True).get(pk=venue_code)
        if state != SessionState.LOGGED_ON or venue_code not in self.logged_on():
            self.sent_while_logged_out.append(message)
        return super().send(venue_code, message)


class RejectingVenue(WatchingVenue):
    """A venue that refuses every NEW (e.g. an unknown symbol) and accepts the rest."""

    def send(self, venue_code, message):
        answer = super().send(venue_code, message)
        if message["kind"] == RequestKind.NEW and answer.body.get("result") == "ACCEPT":
            body = {**answer.body, "result": "REJECT", "reason": "UNKNOWN_SYMBOL"}
            return VenueAnswer(body=body, latency_micros=answer.latency_micros)
        return answer


class OrderLifecycle(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self):
        super().__init__()
        # A clean slate per example (all inside the test's transaction, rolled back after).
        VenueRequest.objects.all().delete()
        Order.objects.all().delete()
        venue_get_or_create_default()
        # The session row outlives an example but the in-process venue's memory does not:
        # log out first so the two agree, then forget that logout.
        self._session("CLOSED")
        InProcessGateway.reset()
        WatchingVenue.sent_while_logged_out = []
        # As the limiter_redis fixture does, without emptying a Redis other runs share: the
        # limiter is past its start-up window, so the first drain does not wait for it.
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.set(f"oms:limiter:{VENUE}:born", 0)
        client.close()
        self.operator = OperatorFactory(username="machine-operator")
        self.next_id = 0
        self.accepted: list = []
        self.cancelled_in_queue: set = set()

    # --- rules ---------------------------------------------------------------------------------

    @initialize()
    def venue_open(self):
        self._session("OPEN")

    @rule(target=orders, tif=st.sampled_from(["DAY", "GTC"]), quantity=st.integers(1, 50))
    def create(self, tif, quantity):
        self.next_id += 1
        try:
            order, created = services.order_create(
                user=self.operator, account_code="ACC-SM", client_order_id=f"sm-{self.next_id}",
                terms=order_terms(time_in_force=tif, quantity=Decimal(quantity)),
            )
        except VenueClosed:
            session = VenueSession.objects.get(pk=VENUE)
            assert session.override == "CLOSED", "refused while open"
            return None
        assert created
        self.accepted.append(order.pk)
        return order.pk

    @rule(order_id=orders, quantity=st.integers(1, 60))
    def modify(self, order_id, quantity):
        if order_id is None:
            return
        try:
            services.order_modify(order_id=order_id, actor="machine", quantity=Decimal(quantity))
        except DomainError:
            pass  # refused by its state (or a quantity at or below the filled one)

    @rule(order_id=orders)
    def cancel(self, order_id):
        if order_id is None:
            return
        was = Order.objects.get(pk=order_id).status
        try:
            services.order_cancel(order_id=order_id, actor="machine")
        except DomainError:
            assert was not in (S.QUEUED, S.NEW, S.PARTIALLY_FILLED), f"{was} refused a cancel"
            return
        if was == S.QUEUED:
            self.cancelled_in_queue.add(str(order_id))

    @rule()
    def drain(self):
        dispatch_drain(venue_code=VENUE, budget_seconds=0.5, gateway=WatchingVenue())

    @rule()
    def drain_rejecting(self):
        dispatch_drain(venue_code=VENUE, budget_seconds=0.5, gateway=RejectingVenue())

    @rule(override=st.sampled_from(["OPEN", "CLOSED"]))
    def session_edge(self, override):
        self._session(override)

    def _session(self, override):
        session_update(venue_code=VENUE, actor="machine", override=override)
        (outcome,) = session_reconcile(venue_code=VENUE)
        expected = SessionState.LOGGED_ON if override == "OPEN" else SessionState.LOGGED_OUT
        assert outcome.state == expected, outcome

    # --- invariants ------------------------------------------------------------------------------

    def _orders(self):
        return Order.objects.filter(pk__in=self.accepted).prefetch_related("events", "requests")

    @invariant()
    def statuses_move_only_along_allowed_transitions(self):
        for order in self._orders():
            assert order.status in S.values
            events = list(order.events.order_by("id"))
            assert (events[0].from_status, events[0].to_status) == ("", S.QUEUED)
            for before, after in zip(events, events[1:]):
                assert after.from_status == before.to_status, (before, after)
                if after.from_status != after.to_status:
                    assert after.to_status in ALLOWED_TRANSITIONS[after.from_status], after
            assert events[-1].to_status == order.status

    @invariant()
    def an_order_cancelled_in_the_queue_never_reaches_the_venue(self):
        seen = {m["clientOrderId"] for m in InProcessGateway.messages(VENUE)}
        assert not (self.cancelled_in_queue & seen)

    @invariant()
    def at_most_one_new_per_order_reaches_the_venue(self):
        new_ids: dict[str, set] = {}
        for message in InProcessGateway.messages(VENUE):
            if message["kind"] == RequestKind.NEW:
                new_ids.setdefault(message["clientOrderId"], set()).add(message["requestId"])
        # A resend (after the venue refused it at its gate) carries the same ids.
        assert all(len(ids) == 1 for ids in new_ids.values()), new_ids
        for order in self._orders():
            news = [r for r in order.requests.all() if r.kind == RequestKind.NEW]
            assert len(news) == 1

    @invariant()
    def nothing_is_sent_while_the_venue_is_logged_out(self):
        assert WatchingVenue.sent_while_logged_out == []

    @invariant()
    def terminal_orders_have_nothing_waiting(self):
        for order in self._orders():
            if order.status in TERMINAL_STATUSES:
                waiting = [r for r in order.requests.all()
                           if r.state in (RequestState.QUEUED, RequestState.SENDING)]
                assert waiting == [], (order.status, waiting)

    @invariant()
    def every_accepted_order_is_terminal_or_visibly_queued_or_live(self):
        for order in self._orders():
            requests = list(order.requests.all())
            open_kinds = {r.kind for r in requests
                          if r.state in (RequestState.QUEUED, RequestState.SENDING)}
            new = next(r for r in requests if r.kind == RequestKind.NEW)
            if order.status == S.QUEUED:
                assert new.state == RequestState.QUEUED
            elif order.status in (S.NEW, S.PARTIALLY_FILLED):
                assert (new.state, new.result) == (RequestState.ANSWERED, "ACCEPT")
            elif order.status == S.PENDING_CANCEL:
                assert RequestKind.CANCEL in open_kinds
            elif order.status == S.PENDING_REPLACE:
                assert RequestKind.MODIFY in open_kinds
            elif order.status == S.PENDING_NEW:
                assert new.state == RequestState.SENDING
            else:
                assert order.status in TERMINAL_STATUSES


@pytest.mark.django_db
def test_order_lifecycle_keeps_its_invariants():
    run_state_machine_as_test(
        OrderLifecycle,
        settings=hypothesis_settings(
            max_examples=30, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
