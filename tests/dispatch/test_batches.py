"""The queue's invariants when a dispatcher sends several requests per transaction: FIFO across
batches, a batch the venue stops half-way (at its gate, or with an unknown outcome), a worker
dying mid-batch, a cancel racing a batch's claim, and no slot held that is not a send."""

from decimal import Decimal

import pytest

from dispatch import services as dispatch_services
from dispatch.models import RequestState, VenueRequest
from orders import services
from orders.models import Order, OrderStatus
from sessions.models import VenueSession
from tests.dispatch.conftest import at_once, venue_live
from tests.dispatch.workers import book_ids, nudges_held
from tests.factories import make_order
from venues.gateway import GatewayError, HttpVenueGateway, InProcessGateway

pytestmark = pytest.mark.django_db

# More than one batch's worth, whatever the batch size.
MANY = 2 * dispatch_services.MAX_BATCH + 3


def drain(venue: str = "XMOCK", **kwargs):
    return dispatch_services.dispatch_drain(venue_code=venue, **kwargs)


def _statuses(orders) -> list[str]:
    by_id = dict(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("pk", "status"))
    return [by_id[o.pk] for o in orders]


def _limiter_log_size(limiter_redis, venue: str = "XMOCK") -> int:
    return limiter_redis.zcard(f"oms:limiter:{venue}:log")


def test_many_batches_reach_the_venue_in_acceptance_order(trader, in_process_venue,
                                                          limiter_redis):
    venue_live(limit=1000)
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(MANY)]
    services.order_cancel(order_id=orders[5].pk, actor="trader")
    services.order_modify(order_id=orders[40].pk, actor="trader", quantity=Decimal("7"))

    result = drain()

    kept = [o for i, o in enumerate(orders) if i != 5]
    messages = in_process_venue.messages("XMOCK")
    assert [m["clientOrderId"] for m in messages] == [str(o.pk) for o in kept]
    assert messages[39]["quantity"] == "7"  # modified in its place, sent with its new terms
    assert (result.sent, result.stopped) == (len(kept), "empty")
    assert set(_statuses(kept)) == {OrderStatus.NEW}
    # Every slot taken was a send: none held back, none lost.
    assert _limiter_log_size(limiter_redis) == len(kept)


class DropsTheSessionAfter(InProcessGateway):
    """A venue that forgets our session after `keep` messages, as a restarted venue would."""

    def __init__(self, keep: int):
        self.keep = keep

    def send(self, venue_code, message):
        if len(self.messages(venue_code)) == self.keep:
            InProcessGateway().logout(venue_code)
        return super().send(venue_code, message)


def test_a_gate_reject_mid_batch_keeps_the_answers_before_it_and_queues_the_rest(
    trader, in_process_venue, limiter_redis
):
    venue_live()
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(6)]

    result = drain(gateway=DropsTheSessionAfter(keep=3))

    # The venue acted on three and refused the fourth at its gate; the last two never left.
    messages = in_process_venue.messages("XMOCK")
    assert [m["clientOrderId"] for m in messages] == [str(o.pk) for o in orders[:4]]
    assert (result.sent, result.stopped) == (3, "gated")
    assert _statuses(orders) == [OrderStatus.NEW] * 3 + [OrderStatus.QUEUED] * 3
    requests = [o.requests.get() for o in orders]
    assert [r.state for r in requests] == [RequestState.ANSWERED] * 3 + [RequestState.QUEUED] * 3
    assert all(r.latency_micros is not None and r.result == "ACCEPT" for r in requests[:3])
    # The refused one and the unsent ones are untouched: as if never claimed.
    assert [(r.attempts, r.message, r.sent_at) for r in requests[3:]] == [(0, None, None)] * 3
    assert VenueSession.objects.get(pk="XMOCK").state == "LOGGED_OUT"
    # Four messages reached the venue, four slots stay spent; the two unsent were given back.
    assert _limiter_log_size(limiter_redis) == 4

    venue_live()  # the next reconcile logs on again
    drain()
    assert _statuses(orders) == [OrderStatus.NEW] * 6
    resent = in_process_venue.messages("XMOCK")[4:]
    assert [m["clientOrderId"] for m in resent] == [str(o.pk) for o in orders[3:]]


class FailsOnce(InProcessGateway):
    """The connection breaks while the `nth` message is on its way: the venue got it, we
    never hear its answer."""

    def __init__(self, nth: int):
        self.nth = nth

    def send(self, venue_code, message):
        answer = super().send(venue_code, message)
        if len(self.messages(venue_code)) == self.nth:
            raise GatewayError("connection reset")
        return answer


