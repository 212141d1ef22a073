"""The pre-trade checks, one function each, every one raising RiskRefused with its own code.
Pure: what they compare against is handed to them."""

from decimal import Decimal

from marketdata.selectors import VenueQuote as Quote
from orders.models import OrderType, Side
from risk.errors import RiskRefused
from risk.limits import Limits

HUNDRED = Decimal(100)


def check_kill_switch(limits: Limits, account: str) -> None:
    if limits.halted:
        raise RiskRefused("risk_account_halted",
                          f"Account {account} is halted: {limits.halt_reason or 'kill switch'}.",
                          details={"account": account})


def check_quantity(limits: Limits, quantity: Decimal) -> None:
    if limits.max_order_quantity is not None and quantity > limits.max_order_quantity:
        raise RiskRefused(
            "risk_max_order_quantity",
            f"Quantity {quantity} exceeds the per-order maximum of {limits.max_order_quantity}.",
            details={"quantity": [f"At most {limits.max_order_quantity}."]})


def check_notional(limits: Limits, notional: Decimal) -> None:
    if limits.max_order_notional is not None and notional > limits.max_order_notional:
        raise RiskRefused(
            "risk_max_order_notional",
            f"Notional {notional} exceeds the per-order maximum of {limits.max_order_notional}.",
            details={"quantity": [f"Quantity x price must be at most "
                                  f"{limits.max_order_notional}."]})


def band_edges(limits: Limits, quote: Quote) -> tuple[Decimal, Decimal] | None:
    if limits.price_band_percent is None or quote.mid is None:
        return None
    width = quote.mid * limits.price_band_percent / HUNDRED
    return quote.mid - width, quote.mid + width


def check_price_band(limits: Limits, *, order_type: str, limit_price: Decimal | None,
                     quote: Quote | None) -> None:
    """A limit price more than the band away from the market's mid is refused. Without a
    fresh quote there is nothing to compare with, and the check passes; stop orders rest
    away from the market by design and are not banded."""
    if order_type != OrderType.LIMIT or quote is None or limit_price is None:
        return
    edges = band_edges(limits, quote)
    if edges is not None and not edges[0] <= limit_price <= edges[1]:
        raise RiskRefused(
            "risk_price_band",
            f"Limit price {limit_price} is outside {limits.price_band_percent}% of the "
            f"market's mid {quote.mid.normalize()} ({edges[0].normalize()} to "
            f"{edges[1].normalize()}).",
            details={"limitPrice": [f"Between {edges[0].normalize()} and "
                                    f"{edges[1].normalize()}."]})


def market_unit_price(limits: Limits, *, side: str, quote: Quote | None) -> Decimal:
    """What a MARKET order may cost a unit: the far side of the market, widened by the band
    (the worst price it may sweep to). Without a fresh quote it cannot be valued: refused."""
    far = None if quote is None else (quote.ask if side == Side.BUY else quote.bid)
    if far is None:
        raise RiskRefused(
            "risk_no_market_price",
            "A MARKET order needs a fresh market price to be valued, and there is none.",
            details={"orderType": ["Use a LIMIT order, or wait for market data."]})
    if limits.price_band_percent is None:
        return far
    return far * (HUNDRED + limits.price_band_percent) / HUNDRED


def check_position(limits: Limits, *, side: str, quantity: Decimal, position: Decimal,
                   open_buy: Decimal, open_sell: Decimal) -> None:
    """The position if every open order on this side filled, this one included."""
    if limits.max_position is None:
        return
    worst = position + open_buy + quantity if side == Side.BUY else \
        position - open_sell - quantity
    if abs(worst) > limits.max_position:
        raise RiskRefused(
            "risk_max_position",
            f"The position could reach {worst.normalize()}, beyond the maximum of "
            f"{limits.max_position} either way (filled {position.normalize()}, open buys "
            f"{open_buy.normalize()}, open sells {open_sell.normalize()}).",
            details={"quantity": ["Too large for the position limit."]})


def check_buying_power(limits: Limits, *, notional: Decimal, reserved: Decimal,
                       used: Decimal) -> None:
    if limits.buying_power is None:
        return
    left = limits.buying_power - reserved - used
    if notional > left:
        raise RiskRefused(
            "risk_buying_power",
            f"Notional {notional.normalize()} exceeds the buying power left, "
            f"{max(left, Decimal(0)).normalize()} (limit {limits.buying_power}, open orders "
            f"{reserved.normalize()}, fills today {used.normalize()}).",
            details={"quantity": ["Too large for the buying power left."]})


def check_rate(limits: Limits, *, admitted_last_second: int) -> None:
    if limits.max_orders_per_second is not None and \
            admitted_last_second >= limits.max_orders_per_second:
        raise RiskRefused(
            "risk_order_rate",
            f"More than {limits.max_orders_per_second} orders a second for this account.",
            details={})


def check_duplicate(limits: Limits, *, seen_within_window: bool) -> None:
    if seen_within_window:
        raise RiskRefused(
            "risk_duplicate_order",
            f"The account sent an order with the same terms in the last "
            f"{limits.duplicate_window_seconds} s.",
            details={})
