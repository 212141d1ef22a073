"""Invariant 4: a dispatcher that dies mid-send, or a send whose answer never comes, loses
nothing and acts once. The resend carries the same requestId and clientOrderId, the venue
answers it as a duplicate, and the database (not Celery) decides what is sent again."""

import os
import signal
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import services as dispatch_services
from dispatch.models import RequestState, VenueRequest
from dispatch.nudge import dispatch_nudge
from orders.models import OrderStatus
from tests.dispatch.conftest import venue_live
from tests.dispatch.workers import (  # noqa: F401  (dispatch_workers is a fixture)
    book_ids,
    dispatch_workers,
    nudges_held,
    queue_orders,
    wait_until,
)
from tests.factories import make_order
from venues.gateway import HttpVenueGateway

pytestmark = pytest.mark.django_db(transaction=True)


class WorkerDied(BaseException):
    """Like SystemExit or a KeyboardInterrupt: nothing in the dispatcher catches it."""


class DiesAfterTheVenueReceived(HttpVenueGateway):
    """Sends for real, then the process 'dies' before the answer is recorded and committed."""

    def send(self, venue_code, message):
        super().send(venue_code, message)
        raise WorkerDied


def _limiter_log(limiter_redis, venue: str) -> list[bytes]:
    return limiter_redis.zrange(f"oms:limiter:{venue}:log", 0, -1)


def test_death_after_the_venue_received_rolls_back_and_the_resend_is_a_duplicate(
    exchange, trader, monkeypatch, limiter_redis
):
    venue_live("XMOCK")
    with nudges_held(monkeypatch):
        order = make_order(user=trader, account_code="ACC-1")
    request = order.requests.get()

    with pytest.raises(WorkerDied):
        dispatch_services.dispatch_drain(venue_code="XMOCK", gateway=DiesAfterTheVenueReceived())

    # The venue has the order; our transaction rolled back: the claim never happened.
    assert exchange.stats("XMOCK")["received"] == 1
    request.refresh_from_db()
    order.refresh_from_db()
    assert (request.state, request.attempts, request.message) == (RequestState.QUEUED, 0, None)
    assert order.status == OrderStatus.QUEUED
    # The slot it used stays spent: the venue counted that send.
    assert len(_limiter_log(limiter_redis, "XMOCK")) == 1

    result = dispatch_services.dispatch_drain(venue_code="XMOCK")

    assert (result.sent, result.stopped) == (1, "empty")
    first, second = exchange.messages("XMOCK")
    assert first["requestId"] == second["requestId"] == str(request.request_id)
    assert first["clientOrderId"] == second["clientOrderId"] == str(order.pk)
    assert (first["answer"]["duplicate"], second["answer"]["duplicate"]) == (False, True)
    assert second["answer"]["originalSeq"] == first["seq"]
    stats = exchange.stats("XMOCK")
    assert (stats["received"], stats["duplicates"]) == (2, 1)
    assert book_ids(exchange, "XMOCK") == [str(order.pk)]
    order.refresh_from_db()
    request.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert (request.state, request.result) == (RequestState.ANSWERED, "ACCEPT")
    # attempts counts committed claims: the crashed one rolled back with everything else, so
    # the only trace of it on our side is the venue's answer, flagged as a duplicate.
    assert request.attempts == 1
    assert request.response["duplicate"] is True
    assert request.response["venueOrderId"] == first["answer"]["venueOrderId"]
    assert len(_limiter_log(limiter_redis, "XMOCK")) == 2  # both sends counted


