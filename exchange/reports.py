"""The messages a venue sends (8, 9, j) as tag/value lists, built from its orders.

A `Report` is transport-neutral: the FIX acceptor turns it into a QuickFIX message when its
latency is over. ExecIDs come from a counter that outlives `POST /reset`, prefixed with the
process's run id, so no two reports of one venue ever share an ExecID, even across restarts
of the exchange (the OMS keeps executions unique per venue and ExecID).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from exchange import fix_fields as f
from exchange.message_log import AnswerRecord
from exchange.order_book import Order, decimal_text

Fields = list[tuple[int, str]]
Group = tuple[int, int, list[Fields]]
"""A repeating group: its count tag, its delimiter tag (first of each entry), its entries."""


def fix_timestamp(moment: datetime) -> str:
    """UTCTimestamp with milliseconds, the precision FIX 4.4 defines."""
    return moment.strftime("%Y%m%d-%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@dataclass(slots=True)
class Report:
    """One outgoing application message and the client CompID whose session carries it."""

    client: str
    msg_type: str
    fields: Fields
    groups: list[Group] = field(default_factory=list)
    # The message log's record of it, when it answers a received message.
    record: AnswerRecord | None = field(default=None, repr=False)

    def get(self, tag: int) -> str | None:
        return next((value for t, value in self.fields if t == tag), None)

    def to_record(self) -> AnswerRecord:
        self.record = AnswerRecord(
            self.msg_type, self.get(f.EXEC_TYPE), self.get(f.ORD_STATUS), self.get(f.EXEC_ID)
        )
        return self.record


class ReportFactory:
    """Builds a venue's reports; owns its ExecID counter."""

    def __init__(self, venue: str, run_id: str) -> None:
        self._prefix = f"{venue}-{run_id}-" if run_id else f"{venue}-"
        self._exec_counter = 0

    def next_exec_id(self) -> str:
        self._exec_counter += 1
        return f"{self._prefix}{self._exec_counter}"

    def execution_report(
        self,
        order: Order,
        *,
        exec_type: str,
        cl_ord_id: str,
        when: datetime,
        orig_cl_ord_id: str | None = None,
        text: str | None = None,
        ord_status_req_id: str | None = None,
        to: str | None = None,
        extra: Fields | None = None,
        exec_id: str | None = None,
    ) -> Report:
        """An 8 stating `order` as it is now, to `to` (default: the order's own client);
        `extra` are a trade's, bust's or correction's own fields."""
        t = order.terms
        fields: Fields = [
            (f.ORDER_ID, order.order_id),
            (f.EXEC_ID, exec_id or self.next_exec_id()),
            (f.EXEC_TYPE, exec_type),
            (f.ORD_STATUS, order.status),
            (f.CL_ORD_ID, cl_ord_id),
        ]
        if orig_cl_ord_id:
            fields.append((f.ORIG_CL_ORD_ID, orig_cl_ord_id))
        if order.secondary_cl_ord_id:
            fields.append((f.SECONDARY_CL_ORD_ID, order.secondary_cl_ord_id))
        if order.account:
            fields.append((f.ACCOUNT, order.account))
        fields += [
            (f.SYMBOL, t.symbol),
            (f.SIDE, t.side),
            (f.ORDER_QTY, decimal_text(t.quantity)),
            (f.ORD_TYPE, t.ord_type),
        ]
        if t.price is not None:
            fields.append((f.PRICE, decimal_text(t.price)))
        if t.stop_px is not None:
            fields.append((f.STOP_PX, decimal_text(t.stop_px)))
        fields += [
            (f.TIME_IN_FORCE, t.time_in_force),
            (f.LEAVES_QTY, decimal_text(order.leaves_qty)),
            (f.CUM_QTY, decimal_text(order.cum_qty)),
            (f.AVG_PX, decimal_text(order.avg_px)),
            (f.TRANSACT_TIME, fix_timestamp(when)),
        ]
        fields += extra or []
        if text:
            fields.append((f.TEXT, text))
        if ord_status_req_id:
            fields.append((f.ORD_STATUS_REQ_ID, ord_status_req_id))
        return Report(to or order.client, f.EXECUTION_REPORT, fields)

    def order_reject(
        self,
        client: str,
        request: Mapping[int, str],
        *,
        exec_type: str,
        reason: str,
        text: str,
        when: datetime,
    ) -> Report:
        """An 8 with OrdStatus 8 about a request that matches no order (a refused D, an H
        for an unknown order): it echoes what the request said."""
        fields: Fields = [
            (f.ORDER_ID, request.get(f.ORDER_ID) or f.UNKNOWN_ORDER_ID),
            (f.EXEC_ID, self.next_exec_id()),
            (f.EXEC_TYPE, exec_type),
            (f.ORD_STATUS, f.REJECTED),
            (f.CL_ORD_ID, request.get(f.CL_ORD_ID, "")),
        ]
        for tag in (f.SECONDARY_CL_ORD_ID, f.ACCOUNT, f.SYMBOL, f.SIDE, f.ORDER_QTY, f.ORD_TYPE,
                    f.PRICE, f.STOP_PX, f.TIME_IN_FORCE):  # fmt: skip
            if request.get(tag):
                fields.append((tag, request[tag]))
        fields += [
            (f.LEAVES_QTY, "0"),
            (f.CUM_QTY, "0"),
            (f.AVG_PX, "0"),
            (f.TRANSACT_TIME, fix_timestamp(when)),
            (f.ORD_REJ_REASON, reason),
            (f.TEXT, text),
        ]
        if request.get(f.ORD_STATUS_REQ_ID):
            fields.append((f.ORD_STATUS_REQ_ID, request[f.ORD_STATUS_REQ_ID]))
        return Report(client, f.EXECUTION_REPORT, fields)

    @staticmethod
    def cancel_reject(
        client: str,
        request: Mapping[int, str],
        *,
        msg_type: str,
        order: Order | None,
        reason: str,
        text: str,
    ) -> Report:
        """A 9: the G or F was not acted on; OrdStatus is the order's now (8 when unknown)."""
        response_to = (
            f.CXL_REJ_RESPONSE_TO_REPLACE
            if msg_type == f.ORDER_CANCEL_REPLACE_REQUEST
            else f.CXL_REJ_RESPONSE_TO_CANCEL
        )
        fields: Fields = [
            (f.ORDER_ID, order.order_id if order else f.UNKNOWN_ORDER_ID),
            (f.CL_ORD_ID, request.get(f.CL_ORD_ID, "")),
            (f.ORIG_CL_ORD_ID, request.get(f.ORIG_CL_ORD_ID, "")),
            (f.ORD_STATUS, order.status if order else f.REJECTED),
            (f.CXL_REJ_RESPONSE_TO, response_to),
            (f.CXL_REJ_REASON, reason),
            (f.TEXT, text),
        ]
        if request.get(f.SECONDARY_CL_ORD_ID):
            fields.append((f.SECONDARY_CL_ORD_ID, request[f.SECONDARY_CL_ORD_ID]))
        if request.get(f.ACCOUNT):
            fields.append((f.ACCOUNT, request[f.ACCOUNT]))
        return Report(client, f.ORDER_CANCEL_REJECT, fields)

    @staticmethod
    def business_reject(
        client: str, request: Mapping[int, str], *, msg_type: str, msg_seq_num: int, reason: str,
        text: str,
    ) -> Report:  # fmt: skip
        """A j: the venue did not act on the message at all."""
        fields: Fields = [
            (f.REF_SEQ_NUM, str(msg_seq_num)),
            (f.REF_MSG_TYPE, msg_type),
        ]
        if request.get(f.CL_ORD_ID):
            fields.append((f.BUSINESS_REJECT_REF_ID, request[f.CL_ORD_ID]))
        fields += [(f.BUSINESS_REJECT_REASON, reason), (f.TEXT, text)]
        return Report(client, f.BUSINESS_MESSAGE_REJECT, fields)

    def again(self, first: Report, *, to: str, when: datetime) -> Report:
        """A duplicate's repeat of a refusal: the same message, with a new ExecID on an 8."""
        fields = []
        for tag, value in first.fields:
            if tag == f.EXEC_ID:
                value = self.next_exec_id()
            elif tag == f.TRANSACT_TIME:
                value = fix_timestamp(when)
            fields.append((tag, value))
        return Report(to, first.msg_type, fields)
