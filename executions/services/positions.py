"""Positions move with their fills, in the fill's transaction, under the position's row
lock (executions/locks.py): a fill booked is a step of average cost (executions/pnl.py); a
bust or a correction rebuilds the position from its fills as they now stand, after the
figures retention carried forward (executions/services/carry.py)."""

from executions import pnl
from executions.locks import lock_position
from executions.models import Fill, FillState, Position

_FIGURES = ["net_quantity", "average_cost", "realized_pnl", "fees", "updated_at"]


def _store(position: Position, book: pnl.Book) -> Position:
    position.net_quantity = book.net
    position.average_cost = book.average_cost
    position.realized_pnl = book.realized
    position.fees = book.fees
    position.save(update_fields=_FIGURES)
    return position


def _book_of(position: Position) -> pnl.Book:
    return pnl.Book(net=position.net_quantity, average_cost=position.average_cost,
                    realized=position.realized_pnl, fees=position.fees)


def position_apply_fill(*, fill: Fill) -> Position:
    """One more applied fill for its account and symbol."""
    position = lock_position(account_code=fill.account_id, symbol=fill.symbol)
    return _store(position, pnl.step(
        _book_of(position), quantity=pnl.signed(fill.side, fill.last_quantity),
        price=fill.last_price, fee=fill.fee))


def position_fills(*, account_code: str, symbol: str, after: int = 0):
    """The applied fills behind a position with ids above `after`, in the order they were
    booked (their ids: a fill is inserted under the position's lock)."""
    return Fill.objects.filter(account_id=account_code, symbol=symbol, id__gt=after,
                               state=FillState.APPLIED).order_by("id")


def carried_book(position: Position) -> pnl.Book:
    """The figures of the fills retention folded into the position (flat before any)."""
    return pnl.Book(net=position.carried_net_quantity,
                    average_cost=position.carried_average_cost,
                    realized=position.carried_realized_pnl, fees=position.carried_fees)


def position_book_from_fills(*, account_code: str, symbol: str) -> pnl.Book:
    """What the position's fills add up to: its carried figures, then its applied fills
    after them, in booking order."""
    position = Position.objects.filter(account_id=account_code, symbol=symbol).first()
    if position is None:
        return pnl.replay(position_fills(account_code=account_code, symbol=symbol)
                          .values_list("side", "last_quantity", "last_price", "fee"))
    return pnl.replay(
        position_fills(account_code=account_code, symbol=symbol,
                       after=position.carried_through)
        .values_list("side", "last_quantity", "last_price", "fee"),
        start=carried_book(position))


def position_rebuild(*, account_code: str, symbol: str) -> Position:
    """A fill was busted or corrected: the position is what its fills now add up to."""
    position = lock_position(account_code=account_code, symbol=symbol)
    return _store(position, position_book_from_fills(account_code=account_code, symbol=symbol))


def position_lock_for_fill(*, account_code: str, symbol: str) -> Position:
    """Taken before a fill row is inserted, so that fill ids follow booking order."""
    return lock_position(account_code=account_code, symbol=symbol)
