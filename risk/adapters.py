"""Risk's checks in the shape orders calls them (orders/services/hooks.py)."""

from orders.models import Order
from orders.services.intake import OrderTerms
from risk.admission import Proposal, risk_admit, risk_admit_child, risk_amend


def _proposal(*, account: str, venue: str | None, terms: OrderTerms) -> Proposal:
    return Proposal(account=account, venue=venue, symbol=terms.symbol, side=terms.side,
                    order_type=terms.order_type, quantity=terms.quantity,
                    limit_price=terms.limit_price, stop_price=terms.stop_price)


def admit_new_order(*, order_id, account: str, venue: str | None, terms: OrderTerms,
                    fingerprint: str) -> None:
    risk_admit(order_id=order_id, proposal=_proposal(account=account, venue=venue, terms=terms),
               fingerprint=fingerprint)


def admit_order_change(*, order: Order, after: OrderTerms) -> None:
    before = Proposal(account=order.account_id, venue=order.venue_id, symbol=order.symbol,
                      side=order.side, order_type=order.order_type, quantity=order.quantity,
                      limit_price=order.limit_price, stop_price=order.stop_price)
    risk_amend(before=before, after=_proposal(account=order.account_id, venue=order.venue_id,
                                              terms=after),
               filled=order.filled_quantity)


def admit_child(*, account: str, venue: str, terms: OrderTerms) -> None:
    risk_admit_child(proposal=_proposal(account=account, venue=venue, terms=terms))
