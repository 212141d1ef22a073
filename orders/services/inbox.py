"""The order books as the FIX session's holder sees them (venues.fix.ports.Inbox)."""

import logging

from django.db import transaction

from dispatch.queue import unmatched_record
from orders.services.venue_reports import (
    cancel_reject_apply,
    execution_report_apply,
    message_reject_apply,
)
from orders.selectors import order_open_symbols
from orders.services.venue_status import orders_ask_venue, status_answer_apply
from venues.fix.codec import VenueMessage

logger = logging.getLogger("orders")


class OrderBooks:
    def received(self, *, venue_code: str, message: VenueMessage,
                 latency_micros: int | None) -> None:
        apply = {"3": message_reject_apply, "j": message_reject_apply,
                 "9": cancel_reject_apply}.get(message.msg_type)
        if message.msg_type == "8":
            apply = status_answer_apply if message.exec_type == "I" else execution_report_apply
        if apply is None:
            unmatched_record(venue_code=venue_code, key=message.cl_ord_id,
                             why=f"unexpected message type {message.msg_type}",
                             payload=message.as_dict())
            return
        apply(venue_code=venue_code, message=message, latency_micros=latency_micros)

    def unapplied(self, *, venue_code: str, message: VenueMessage, error: str) -> None:
        with transaction.atomic():
            unmatched_record(venue_code=venue_code, key=message.cl_ord_id,
                             why=f"could not be applied: {error}", payload=message.as_dict())

    def open_symbols(self, *, venue_code: str) -> list[str]:
        return order_open_symbols(venue_code=venue_code)

    def logged_on(self, *, venue_code: str) -> None:
        with transaction.atomic():
            asked = orders_ask_venue(venue_code=venue_code)
        if asked:
            logger.info("venue %s: asking about %d open orders", venue_code, asked)
