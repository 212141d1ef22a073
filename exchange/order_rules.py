"""Rules 2 to 6 of docs/fix.md ("The venue's rules"): what a D, G, F or H that passed the
rate limit does to the book, and the one message that answers it. Pure, like the venue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from exchange import fix_fields as f
from exchange.order_book import FieldProblem, Order, OrderBook, OrderTerms
from exchange.reports import Report, ReportFactory

if TYPE_CHECKING:
    from exchange.venue_market import VenueMarket

# Reasons: the words of rejectsByReason, and the Text (58) of the refusals.
RATE_LIMIT = "RATE_LIMIT"
EXCHANGE_CLOSED = "EXCHANGE_CLOSED"
INVALID_ORDER = "INVALID_ORDER"
RANDOM_REJECT = "RANDOM_REJECT"
UNKNOWN_ORDER = "UNKNOWN_ORDER"
ORDER_CLOSED = "ORDER_CLOSED"
INVALID_REPLACE = "INVALID_REPLACE"
UNSUPPORTED_MESSAGE_TYPE = "UNSUPPORTED_MESSAGE_TYPE"
DUPLICATE_CLORDID = "DUPLICATE_CLORDID"
EXPIRED_AT_CLOSE = "EXPIRED_AT_CLOSE"
CANCELED_BY_VENUE = "CANCELED_BY_VENUE"


@dataclass(frozen=True, slots=True)
class Inbound:
    """An application message as QuickFIX delivered it, from one client's session."""

    client: str
    msg_type: str
    msg_seq_num: int
    poss_dup: bool
    fields: Mapping[int, str]
    raw: str  # '|' for SOH

    @classmethod
    def from_text(cls, client: str, text: str) -> Inbound:
        parsed = f.parse_fields(text)
        return cls(
            client=client,
            msg_type=parsed.get(f.MSG_TYPE, ""),
            msg_seq_num=int(parsed.get(f.MSG_SEQ_NUM) or 0),
            poss_dup=parsed.get(f.POSS_DUP_FLAG) == "Y",
            fields=parsed,
            raw=text.replace(f.SOH, "|"),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """The first decision about a ClOrdID, repeated for its duplicates."""

    order: Order | None  # accepted: the order it created or changed, restated as it is then
    refusal: Report | None  # refused: the refusal, sent again
    reason: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    answer: Report
    reason: str | None  # why it was refused; None when accepted
    duplicate: bool = False
    # What the market did with the order at once (trades, a cancel), after the answer.
    follow: tuple[Report, ...] = ()


class OrderRules:
    def __init__(self, reports: ReportFactory, next_order_id: Callable[[], str],
                 market: VenueMarket | None = None) -> None:  # fmt: skip
        self.book = OrderBook()
        self._reports = reports
        self._next_order_id = next_order_id
        self._market = market
        self._decisions: dict[str, Decision] = {}

    def decide(
        self,
        inbound: Inbound,
        when: datetime,
        *,
        trading_open: Callable[[], bool],
        random_reject: Callable[[], bool],
    ) -> Outcome:
        msg_type = inbound.msg_type
        if msg_type == f.ORDER_STATUS_REQUEST:
            return self._status(inbound, when)
        if msg_type not in f.ORDER_MESSAGES:
            return Outcome(self.business_reject(
                inbound, f.BUSINESS_REJECT_UNSUPPORTED_MESSAGE_TYPE, UNSUPPORTED_MESSAGE_TYPE
            ), UNSUPPORTED_MESSAGE_TYPE)  # fmt: skip

        cl_ord_id = inbound.fields.get(f.CL_ORD_ID, "")
        first = self._decisions.get(cl_ord_id)
        if first is not None:
            return Outcome(self._repeat(first, inbound, when), first.reason, duplicate=True)
        if msg_type == f.NEW_ORDER_SINGLE:
            outcome, order = self._new_order(inbound, when, trading_open, random_reject)
        else:
            outcome, order = self._amend(inbound, when)
        refused = outcome.reason is not None
        self._decisions[cl_ord_id] = Decision(
            None if refused else order, outcome.answer if refused else None, outcome.reason
        )
        return outcome

    def business_reject(self, inbound: Inbound, code: str, reason: str) -> Report:
        return self._reports.business_reject(
            inbound.client, inbound.fields, msg_type=inbound.msg_type,
            msg_seq_num=inbound.msg_seq_num, reason=code, text=reason)  # fmt: skip

    def _repeat(self, first: Decision, inbound: Inbound, when: datetime) -> Report:
        if first.refusal is not None:
            return self._reports.again(first.refusal, to=inbound.client, when=when)
        assert first.order is not None
        return self._reports.execution_report(
            first.order, exec_type=f.EXEC_ORDER_STATUS, when=when, to=inbound.client,
            cl_ord_id=inbound.fields.get(f.CL_ORD_ID, ""),
            orig_cl_ord_id=inbound.fields.get(f.ORIG_CL_ORD_ID), text=DUPLICATE_CLORDID,
        )  # fmt: skip

    def _new_order(
        self,
        inbound: Inbound,
        when: datetime,
        trading_open: Callable[[], bool],
        random_reject: Callable[[], bool],
    ) -> tuple[Outcome, Order | None]:
        request = inbound.fields

        def refuse(reason_code: str, reason: str, text: str) -> tuple[Outcome, None]:
            reject = self._reports.order_reject(
                inbound.client, request, exec_type=f.EXEC_REJECTED, reason=reason_code,
                text=text, when=when)  # fmt: skip
            return Outcome(reject, reason), None

        if not trading_open():
            return refuse(f.ORD_REJ_EXCHANGE_CLOSED, EXCHANGE_CLOSED, EXCHANGE_CLOSED)
        try:
            terms = OrderTerms.parse(request)
        except FieldProblem as problem:
            return refuse(f.ORD_REJ_OTHER, INVALID_ORDER, f"{INVALID_ORDER} {problem.text}")
        if random_reject():
            return refuse(f.ORD_REJ_BROKER_OPTION, RANDOM_REJECT, RANDOM_REJECT)
        order = Order(
            order_id=self._next_order_id(),
            client=inbound.client,
            cl_ord_ids=[request.get(f.CL_ORD_ID, "")],
            secondary_cl_ord_id=request.get(f.SECONDARY_CL_ORD_ID),
            account=request.get(f.ACCOUNT),
            terms=terms,
        )
        self.book.add(order)
        ack = self._reports.execution_report(
            order, exec_type=f.EXEC_NEW, cl_ord_id=order.current_cl_ord_id, when=when
        )
        follow = self._market.accepted(order, when) if self._market else []
        return Outcome(ack, None, follow=tuple(follow)), order

    def _amend(self, inbound: Inbound, when: datetime) -> tuple[Outcome, Order | None]:
        """G and F act on the order whose current ClOrdID is the request's 41."""
        request = inbound.fields
        msg_type = inbound.msg_type
        order = self.book.by_current_cl_ord_id(
            request.get(f.ORIG_CL_ORD_ID, ""), request.get(f.ORDER_ID)
        )

        def refuse(reason_code: str, reason: str, text: str) -> tuple[Outcome, None]:
            reject = self._reports.cancel_reject(
                inbound.client, request, msg_type=msg_type, order=order, reason=reason_code,
                text=text)  # fmt: skip
            return Outcome(reject, reason), None

        if order is None:
            return refuse(f.CXL_REJ_UNKNOWN_ORDER, UNKNOWN_ORDER, UNKNOWN_ORDER)
        if order.is_closed:
            return refuse(f.CXL_REJ_TOO_LATE, ORDER_CLOSED, ORDER_CLOSED)
        before = order.terms
        if msg_type == f.ORDER_CANCEL_REQUEST:
            order.status = f.CANCELED
            exec_type = f.EXEC_CANCELED
        else:
            try:
                order.terms = self._replaced_terms(order, request)
            except FieldProblem as problem:
                return refuse(f.CXL_REJ_OTHER, INVALID_REPLACE, f"{INVALID_REPLACE} {problem.text}")
            exec_type = f.EXEC_REPLACED
        orig_cl_ord_id = order.current_cl_ord_id
        self.book.accept_cl_ord_id(order, request.get(f.CL_ORD_ID, ""))
        answer = self._reports.execution_report(
            order, exec_type=exec_type, cl_ord_id=order.current_cl_ord_id,
            orig_cl_ord_id=orig_cl_ord_id, when=when, to=inbound.client)  # fmt: skip
        follow = []
        if exec_type == f.EXEC_REPLACED and self._market:
            follow = self._market.replaced(order, before, when)
        return Outcome(answer, None, follow=tuple(follow)), order

    @staticmethod
    def _replaced_terms(order: Order, request: Mapping[int, str]) -> OrderTerms:
        terms = OrderTerms.parse(request, default_time_in_force=order.terms.time_in_force)
        old = order.terms
        for tag, before, after in (
            (f.SYMBOL, old.symbol, terms.symbol),
            (f.SIDE, old.side, terms.side),
            (f.ORD_TYPE, old.ord_type, terms.ord_type),
        ):
            if before != after:
                raise FieldProblem(tag, f"cannot change ({before!r} to {after!r})")
        if terms.quantity <= order.cum_qty:
            raise FieldProblem(f.ORDER_QTY, f"must be above CumQty {order.cum_qty}")
        return terms

    def _status(self, inbound: Inbound, when: datetime) -> Outcome:
        request = inbound.fields
        order = self.book.by_any_cl_ord_id(request.get(f.CL_ORD_ID), request.get(f.ORDER_ID))
        if order is None:
            reject = self._reports.order_reject(
                inbound.client, request, exec_type=f.EXEC_ORDER_STATUS,
                reason=f.ORD_REJ_UNKNOWN_ORDER, text=UNKNOWN_ORDER, when=when)  # fmt: skip
            return Outcome(reject, UNKNOWN_ORDER)
        status = self._reports.execution_report(
            order, exec_type=f.EXEC_ORDER_STATUS, cl_ord_id=order.current_cl_ord_id, when=when,
            ord_status_req_id=request.get(f.ORD_STATUS_REQ_ID), to=inbound.client)  # fmt: skip
        return Outcome(status, None)

    # -- what the venue does on its own ----------------------------------------------------

    def expire_day_orders(self, when: datetime) -> list[Report]:
        """Rule 6: DAY orders still live at the close expire (unsolicited 150=C)."""
        reports = []
        for order in self.book:
            if not order.is_closed and order.terms.time_in_force == f.DAY:
                order.status = f.EXPIRED
                reports.append(self._reports.execution_report(
                    order, exec_type=f.EXEC_EXPIRED, cl_ord_id=order.current_cl_ord_id,
                    when=when, text=EXPIRED_AT_CLOSE))  # fmt: skip
        return reports

    def cancel_order(self, cl_ord_id: str, when: datetime) -> Report:
        """The venue cancels a live order on its own (unsolicited 150=4); raise LookupError
        for an unknown ClOrdID and ValueError for a closed order."""
        order = self.book.by_any_cl_ord_id(cl_ord_id, None)
        if order is None:
            raise LookupError(cl_ord_id)
        if order.is_closed:
            raise ValueError(f.ORD_STATUS_WORDS[order.status])
        order.status = f.CANCELED
        return self._reports.execution_report(
            order, exec_type=f.EXEC_CANCELED, cl_ord_id=order.current_cl_ord_id, when=when,
            text=CANCELED_BY_VENUE)  # fmt: skip
