"""The sweeper and the books never wait for each other in a circle.

The books (the holder applying a venue's report) lock an order, then its request. The sweep
locks requests whose answer is late and queues a STATUS request about each one's order: the
new row's foreign key share-locks the order when the transaction commits (Django's foreign
keys are DEFERRABLE INITIALLY DEFERRED). When the late answer is being applied just then,
each held what the other wanted: PostgreSQL broke the deadlock by aborting one of them, and
when that was the holder's, the report was stored for an operator instead of applied
(found by tests/system/test_routing.py's burst, the holder's reader threads a few seconds
behind)."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from dispatch.drain import dispatch_drain
from dispatch.models import UnmatchedResponse
from dispatch.sweeper import dispatch_sweep
from orders.models import Order
from orders.services import venue_reports
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


def test_a_sweep_while_the_late_answer_is_applied_neither_deadlocks_nor_loses_the_report(
    trader, in_process_venue, monkeypatch
):
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    in_process_venue.write()  # on the wire; the venue's answer waits to be read
    assert in_process_venue.in_transit() == 1

    order_locked, go_on = threading.Event(), threading.Event()
    real_request_lock = venue_reports.request_lock

    def request_lock_after_the_sweep(pk):
        order_locked.set()  # the books hold the order now
        go_on.wait(10)
        return real_request_lock(pk)

    monkeypatch.setattr(venue_reports, "request_lock", request_lock_after_the_sweep)
    failures, swept = [], {}

    def books():
        try:
            in_process_venue.deliver()
        except Exception as exc:  # noqa: BLE001 (reported below)
            failures.append(("books", exc))
        finally:
            connection.close()

    def sweep():
        try:
            later = timezone.now() + timedelta(
                seconds=settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS + 1)
            swept.update(dispatch_sweep(now=later))
        except Exception as exc:  # noqa: BLE001
            failures.append(("sweep", exc))
        finally:
            connection.close()

    applying = threading.Thread(target=books)
    applying.start()
    assert order_locked.wait(10)
    sweeping = threading.Thread(target=sweep)
    sweeping.start()
    deadline = time.monotonic() + 10
    while sweeping.is_alive() and not _someone_waits_for_a_lock():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    go_on.set()  # the books go on to the request
    applying.join(20)
    sweeping.join(20)

    assert not failures, failures
    assert not UnmatchedResponse.objects.exists()
    order = Order.objects.get(pk=order.pk)
    assert order.status == "NEW"
    assert order.requests.get(kind="NEW").state == "ANSWERED"
    # The order was busy: the sweep left it (its answer was being applied) for a later sweep.
    assert swept["asked"] == 0
    assert not order.requests.filter(kind="STATUS").exists()
