"""A change to an order and its audit event are one transaction, with whatever else the
change writes (the report behind it, the request it answers): all of it, or none."""

from decimal import Decimal

import pytest
from django.db import connection

from dispatch.drain import dispatch_drain
from dispatch.models import VenueRequest
from executions.models import ExecutionReport, Fill, Position
from orders import services
from orders.models import Order, OrderEvent, OrderStatus
from tests.dispatch.conftest import drain
from tests.factories import make_order

pytestmark = pytest.mark.django_db

VENUE = "XMOCK"


def new_cl_ord_id(order: Order) -> str:
    return str(order.requests.get(kind="NEW").request_id)


class DiskFull(Exception):
    pass


def test_a_transition_whose_event_cannot_be_written_does_not_happen(trader, monkeypatch):
    order = make_order(user=trader, account_code="ACC-1")

    def fail(*args, **kwargs):
        raise DiskFull

    monkeypatch.setattr(OrderEvent.objects, "create", fail)
    with pytest.raises(DiskFull):
        services.order_cancel(order_id=order.pk, actor="trader")

    order.refresh_from_db()
    assert order.status == OrderStatus.QUEUED
    assert order.requests.get().state == "QUEUED"


def test_a_rolled_back_transition_leaves_no_event(trader, monkeypatch):
    order = make_order(user=trader, account_code="ACC-1")
    create = OrderEvent.objects.create

    def written_then_fail(*args, **kwargs):
        create(*args, **kwargs)
        raise DiskFull  # after the event row is written, before the commit

    monkeypatch.setattr(OrderEvent.objects, "create", written_then_fail)
    with pytest.raises(DiskFull):
        services.order_cancel(order_id=order.pk, actor="trader")

    order.refresh_from_db()
    assert order.status == OrderStatus.QUEUED
    assert [e.type for e in order.events.all()] == ["CREATED"]


def test_a_venue_report_that_fails_midway_leaves_no_trace_and_applies_later(
    trader, in_process_venue, monkeypatch
):
    order = make_order(user=trader, account_code="ACC-1")
    drain(in_process_venue)
    fill = in_process_venue.book.fill(new_cl_ord_id(order), Decimal("4"), Decimal("150"))
    create = OrderEvent.objects.create

    def written_then_fail(*args, **kwargs):
        create(*args, **kwargs)
        raise DiskFull

    monkeypatch.setattr(OrderEvent.objects, "create", written_then_fail)
    with pytest.raises(DiskFull):
        in_process_venue.deliver([fill])
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("NEW", Decimal("0"))
    assert order.events.last().type == "ACKNOWLEDGED"
    assert not ExecutionReport.objects.filter(exec_id=fill[17]).exists()

    assert not Fill.objects.exists() and not Position.objects.filter(net_quantity=4).exists()

    monkeypatch.undo()
    in_process_venue.deliver([fill])  # the holder's next try (or a resend) applies it whole
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("PARTIALLY_FILLED", Decimal("4"))
    assert order.events.last().type == "FILLED"
    assert Position.objects.get().net_quantity == Decimal("4")


@pytest.mark.django_db(transaction=True)
def test_a_venue_report_its_change_and_its_event_commit_as_one_transaction(
    trader, in_process_venue
):
    """Every row a report writes (the report, the fill it reports, the order's figures and
    status, the event that audits them, the request it answers, the position the fill
    moves) is written by one transaction: none is deferred to after a commit, none written
    aside."""
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code=VENUE, budget_seconds=0.5)
    in_process_venue.book.silent = True  # it takes the order and answers with a trade
    in_process_venue.write()
    answer = in_process_venue.book.fill(new_cl_ord_id(order), Decimal("4"), Decimal("150"))
    tables = {model._meta.db_table for model in (Order, OrderEvent, ExecutionReport,
                                                  VenueRequest, Fill, Position)}
    writes: list[tuple[str, str]] = []

    def watch(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        verb, _, rest = sql.partition(" ")
        if verb in ("INSERT", "UPDATE"):
            table = next((t for t in tables if f'"{t}"' in rest.split(" SET ")[0]), None)
            if table:
                with context["connection"].cursor() as cursor:
                    cursor.execute("SELECT txid_current()")
                    writes.append((table, cursor.fetchone()[0]))
        return result

    with connection.execute_wrapper(watch):
        in_process_venue.deliver([answer])  # the venue's first answer to the NEW is a trade

    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("PARTIALLY_FILLED", Decimal("4"))
    assert {table for table, _ in writes} == tables
    assert len({txid for _, txid in writes}) == 1, writes
