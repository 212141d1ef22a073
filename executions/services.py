"""Recording what venues report: each ExecutionReport once per venue and ExecID."""

from uuid import UUID

from django.db import IntegrityError, transaction

from executions.models import EXEC_TYPES, ORD_STATUSES, ORDER_STATUS_EXEC_TYPE, ExecutionReport
from venues.fix.codec import VenueMessage


def execution_report_unknown_values(message: VenueMessage) -> str:
    """What in the report the OMS cannot map (empty when it can map everything)."""
    problems = []
    if message.exec_type not in EXEC_TYPES:
        problems.append(f"unknown ExecType {message.exec_type!r}")
    if message.ord_status not in ORD_STATUSES:
        problems.append(f"unknown OrdStatus {message.ord_status!r}")
    return "; ".join(problems)


def execution_report_record(
    *, venue_code: str, message: VenueMessage, order_id: UUID | None,
    request_id: int | None, flag: str = "",
) -> tuple[ExecutionReport, bool]:
    """Store the report; (report, False) when the venue already told us this one (the same
    ExecID: a resend, PossDup or not), which then changes nothing."""
    exec_id = message.exec_id[:64]
    if message.exec_type != ORDER_STATUS_EXEC_TYPE:
        seen = ExecutionReport.objects.filter(venue_id=venue_code, exec_id=exec_id).exclude(
            exec_type=ORDER_STATUS_EXEC_TYPE).first()
        if seen is not None:
            return seen, False
    report = ExecutionReport(
        venue_id=venue_code, exec_id=exec_id, order_id=order_id, request_id=request_id,
        exec_type=message.exec_type[:2], ord_status=message.ord_status[:2],
        cl_ord_id=message.cl_ord_id[:64], orig_cl_ord_id=message.orig_cl_ord_id[:64],
        venue_order_id=message.order_id[:64], ord_status_req_id=message.ord_status_req_id[:64],
        ord_rej_reason=message.ord_rej_reason[:8],
        order_quantity=message.decimal(38), price=message.decimal(44),
        stop_price=message.decimal(99), last_quantity=message.decimal(32),
        last_price=message.decimal(31), cum_quantity=message.decimal(14),
        leaves_quantity=message.decimal(151), average_price=message.decimal(6),
        text=message.text[:200], transact_time=message.timestamp(60),
        msg_seq_num=message.seq_num or None, poss_dup=message.poss_dup, raw=message.raw,
        flag=(flag or execution_report_unknown_values(message))[:200],
    )
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        # The same ExecID arrived on another thread a moment ago.
        return ExecutionReport.objects.get(venue_id=venue_code, exec_id=exec_id), False
    return report, True


def execution_report_flag(report: ExecutionReport, why: str) -> None:
    report.flag = "; ".join(filter(None, [report.flag, why]))[:200]
    report.save(update_fields=["flag"])
