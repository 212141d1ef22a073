"""An order's terms (what a client sets on it) and whether they make a tradable order."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from omsproject.decimals import decimal_text
from omsproject.errors import InvalidInput
from orders.models import OrderType


@dataclass(frozen=True, kw_only=True)
class OrderTerms:
    """What a client can set on an order; the part idempotency and validation look at."""

    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str

    def fingerprint(self, *, venue_code: str) -> str:
        canonical = {
            "symbol": self.symbol,
            "side": self.side,
            "orderType": self.order_type,
            "quantity": decimal_text(self.quantity),
            "limitPrice": decimal_text(self.limit_price),
            "stopPrice": decimal_text(self.stop_price),
            "timeInForce": self.time_in_force,
            "venue": venue_code,
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


_PRICES_BY_TYPE = {
    OrderType.MARKET: (False, False),
    OrderType.LIMIT: (True, False),
    OrderType.STOP: (False, True),
    OrderType.STOP_LIMIT: (True, True),
}


def order_terms_validate(*, terms: OrderTerms) -> None:
    """Raise InvalidInput (field-level) if the terms are not a tradable order. Limits (size,
    notional, position, ...) are pre-trade risk's, checked through hooks.py."""
    errors: dict[str, list[str]] = {}
    needs_limit, needs_stop = _PRICES_BY_TYPE[terms.order_type]
    for field, needed, given in (
        ("limit_price", needs_limit, terms.limit_price),
        ("stop_price", needs_stop, terms.stop_price),
    ):
        if needed and given is None:
            errors[field] = [f"Required for {terms.order_type} orders."]
        elif not needed and given is not None:
            errors[field] = [f"Not allowed for {terms.order_type} orders."]
        elif given is not None and given <= 0:
            errors[field] = ["Must be greater than zero."]
    if terms.quantity <= 0:
        errors["quantity"] = ["Must be greater than zero."]
    if errors:
        raise InvalidInput("The order is invalid; see details.", details=errors)


def terms_fields(terms: OrderTerms) -> dict:
    """The terms as an Order's fields."""
    return {"symbol": terms.symbol, "side": terms.side, "order_type": terms.order_type,
            "quantity": terms.quantity, "limit_price": terms.limit_price,
            "stop_price": terms.stop_price, "time_in_force": terms.time_in_force}