def test_a_worker_killed_mid_send_loses_nothing_and_the_resend_is_a_duplicate(
    exchange, dispatch_workers, trader, monkeypatch
):
    (first_worker,) = dispatch_workers.start(1)
    exchange.configure("XSLOW", latencyMs=1500)  # the answer is on its way for 1.5 s
    venue_live("XSLOW")
    with nudges_held(monkeypatch):
        (order,) = queue_orders(user=trader, account_code="ACC-1", venue_code="XSLOW", count=1)
    request = order.requests.get()
    dispatch_workers.wait_ready([first_worker])

    dispatch_nudge(venue_code="XSLOW")
    wait_until(lambda: exchange.stats("XSLOW")["received"] == 1, timeout=15, every=0.02,
               what="the NEW at the venue")
    # Mid-send: the venue has it, the worker waits for the answer with its claim uncommitted.
    request.refresh_from_db()
    assert request.state == RequestState.QUEUED  # nothing committed yet: not visible here
    os.kill(first_worker.pid, signal.SIGKILL)
    first_worker.process.wait(timeout=10)
    assert first_worker.process.returncode == -signal.SIGKILL

    exchange.configure("XSLOW", latencyMs=1)
    (second_worker,) = dispatch_workers.start(1)
    dispatch_workers.wait_ready([second_worker])

    # The beat sweeper's job: nudge every venue that has queued work. Celery may or may not
    # still hold the killed worker's message (acks_late); the table decides either way.
    def answered() -> bool:
        request.refresh_from_db()
        if request.state != RequestState.ANSWERED:
            dispatch_services.dispatch_sweep()
            return False
        return True

    wait_until(answered, timeout=30, every=0.5, what="the resend to be answered")

    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert (request.result, request.attempts) == ("ACCEPT", 1)
    assert request.claimed_by.endswith(f":{second_worker.pid}")
    assert request.response["duplicate"] is True
    messages = exchange.messages("XSLOW")
    assert [(m["requestId"], m["clientOrderId"]) for m in messages] == [
        (str(request.request_id), str(order.pk))
    ] * 2
    stats = exchange.stats("XSLOW")
    assert (stats["received"], stats["duplicates"]) == (2, 1)
    assert book_ids(exchange, "XSLOW") == [str(order.pk)]


def test_a_timed_out_send_stays_unknown_then_is_resent_with_the_same_ids(
    exchange, trader, monkeypatch, settings, limiter_redis
):
    settings.OMS_EXCHANGE_TIMEOUT_SECONDS = 0.2
    settings.OMS_DISPATCH_RESEND_AFTER_SECONDS = 5
    # The gateway keeps one HTTP client per thread, built with the timeout of its time.
    monkeypatch.setattr(HttpVenueGateway, "_local", threading.local())
    venue_live("XMOCK")
    exchange.configure("XMOCK", latencyMs=500)
    with nudges_held(monkeypatch):
        order = make_order(user=trader, account_code="ACC-1")
    request = order.requests.get()

    result = dispatch_services.dispatch_drain(venue_code="XMOCK")

    assert (result.sent, result.stopped) == (1, "empty")  # nothing else claimable
    request.refresh_from_db()
    order.refresh_from_db()
    assert (request.state, request.attempts) == (RequestState.SENDING, 1)
    assert "Timeout" in request.reason
    assert order.status == OrderStatus.PENDING_NEW
    assert exchange.stats("XMOCK")["received"] == 1
    assert len(_limiter_log(limiter_redis, "XMOCK")) == 1  # an unknown send keeps its slot

    # Not before the back-off...
    assert dispatch_services.dispatch_sweep()["requeued"] == 0
    request.refresh_from_db()
    assert request.state == RequestState.SENDING
    # ...then queued again, in its place, with its ids.
    later = timezone.now() + timedelta(seconds=settings.OMS_DISPATCH_RESEND_AFTER_SECONDS + 1)
    assert dispatch_services.dispatch_sweep(now=later)["requeued"] == 1
    request.refresh_from_db()
    assert request.state == RequestState.QUEUED

    exchange.configure("XMOCK", latencyMs=1)
    result = dispatch_services.dispatch_drain(venue_code="XMOCK")

    assert (result.sent, result.stopped) == (1, "empty")
    request.refresh_from_db()
    order.refresh_from_db()
    assert (request.state, request.result, request.attempts) == (
        RequestState.ANSWERED, "ACCEPT", 2)
    assert order.status == OrderStatus.NEW
    assert request.response["duplicate"] is True
    first, second = exchange.messages("XMOCK")
    assert first["requestId"] == second["requestId"] == str(request.request_id)
    assert first["clientOrderId"] == second["clientOrderId"] == str(order.pk)
    stats = exchange.stats("XMOCK")
    assert (stats["received"], stats["duplicates"]) == (2, 1)
    assert book_ids(exchange, "XMOCK") == [str(order.pk)]
    assert VenueRequest.objects.filter(order=order).count() == 1
