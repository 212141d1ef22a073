"""Carried-forward figures: how retention may remove a position's old fills without the
position, or any later rebuild of it, changing.

A position's figures are a function of its applied fills in booking order (executions/
pnl.py), and a bust or correction rebuilds them from the fills (positions.py). Removing old
fills would make such a rebuild start from a partial history and get the position wrong.
So before retention removes fills it folds them in: the position's carried figures become
those of all its applied fills up to a fill id (`carried_through`), and from then on a
rebuild starts there and replays only the fills after it. The position's own figures do not
change. Fills at or below `carried_through` that stay (an order still open, or amended
recently) are in the carried figures too; a bust or correction of one of them is flagged
rather than rebuilt (fills.py): a trade older than the retention, amended since.
"""

from django.db.models import Max

from executions import pnl
from executions.locks import lock_position
from executions.models import Fill, FillState, Position
from executions.services.positions import carried_book, position_fills


def position_fold(*, account_code: str, symbol: str, through: int) -> Position:
    """Fold the position's applied fills with ids up to `through` into its carried figures,
    under its row lock (taken after the orders of those fills, as every fill does)."""
    position = lock_position(account_code=account_code, symbol=symbol)
    if through <= position.carried_through:
        return position
    fills = position_fills(account_code=account_code, symbol=symbol,
                           after=position.carried_through).filter(id__lte=through)
    book = pnl.replay(fills.values_list("side", "last_quantity", "last_price", "fee"),
                      start=carried_book(position))
    position.carried_through = through
    position.carried_net_quantity = book.net
    position.carried_average_cost = book.average_cost
    position.carried_realized_pnl = book.realized
    position.carried_fees = book.fees
    position.save(update_fields=["carried_through", "carried_net_quantity",
                                 "carried_average_cost", "carried_realized_pnl",
                                 "carried_fees"])
    return position


def fills_fold_for_orders(*, order_ids: list) -> int:
    """Fold every fill of these orders (and each earlier fill of the same positions) into
    the positions' carried figures, so that the orders' fills may go. Positions are locked
    in (account, symbol) order. Returns how many positions moved."""
    # Quarantined fills were never booked, so their ids say nothing of booking order.
    last = (Fill.objects.filter(order_id__in=order_ids).exclude(state=FillState.QUARANTINED)
            .order_by().values_list("account_id", "symbol").annotate(through=Max("id")))
    moved = 0
    for account, symbol, through in sorted(last):
        before = Position.objects.filter(account_id=account, symbol=symbol) \
            .values_list("carried_through", flat=True).first()
        if before is None or before >= through:
            continue  # no position: none of these fills was ever applied; or folded already
        position_fold(account_code=account, symbol=symbol, through=through)
        moved += 1
    return moved
