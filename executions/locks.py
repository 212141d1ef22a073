"""Every row lock the executions app takes goes through here. A position is locked after
the order whose fill moves it (orders/services/locking.py), one position per report, so
two reports never wait for each other's position the other way round."""

from executions.models import Position


def lock_position(*, account_code: str, symbol: str) -> Position:
    """The account's position in the symbol, locked for the rest of the transaction;
    created (flat) the first time. Two first fills at once both insert: one wins, the other
    does nothing, and both then lock the one row."""
    found = Position.objects.select_for_update().filter(
        account_id=account_code, symbol=symbol).first()
    if found is not None:
        return found
    Position.objects.bulk_create([Position(account_id=account_code, symbol=symbol)],
                                 ignore_conflicts=True)
    return Position.objects.select_for_update().get(account_id=account_code, symbol=symbol)
