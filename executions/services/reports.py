"""Recording what venues report: each ExecutionReport once per venue and ExecID."""

from decimal import Decimal, localcontext
from uuid import UUID

from django.db import IntegrityError, transaction

from executions.models import EXEC_TYPES, ORD_STATUSES, ORDER_STATUS_EXEC_TYPE, ExecutionReport
from omsproject.decimals import (
    EXACT,
    MONEY_DIGITS,
    PRICE_DIGITS,
    QUANTITY_DIGITS,
    fits,
    quantize_price,
)
from venues.fix.codec import VenueMessage

# The decimal tags a report is stored with: (tag, name, field, digits). A value the column
# cannot hold exactly is not stored rounded: the column stays empty and the report is
# flagged (the raw message keeps it). AvgPx is the venue's own arithmetic, informational
# (an order's avgPx is its fills'), so it is rounded to a price's places instead.
_DECIMALS = (
    (38, "OrderQty", "order_quantity", QUANTITY_DIGITS),
    (44, "Price", "price", PRICE_DIGITS),
    (99, "StopPx", "stop_price", PRICE_DIGITS),
    (32, "LastQty", "last_quantity", QUANTITY_DIGITS),
    (31, "LastPx", "last_price", PRICE_DIGITS),
    (14, "CumQty", "cum_quantity", QUANTITY_DIGITS),
    (151, "LeavesQty", "leaves_quantity", QUANTITY_DIGITS),
    (12, "Commission", "commission", MONEY_DIGITS),
)


def execution_report_unknown_values(message: VenueMessage) -> str:
    """What in the report the OMS cannot map (empty when it can map everything)."""
    problems = []
    if message.exec_type not in EXEC_TYPES:
        problems.append(f"unknown ExecType {message.exec_type!r}")
    if message.ord_status not in ORD_STATUSES:
        problems.append(f"unknown OrdStatus {message.ord_status!r}")
    return "; ".join(problems)


def _decimals(message: VenueMessage) -> tuple[dict, list[str]]:
    values, problems = {}, []
    for tag, name, field, digits in _DECIMALS:
        value = message.decimal(tag)
        if value is not None and not fits(value, digits):
            problems.append(f"{name} ({tag}) {message.get(tag)} has more digits than the OMS "
                            f"stores")
            value = None
        values[field] = value
    average = message.decimal(6)
    if average is not None and fits(quantize_price(average), PRICE_DIGITS):
        values["average_price"] = quantize_price(average)
    elif average is not None:
        problems.append(f"AvgPx (6) {message.get(6)} is out of range")
    return values, problems


def execution_report_record(
    *, venue_code: str, message: VenueMessage, order_id: UUID | None,
    request_id: int | None, flag: str = "",
) -> tuple[ExecutionReport, bool]:
    """Store the report; (report, False) when the venue already told us this one (the same
    ExecID: a resend, PossDup or not), which then changes nothing."""
    exec_id = message.exec_id[:64]
    decimals, problems = _decimals(message)
    report = ExecutionReport(
        venue_id=venue_code, exec_id=exec_id, order_id=order_id, request_id=request_id,
        exec_type=message.exec_type[:2], ord_status=message.ord_status[:2],
        cl_ord_id=message.cl_ord_id[:64], orig_cl_ord_id=message.orig_cl_ord_id[:64],
        venue_order_id=message.order_id[:64], ord_status_req_id=message.ord_status_req_id[:64],
        ord_rej_reason=message.ord_rej_reason[:8], exec_ref_id=message.get(19)[:64],
        last_liquidity=message.get(851)[:2], commission_type=message.get(13)[:2],
        text=message.text[:200], transact_time=message.timestamp(60),
        msg_seq_num=message.seq_num or None, poss_dup=message.poss_dup, raw=message.raw,
        flag="; ".join(filter(None, [flag, execution_report_unknown_values(message),
                                     *problems]))[:200],
        **decimals,
    )
    # Inserted first, looked up only on a conflict (a repeat is rare; a lookup before every
    # insert was a statement of each report's dozen): the unique ExecID decides, whether
    # the repeat came long ago or on another thread a moment ago.
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        seen = ExecutionReport.objects.filter(venue_id=venue_code, exec_id=exec_id).exclude(
            exec_type=ORDER_STATUS_EXEC_TYPE).first()
        if seen is None:  # the conflict was some other constraint: not ours to hide
            raise
        return seen, False
    return report, True


def execution_report_flag(report: ExecutionReport, why: str) -> None:
    report.flag = "; ".join(filter(None, [report.flag, why]))[:200]
    report.save(update_fields=["flag"])


def commission_fee(report: ExecutionReport) -> Decimal | None:
    """The trade's fee in the instrument's currency: Commission (12) by CommType (13): 3
    absolute (the venues' contract; also when 13 is absent), 1 per unit. Another type is
    kept on the report and not turned into a fee."""
    if report.commission is None:
        return None
    if report.commission_type in ("", "3"):
        return report.commission
    if report.commission_type == "1" and report.last_quantity is not None:
        with localcontext(EXACT):
            fee = (report.commission * report.last_quantity).quantize(
                Decimal(1).scaleb(-MONEY_DIGITS["decimal_places"]))
        return fee if fits(fee, MONEY_DIGITS) else None
    return None
