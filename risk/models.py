"""Pre-trade risk: the limits operators set (with their audit trail), and the little state
admission needs of its own. What an account has at stake (open orders, positions, fills) is
not kept here a second time: it is read from the books, under the account's lock.
"""

from django.db import models

from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS

NOTIONAL_DIGITS = {"max_digits": 24, "decimal_places": 8}
GLOBAL = "*"  # the account code of the defaults every account inherits


class RiskLimits(models.Model):
    """One account's limits, or (account GLOBAL) everyone's defaults. An empty field
    inherits: the account's from the defaults, the defaults' from settings."""

    account = models.CharField(max_length=64, primary_key=True,
                               help_text='An account code, or "*" for the defaults.')
    max_order_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    max_order_notional = models.DecimalField(**NOTIONAL_DIGITS, null=True, blank=True)
    max_position = models.DecimalField(
        **QUANTITY_DIGITS, null=True, blank=True,
        help_text="Largest net position per symbol, long or short, counting open orders "
        "as if they filled.",
    )
    buying_power = models.DecimalField(
        **NOTIONAL_DIGITS, null=True, blank=True,
        help_text="Credit: the notional open orders may reserve plus what fills used today.",
    )
    max_orders_per_second = models.PositiveIntegerField(null=True, blank=True)
    duplicate_window_seconds = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Refuse an order with the same terms as one of the account's accepted "
        "this many seconds before (0: off).",
    )
    price_band_percent = models.DecimalField(
        max_digits=6, decimal_places=3, null=True, blank=True,
        help_text="A price more than this far from the market's mid is refused.",
    )
    halted = models.BooleanField(
        default=False, help_text="The account's kill switch: no new orders or replaces.")
    halt_reason = models.CharField(max_length=200, blank=True)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk limits"

    def __str__(self) -> str:
        return "defaults" if self.account == GLOBAL else self.account


class AccountRisk(models.Model):
    """An account's admission lock and its latest admissions (order rate, duplicates). Every
    admission of the account locks this row for update first, so two racing orders cannot
    both fit in what is left of a limit: what they are checked against (open orders,
    positions, fills) is read after the lock, from the books themselves."""

    account = models.CharField(max_length=64, primary_key=True)
    # [[unix seconds, fingerprint], ...] inside the longest window that matters.
    recent = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class Admission(models.Model):
    """The unit price an accepted order's notional is counted at while it is open: its
    limit (or stop) price, or for a MARKET order the market price it was admitted at."""

    order_id = models.UUIDField(primary_key=True)
    unit_price = models.DecimalField(**PRICE_DIGITS)


class RiskEvent(models.Model):
    """Every change to limits and kill switches: who, when, before and after."""

    account = models.CharField(max_length=64)
    actor = models.CharField(max_length=150)
    before = models.JSONField()
    after = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
