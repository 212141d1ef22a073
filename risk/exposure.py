"""What an account has at stake, read from the books (orders, their pending replaces, their
fills) under the account's admission lock. Nothing here is a second copy that could drift.

An open order counts with what is left of it (a routed one as its parent, whose figures are
its children's); one waiting for a replace counts with the
larger of its quantity now and the one asked for, since the venue may accept either.
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest

from dispatch.models import RequestKind, RequestState, VenueRequest
from executions.models import Fill, FillState, Position
from omsproject.decimals import QUANTITY_DIGITS
from orders.models import TERMINAL_STATUSES, Order, Side
from risk.models import Admission

ZERO = Decimal(0)
_QTY = DecimalField(**QUANTITY_DIGITS)
_NOTIONAL = DecimalField(max_digits=30, decimal_places=8)


def _open_orders(account: str):
    pending_quantity = Subquery(
        VenueRequest.objects.filter(
            order=OuterRef("pk"), kind=RequestKind.MODIFY,
            state__in=[RequestState.QUEUED, RequestState.SENDING],
        ).order_by("-id").values("quantity")[:1]
    )
    # A routed order counts once, as its parent (its children's quantities are its own).
    return (Order.objects.filter(account_id=account, parent__isnull=True)
            .exclude(status__in=TERMINAL_STATUSES)
            .annotate(open_quantity=ExpressionWrapper(
                Greatest(F("quantity"), Coalesce(pending_quantity, F("quantity")))
                - F("filled_quantity"), output_field=_QTY)))


def open_quantities(account: str, symbol: str) -> tuple[Decimal, Decimal]:
    """(open BUY quantity, open SELL quantity) of the account's orders in the symbol."""
    totals = _open_orders(account).filter(symbol=symbol).aggregate(
        buy=Sum("open_quantity", filter=Q(side=Side.BUY)),
        sell=Sum("open_quantity", filter=Q(side=Side.SELL)),
    )
    return totals["buy"] or ZERO, totals["sell"] or ZERO


def filled_position(account: str, symbol: str) -> Decimal:
    """Net filled quantity, as the account's position in the symbol stands (executions'
    Position: every booked fill, busts and corrections included)."""
    net = (Position.objects.filter(account_id=account, symbol=symbol)
           .values_list("net_quantity", flat=True).first())
    return net or ZERO


def reserved_notional(account: str) -> Decimal:
    """What the account's open orders would cost if they filled at the price each was
    admitted at (its limit or stop price; for a MARKET order, the market's then)."""
    admitted = Subquery(Admission.objects.filter(order_id=OuterRef("pk")).values("unit_price")[:1])
    unit = Coalesce(admitted, F("limit_price"), F("stop_price"), Value(ZERO))
    total = _open_orders(account).annotate(
        order_notional=ExpressionWrapper(F("open_quantity") * unit, output_field=_NOTIONAL),
    ).aggregate(notional=Sum("order_notional"))
    return total["notional"] or ZERO


def used_notional_today(account: str, *, now: datetime | None = None) -> Decimal:
    """What the account's booked fills of today (UTC, by TransactTime) cost."""
    start = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    total = (Fill.objects.filter(account_id=account, state=FillState.APPLIED,
                                 transact_time__gte=start)
             .aggregate(notional=Sum(ExpressionWrapper(F("last_quantity") * F("last_price"),
                                                       output_field=_NOTIONAL))))
    return total["notional"] or ZERO
