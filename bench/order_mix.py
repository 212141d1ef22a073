"""The load generator's orders: random but reproducible (with a seed) payloads, camelCase as
the API takes them, and valid changes to them for PATCH."""

from __future__ import annotations

import random


def _symbols(count: int) -> list[str]:
    """`count` distinct ticker-like symbols: AAA0, AAB0, ... (valid for the API's regex)."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    for n in range(count):
        a, rest = divmod(n, 26 * 26)
        b, c = divmod(rest, 26)
        out.append(f"{letters[a % 26]}{letters[b]}{letters[c]}{a // 26}")
    return out


class OrderMix:
    """Random but reproducible (with a seed) order payloads, camelCase as the API takes them."""

    def __init__(self, *, run_id: str, accounts: int, symbols: int, venue: str | None,
                 seed: int | None):
        self.run_id = run_id
        self.accounts = [f"ACC-{n}" for n in range(accounts)]
        self.symbols = _symbols(symbols)
        # A stable reference price per symbol, so prices look like a market, not noise.
        rng = random.Random(seed)
        self.ref_price = {s: rng.uniform(5, 500) for s in self.symbols}
        # One venue, or several ("A,B,C") taken in turn, order by order.
        self.venues = [v for v in (venue or "").split(",") if v]
        self.rng = random.Random(None if seed is None else seed + 1)
        self.sequence = 0

    def _price(self, symbol: str) -> str:
        return f"{self.ref_price[symbol] * self.rng.uniform(0.97, 1.03):.2f}"

    def new_order(self) -> dict:
        rng = self.rng
        self.sequence += 1
        symbol = rng.choice(self.symbols)
        roll = rng.random()
        order_type = "LIMIT" if roll < 0.70 else "MARKET" if roll < 0.95 else "STOP"
        body = {
            "clientOrderId": f"{self.run_id}-{self.sequence}",
            "accountId": rng.choice(self.accounts),
            "symbol": symbol,
            "side": rng.choice(("BUY", "SELL")),
            "orderType": order_type,
            "quantity": rng.choice((1, 5, 10, 25, 50, 100, 200, 500, 1000)),
            "timeInForce": "DAY" if rng.random() < 0.6 else "GTC",
        }
        if order_type == "LIMIT":
            body["limitPrice"] = self._price(symbol)
        elif order_type == "STOP":
            body["stopPrice"] = self._price(symbol)
        if self.venues:
            body["venue"] = self.venues[self.sequence % len(self.venues)]
        return body

    def modification(self, order: dict) -> dict:
        """A valid change for this order's type: quantity, and its price when it has one."""
        change: dict = {"quantity": order["quantity"] + self.rng.choice((1, 5, 10))}
        if order["orderType"] == "LIMIT" and self.rng.random() < 0.5:
            change["limitPrice"] = self._price(order["symbol"])
        elif order["orderType"] == "STOP" and self.rng.random() < 0.5:
            change["stopPrice"] = self._price(order["symbol"])
        return change
