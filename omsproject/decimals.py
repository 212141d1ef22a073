"""Decimal shapes shared by every app that stores quantities and prices, and the one way
they are written out (API, FIX, audit data): exact, without trailing zeros."""

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

QUANTITY_DIGITS = {"max_digits": 18, "decimal_places": 6}
PRICE_DIGITS = {"max_digits": 18, "decimal_places": 8}
# Money (P&L, fees): a quantity (6 places) times a price difference (8 places) is exact in
# 14 places, with room for 22 integer digits.
MONEY_DIGITS = {"max_digits": 36, "decimal_places": 14}

# Products of an 18-digit quantity and an 18-digit price need 36 significant digits; the
# default context (28) would round them silently. Every sum and product of quantities,
# prices and money is done in this context, so it is exact.
EXACT = Context(prec=80)


def decimal_text(value: Decimal | None) -> str | None:
    """320.50 -> "320.5", 1E+1 -> "10": the same number always reads the same."""
    return None if value is None else format(value.normalize(), "f")


def decimal_places(value: Decimal) -> int:
    """How many decimals the number needs: 150.10 -> 1, 1E+2 -> 0."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fits(value: Decimal, digits: dict) -> bool:
    """Whether a DecimalField of these digits stores the value exactly (PostgreSQL rounds
    extra decimals silently and refuses extra integer digits)."""
    if not value.is_finite():
        return False
    places = decimal_places(value)
    integer_digits = max(0, value.normalize().adjusted() + 1)
    return places <= digits["decimal_places"] and (
        integer_digits <= digits["max_digits"] - digits["decimal_places"])


def quantize_price(value: Decimal) -> Decimal:
    """A price (an average) to the 8 places a price is stored with, half to even."""
    with localcontext(EXACT):
        return value.quantize(Decimal(1).scaleb(-PRICE_DIGITS["decimal_places"]),
                              rounding=ROUND_HALF_EVEN)
