"""Reads of the executions app: fills and positions as a user may see them, instruments."""

from collections import Counter

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from executions.models import Fill, FillKind, FillTally, Instrument, Position
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


def fill_counts() -> Counter:
    """Counter({(venue, "quarantined:<reason>" or "reconciled"): fills ever}): those still
    here, each count read through its partial index (fill_quarantined, fill_reconciled: rare
    rows), plus those retention removed (FillTally). Read in one snapshot (metrics/sql.py)."""
    counts: Counter = Counter()
    for venue, name, count in FillTally.objects.values_list("venue_id", "name", "count"):
        counts[(venue, name)] += count
    quarantined = (Fill.objects.exclude(quarantine_reason="").order_by()
                   .values_list("venue_id", "quarantine_reason").annotate(n=Count("*")))
    for venue, reason, n in quarantined:
        counts[(venue, f"quarantined:{reason}")] += n
    reconciled = (Fill.objects.filter(kind=FillKind.RECONCILED).order_by()
                  .values_list("venue_id").annotate(n=Count("*")))
    for venue, n in reconciled:
        counts[(venue, "reconciled")] += n
    return counts
