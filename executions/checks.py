"""The books' invariants (DESIGN.md, "Fills add up"), checked from the database: by unit
tests after traffic, by the system tests after faults, by an operator at a shell.

`books_problems()` is empty when

1. every order's cumQty equals the sum of its applied fills (not busted, not quarantined)
   and is at most its quantity, and its avgPx is their weighted mean (to a price's 8
   places, half to even; none when nothing is filled);
   a routed order (a parent) has no fills of its own: its cumQty is the sum of its
   children's, its avgPx their fills' weighted mean, and at most its quantity;
2. every position equals its applied fills replayed in booking order (net quantity,
   average cost, realized P&L, fees: executions/pnl.py), starting from the figures
   retention carried forward for the fills it folded in (executions/services/carry.py),
   and every account and symbol with applied fills has its position.

Orders are read through the Fill model's foreign key, so this app does not import the
orders app above it.
"""

from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum

from executions import pnl
from executions.models import Fill, FillState, Position
from executions.services.positions import carried_book
from omsproject.decimals import MONEY_DIGITS

_APPLIED = Q(fills__state=FillState.APPLIED)
# An order sent as it is, not split (routing.Policy.DIRECTED: routing sits above this app).
_DIRECTED = "DIRECTED"
_MONEY = DecimalField(max_digits=MONEY_DIGITS["max_digits"],
                      decimal_places=MONEY_DIGITS["decimal_places"])


def order_problems() -> list[str]:
    Order = Fill._meta.get_field("order").related_model  # noqa: N806 (a model class)
    rows = (
        Order.objects.order_by().filter(routing=_DIRECTED)
        .annotate(fills_quantity=Sum("fills__last_quantity", filter=_APPLIED),
                  fills_notional=Sum(F("fills__last_quantity") * F("fills__last_price"),
                                     filter=_APPLIED, output_field=_MONEY))
        .filter(Q(fills_quantity__isnull=False) | Q(filled_quantity__gt=0))
        .values_list("pk", "quantity", "filled_quantity", "average_price", "fills_quantity",
                     "fills_notional")
    )
    problems = []
    for pk, quantity, cum, average, fills_quantity, notional in rows.iterator():
        fills_quantity = fills_quantity or Decimal(0)
        if cum != fills_quantity:
            problems.append(f"order {pk}: cumQty {cum} but its fills add up to {fills_quantity}")
        if cum > quantity:
            problems.append(f"order {pk}: cumQty {cum} is more than its quantity {quantity}")
        expected = pnl.average_price(fills_quantity, notional or Decimal(0))
        if average != expected and not (expected is None and not cum):
            problems.append(f"order {pk}: avgPx {average} but its fills' mean is {expected}")
    return problems


def parent_problems() -> list[str]:
    Order = Fill._meta.get_field("order").related_model  # noqa: N806 (a model class)
    children_fills = Q(children__fills__state=FillState.APPLIED)
    rows = (
        Order.objects.order_by().exclude(routing=_DIRECTED)
        .annotate(fills_quantity=Sum("children__fills__last_quantity", filter=children_fills),
                  fills_notional=Sum(F("children__fills__last_quantity")
                                     * F("children__fills__last_price"),
                                     filter=children_fills, output_field=_MONEY))
        .values_list("pk", "quantity", "filled_quantity", "average_price", "fills_quantity",
                     "fills_notional")
    )
    problems = []
    for pk, quantity, cum, average, fills_quantity, notional in rows.iterator():
        fills_quantity = fills_quantity or Decimal(0)
        children_cum = sum(Order.objects.filter(parent_id=pk)
                           .values_list("filled_quantity", flat=True), Decimal(0))
        if not cum == fills_quantity == children_cum:
            problems.append(f"parent {pk}: cumQty {cum}, its children's {children_cum}, "
                            f"their fills' {fills_quantity}")
        if cum > quantity:
            problems.append(f"parent {pk}: cumQty {cum} is more than its quantity {quantity}")
        expected = pnl.average_price(fills_quantity, notional or Decimal(0))
        if average != expected and not (expected is None and not cum):
            problems.append(f"parent {pk}: avgPx {average} but its children's fills' mean is "
                            f"{expected}")
    return problems


def position_problems() -> list[str]:
    positions = {(p.account_id, p.symbol): p for p in Position.objects.order_by("id")}
    books: dict[tuple[str, str], pnl.Book] = {
        key: carried_book(position) for key, position in positions.items()}
    fills = (Fill.objects.filter(state=FillState.APPLIED)
             .order_by("account_id", "symbol", "id")
             .values_list("id", "account_id", "symbol", "side", "last_quantity", "last_price",
                          "fee"))
    for pk, account, symbol, side, quantity, price, fee in fills.iterator():
        key = (account, symbol)
        position = positions.get(key)
        if position is not None and pk <= position.carried_through:
            continue  # in its carried figures
        books[key] = pnl.step(books.get(key, pnl.Book()), quantity=pnl.signed(side, quantity),
                              price=price, fee=fee)
    problems = []
    seen = set()
    for key, position in positions.items():
        seen.add(key)
        expected = books.get(key, pnl.Book())
        held = (position.net_quantity, position.average_cost, position.realized_pnl,
                position.fees)
        wanted = (expected.net, expected.average_cost, expected.realized, expected.fees)
        if held != wanted:
            problems.append(f"position {key[0]} {key[1]}: (net, average cost, realized, fees) "
                            f"{held}, but its fills make {wanted}")
    for key in books.keys() - seen:
        problems.append(f"position {key[0]} {key[1]}: fills but no position")
    return problems


def books_problems() -> list[str]:
    return order_problems() + parent_problems() + position_problems()


def assert_books_add_up() -> None:
    problems = books_problems()
    assert not problems, "the books do not add up:\n" + "\n".join(problems)
