"""The limits that apply to an account: its own, else the defaults row ("*"), else settings."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from risk.models import GLOBAL, RiskLimits

LIMIT_FIELDS = ("max_order_quantity", "max_order_notional", "max_position", "buying_power",
                "max_orders_per_second", "duplicate_window_seconds", "price_band_percent")


def _setting_defaults() -> dict:
    return {
        "max_order_quantity": settings.OMS_MAX_ORDER_QUANTITY,
        "max_order_notional": settings.OMS_MAX_ORDER_NOTIONAL,
        "max_position": settings.OMS_RISK_MAX_POSITION,
        "buying_power": settings.OMS_RISK_BUYING_POWER,
        "max_orders_per_second": settings.OMS_RISK_MAX_ORDERS_PER_SECOND,
        "duplicate_window_seconds": settings.OMS_RISK_DUPLICATE_WINDOW_SECONDS,
        "price_band_percent": settings.OMS_RISK_PRICE_BAND_PERCENT,
    }


@dataclass(frozen=True)
class Limits:
    """None: no such limit."""

    max_order_quantity: Decimal | None
    max_order_notional: Decimal | None
    max_position: Decimal | None
    buying_power: Decimal | None
    max_orders_per_second: int | None
    duplicate_window_seconds: int | None
    price_band_percent: Decimal | None
    halted: bool = False
    halt_reason: str = ""


def limits_for(account: str) -> Limits:
    rows = {row.account: row for row in RiskLimits.objects.filter(account__in=[account, GLOBAL])}
    values = _setting_defaults()
    for scope in (GLOBAL, account):
        row = rows.get(scope)
        if row is None:
            continue
        for field in LIMIT_FIELDS:
            if getattr(row, field) is not None:
                values[field] = getattr(row, field)
    own = rows.get(account)
    return Limits(**values, halted=bool(own and own.halted),
                  halt_reason=own.halt_reason if own else "")
