"""Decimal shapes shared by every app that stores quantities and prices, and the one way
they are written out (API, FIX, audit data): exact, without trailing zeros."""

from decimal import Decimal

QUANTITY_DIGITS = {"max_digits": 18, "decimal_places": 6}
PRICE_DIGITS = {"max_digits": 18, "decimal_places": 8}


def decimal_text(value: Decimal | None) -> str | None:
    """320.50 -> "320.5", 1E+1 -> "10": the same number always reads the same."""
    return None if value is None else format(value.normalize(), "f")
