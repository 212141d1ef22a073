"""Reads of the executions app: fills and positions as a user may see them, instruments."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from executions.models import Fill, Instrument, Position
from omsproject.decimals import PRICE_DIGITS
from omsproject.scoping import visible_to


def instrument_price_decimals(symbol: str) -> int:
    found = Instrument.objects.filter(symbol=symbol).values_list("price_decimals",
                                                                 flat=True).first()
    return PRICE_DIGITS["decimal_places"] if found is None else found


def fills_visible_to(*, user: AbstractBaseUser) -> QuerySet[Fill]:
    """Operators see every fill; a client only the fills of accounts granted to it."""
    return visible_to(Fill.objects.all(), user=user)


def positions_visible_to(*, user: AbstractBaseUser) -> QuerySet[Position]:
    return visible_to(Position.objects.all(), user=user)
