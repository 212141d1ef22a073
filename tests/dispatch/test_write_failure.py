"""The writer's side of the holder: a batch whose transaction fails after writing never lets
what it took go back to the queue as never sent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.drain import dispatch_drain
from dispatch.models import VenueRequest
from dispatch.outbox import QueueOutbox
from dispatch.sweeper import dispatch_sweep
from orders import services
from tests.dispatch.conftest import drain
from tests.factories import make_order
from venues.fix.wire import WireWriter

pytestmark = pytest.mark.django_db


class WireUp:
    def isLoggedOn(self):  # noqa: N802 (QuickFIX's name)
        return True


class RecordingFails(QueueOutbox):
    def written(self, **kwargs):
        raise RuntimeError("the database went away")


def test_a_batch_that_fails_after_writing_leaves_its_messages_possibly_written(
    trader, in_process_venue, monkeypatch
):
    from venues.fix import wire

    # The holder drops a broken connection; here it is the test's own transaction.
    monkeypatch.setattr(wire, "close_old_connections", lambda: None)
    order = make_order(user=trader, account_code="ACC-1")
    dispatch_drain(venue_code="XMOCK", budget_seconds=0.5)
    writer = WireWriter(venue_code="XMOCK", session_id=None, outbox=RecordingFails(),
                        redis_client=None, latency=None, last_sent_seq_num=lambda: None,
                        session=lambda: None, before_batch=lambda session: None)
    writer._write = in_process_venue._write  # the venue in this process is the wire

    assert writer.write_all(WireUp()) is False
    assert in_process_venue.messages("D")  # it reached the venue; our record rolled back
    in_process_venue._answers.clear()  # and its answer was lost on the way
    # Long enough later that its slot has run out: taken again by the writer and given back
    # as never sent, it would let the cancel below close it here while it is live there.
    VenueRequest.objects.filter(order=order).update(
        claimed_at=timezone.now() - timedelta(minutes=1))
    in_process_venue.write()

    services.order_cancel(order_id=order.pk, actor="trader")
    dispatch_sweep()
    drain(in_process_venue)
    drain(in_process_venue)

    order.refresh_from_db()
    assert order.status == "CANCELED"
    assert [m[35] for m in in_process_venue.messages()] == ["D", "H", "F"]  # no second NEW
    assert in_process_venue.book.order_for(in_process_venue.messages("D")[0][11])["status"] \
        == "4"