def test_an_unknown_outcome_mid_batch_is_committed_as_sending_and_the_rest_goes_on(
    trader, in_process_venue
):
    venue_live()
    orders = [make_order(user=trader, account_code="ACC-1") for _ in range(5)]

    result = drain(gateway=FailsOnce(nth=3))

    assert (result.sent, result.stopped) == (5, "empty")
    assert _statuses(orders) == [OrderStatus.NEW] * 2 + [OrderStatus.PENDING_NEW] + [
        OrderStatus.NEW] * 2
    unknown = orders[2].requests.get()
    assert (unknown.state, unknown.attempts, unknown.reason) == (
        RequestState.SENDING, 1, "connection reset")
    assert unknown.message["requestId"] == str(unknown.request_id)
    assert [m["clientOrderId"] for m in in_process_venue.messages("XMOCK")] == [
        str(o.pk) for o in orders]


class WorkerDied(BaseException):
    """Like SystemExit or a KeyboardInterrupt: nothing in the dispatcher catches it."""


class DiesAfterTheVenueReceived(HttpVenueGateway):
    """Sends for real; the worker dies once the venue has received the `nth` message, with
    the batch's earlier answers read but not committed."""

    def __init__(self, nth: int):
        self.nth, self.count = nth, 0

    def send(self, venue_code, message):
        answer = super().send(venue_code, message)
        self.count += 1
        if self.count == self.nth:
            raise WorkerDied
        return answer


def test_a_death_mid_batch_rolls_back_every_claim_and_the_resends_are_duplicates(
    exchange, trader, monkeypatch, limiter_redis
):
    venue_live()
    with nudges_held(monkeypatch):
        orders = [make_order(user=trader, account_code="ACC-1") for _ in range(5)]

    with pytest.raises(WorkerDied):
        drain(gateway=DiesAfterTheVenueReceived(nth=3))

    # The venue acted on three; our side rolled back all of it, the answers read included.
    assert exchange.stats("XMOCK")["received"] == 3
    assert _statuses(orders) == [OrderStatus.QUEUED] * 5
    assert {(r.state, r.attempts) for r in VenueRequest.objects.all()} == {
        (RequestState.QUEUED, 0)}
    assert _limiter_log_size(limiter_redis) == 3  # the three sends count; the rest went back

    result = drain()

    assert (result.sent, result.stopped) == (5, "empty")
    messages = exchange.messages("XMOCK")
    assert [m["clientOrderId"] for m in messages] == [str(o.pk) for o in orders[:3] + orders]
    assert [m["answer"]["duplicate"] for m in messages] == [False] * 3 + [True] * 3 + [False] * 2
    stats = exchange.stats("XMOCK")
    assert (stats["received"], stats["accepted"], stats["duplicates"]) == (8, 8, 3)
    assert sorted(book_ids(exchange, "XMOCK")) == sorted(str(o.pk) for o in orders)
    assert _statuses(orders) == [OrderStatus.NEW] * 5
    requests = [o.requests.get() for o in orders]
    # The duplicates' answers are the venue's first decisions, recorded like any answer.
    assert [r.response["duplicate"] for r in requests] == [True] * 3 + [False] * 2
    assert all((r.state, r.result, r.attempts) == (RequestState.ANSWERED, "ACCEPT", 1)
               for r in requests)
    first_venue_ids = [m["answer"]["venueOrderId"] for m in messages[:3]]
    assert [r.response["venueOrderId"] for r in requests[:3]] == first_venue_ids
    assert _limiter_log_size(limiter_redis) == 8


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_a_batch_claim_either_withdraws_the_new_or_follows_it(
    trader, in_process_venue
):
    venue_live()
    for _ in range(10):
        in_process_venue.reset()
        in_process_venue().logon("XMOCK")
        orders = [make_order(user=trader, account_code="ACC-1") for _ in range(6)]
        target = orders[3]
        outcome = {}

        def cancel():
            outcome["cancel"] = services.order_cancel(order_id=target.pk, actor="trader").status

        at_once(cancel, drain)
        drain()  # whatever the race left queued (a CANCEL, or the rest) goes out now

        seen = [(m["kind"], m["clientOrderId"]) for m in in_process_venue.messages("XMOCK")]
        target.refresh_from_db()
        assert target.status == OrderStatus.CANCELED
        others = [o for o in orders if o is not target]
        assert set(_statuses(others)) == {OrderStatus.NEW}
        assert [c for kind, c in seen if kind == "NEW" and c != str(target.pk)] == [
            str(o.pk) for o in others]
        mine = [kind for kind, c in seen if c == str(target.pk)]
        if outcome["cancel"] == OrderStatus.CANCELED:  # the cancel won in the queue
            assert mine == []
        else:  # its NEW was claimed (and sent) first: the CANCEL followed it
            assert outcome["cancel"] == OrderStatus.PENDING_CANCEL
            assert mine == ["NEW", "CANCEL"]
        assert not VenueRequest.objects.filter(state__in=["QUEUED", "SENDING"]).exists()
