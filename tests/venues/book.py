"""A venue's order book for tests, over FIX tag dicts ({tag: value}): it answers D, G, F and
H as docs/fix.md says a venue does (the plain cases), remembers every ClOrdID it decided so
a resend gets the first decision again, and can fill, cancel or expire on its own. Shared
by the QuickFIX peer (peer.py) and the in-process venue (inproc.py); imports nothing of the
OMS."""

import itertools
import threading
from decimal import Decimal

Tags = dict[int, str]

# ExecIDs and OrderIDs are never reused by a venue, also across books in one test run (a
# reused ExecID is, rightly, the same report again to the OMS).
_EXEC_IDS = itertools.count(1)
_ORDER_IDS = itertools.count(1)


class PeerBook:
    def __init__(self, venue: str):
        self.venue = venue
        self.received: list[Tags] = []  # every application message, in arrival order
        self.silent = False  # receive and book, answer nothing
        self.reject_symbols: set[str] = set()  # NewOrderSingles for these are rejected
        # Called first with each message: answers of its own instead of the venue's rules
        # (the venue does not act on the message, nor remember its ClOrdID), or None.
        self.intercept = None
        self.orders: dict[str, dict] = {}  # by the order's first ClOrdID
        self._by_cl_ord_id: dict[str, str] = {}  # any accepted ClOrdID -> first ClOrdID
        self._decided: dict[str, list] = {}  # ClOrdID -> the answers it got
        # Every trade reported, by ExecID: the venue's trade log (docs/fix.md).
        self.trades: dict[str, dict] = {}
        self.lock = threading.RLock()

    # --- what the venue was sent ---

    def messages(self, msg_type: str | None = None) -> list[Tags]:
        with self.lock:
            return [m for m in self.received if msg_type is None or m[35] == msg_type]

    def order_for(self, cl_ord_id: str) -> dict | None:
        with self.lock:
            first = self._by_cl_ord_id.get(cl_ord_id)
            return self.orders.get(first) if first else None

    # --- answering ---

    def answer(self, tags: Tags) -> list[Tags]:
        with self.lock:
            self.received.append(tags)
            if self.intercept is not None and (own := self.intercept(tags)) is not None:
                return own
            cl = tags.get(11, "")
            if tags[35] in ("D", "G", "F") and cl in self._decided:
                answers = self._repeat(cl)
            else:
                answers = getattr(self, f"_on_{tags[35]}")(tags)
                if tags[35] in ("D", "G", "F"):
                    self._decided[cl] = answers
            return [] if self.silent else answers

    def _repeat(self, cl: str) -> list[Tags]:
        first = self._decided[cl]
        if first and first[0][35] == "8" and first[0][150] != "8":
            order = self.order_for(cl)
            return [self._report(order, cl, "I", order["status"], {58: "DUPLICATE_CLORDID"})]
        return [dict(answer, **{17: self._exec_id()}) if answer[35] == "8" else answer
                for answer in first]

    def _exec_id(self) -> str:
        return f"{self.venue}-E{next(_EXEC_IDS)}"

    def _report(self, order: dict | None, cl: str, exec_type: str, status: str,
                extra: dict | None = None) -> Tags:
        order = order or {}
        tags = {35: "8", 37: order.get("orderId", "NONE"), 17: self._exec_id(),
                150: exec_type, 39: status, 11: cl, 55: order.get("symbol", "?"),
                54: order.get("side", "1"), 38: str(order.get("qty", 0)),
                151: str(order.get("leaves", 0)), 14: str(order.get("cum", 0)),
                6: str(order.get("avg", 0))}
        if order.get("price"):
            tags[44] = order["price"]
        tags.update(extra or {})
        return {k: str(v) for k, v in tags.items()}

    def _on_D(self, tags: Tags) -> list[Tags]:
        cl = tags[11]
        if tags.get(55) in self.reject_symbols:
            return [self._report({"symbol": tags.get(55), "side": tags.get(54)}, cl, "8", "8",
                                 {103: "1", 58: "UNKNOWN_SYMBOL"})]
        qty = Decimal(tags[38])
        order = {"orderId": f"{self.venue}-{next(_ORDER_IDS)}", "symbol": tags.get(55),
                 "side": tags.get(54), "qty": qty, "leaves": qty, "cum": Decimal(0),
                 "avg": Decimal(0), "status": "0", "price": tags.get(44),
                 "tif": tags.get(59, "0"), "clOrdId": cl, "chain": [cl],
                 "secondary": tags.get(526)}
        self.orders[cl] = order
        self._by_cl_ord_id[cl] = cl
        return [self._report(order, cl, "0", "0")]

    def _cancel_reject(self, tags: Tags, reason: str) -> list[Tags]:
        order = self.order_for(tags.get(41, "")) or {}
        return [{35: "9", 37: order.get("orderId", "NONE"), 11: tags[11], 41: tags.get(41, ""),
                 39: order.get("status", "8"), 434: "1" if tags[35] == "F" else "2",
                 102: reason}]

    def _current(self, tags: Tags) -> dict | None:
        order = self.order_for(tags.get(41, ""))
        return order if order is not None and order["clOrdId"] == tags.get(41) else None

    def _on_G(self, tags: Tags) -> list[Tags]:
        order = self._current(tags)
        if order is None:
            return self._cancel_reject(tags, "1")
        if order["status"] not in ("0", "1"):
            return self._cancel_reject(tags, "0")
        if Decimal(tags[38]) <= order["cum"]:
            return self._cancel_reject(tags, "99")
        order["qty"] = Decimal(tags[38])
        order["leaves"] = order["qty"] - order["cum"]
        order["price"] = tags.get(44)
        self._accept_request(order, tags[11])
        return [self._report(order, tags[11], "5", order["status"], {41: tags[41]})]

    def _on_F(self, tags: Tags) -> list[Tags]:
        order = self._current(tags)
        if order is None:
            return self._cancel_reject(tags, "1")
        if order["status"] not in ("0", "1"):
            return self._cancel_reject(tags, "0")
        order["status"], order["leaves"] = "4", Decimal(0)
        self._accept_request(order, tags[11])
        return [self._report(order, tags[11], "4", "4", {41: tags[41]})]

    def _accept_request(self, order: dict, cl: str) -> None:
        order["clOrdId"] = cl
        order["chain"].append(cl)
        self._by_cl_ord_id[cl] = order["chain"][0]

    def _on_H(self, tags: Tags) -> list[Tags]:
        order = self.order_for(tags.get(11, ""))
        if order is None:
            return [self._report(None, tags.get(11, ""), "I", "8", {103: "5", 790: tags[790]})]
        return [self._report(order, order["clOrdId"], "I", order["status"], {790: tags[790]})]

    # --- the venue acting on its own ---

    def fill(self, cl_ord_id: str, quantity: Decimal, price: Decimal, *,
             liquidity: str | None = None, commission: Decimal | None = None,
             transact_time: str | None = None) -> Tags:
        """A trade (150=F) of the order, with 32/31 and the figures after it."""
        with self.lock:
            order = self.order_for(cl_ord_id)
            cum = order["cum"] + quantity
            order["avg"] = (order["avg"] * order["cum"] + price * quantity) / cum
            order["cum"], order["leaves"] = cum, order["qty"] - cum
            order["status"] = "2" if order["leaves"] == 0 else "1"
            extra = {32: str(quantity), 31: str(price)}
            if liquidity:
                extra[851] = liquidity
            if commission is not None:
                extra |= {12: str(commission), 13: "3"}
            if transact_time:
                extra[60] = transact_time
            report = self._report(order, order["clOrdId"], "F", order["status"], extra)
            self.trades[report[17]] = {"order": order["chain"][0], "qty": quantity,
                                       "px": price, "busted": False, "corrected": False}
            return report

    def _amend(self, exec_id: str, exec_type: str, quantity: Decimal, price: Decimal) -> Tags:
        trade = self.trades[exec_id]
        order = self.orders[trade["order"]]
        standing = [t for t in self.trades.values()
                    if t["order"] == trade["order"] and not t["busted"]]
        order["cum"] = sum((t["qty"] for t in standing), Decimal(0))
        order["avg"] = (sum((t["qty"] * t["px"] for t in standing), Decimal(0)) / order["cum"]
                        if order["cum"] else Decimal(0))
        if order["status"] in ("2", "4", "C") and order["leaves"] == 0:
            # Never reopened: a filled order no longer filled in full is cancelled.
            if order["status"] == "2" and order["cum"] < order["qty"]:
                order["status"] = "4"
            elif order["status"] == "4" and order["cum"] == order["qty"]:
                order["status"] = "2"
        else:
            order["leaves"] = order["qty"] - order["cum"]
            order["status"] = "2" if order["leaves"] == 0 else "1" if order["cum"] else "0"
        return self._report(order, order["clOrdId"], exec_type, order["status"],
                            {19: exec_id, 32: str(quantity), 31: str(price)})

    def bust(self, exec_id: str) -> Tags:
        """The venue cancels a trade (150=H, 19 = its ExecID)."""
        with self.lock:
            trade = self.trades[exec_id]
            trade["busted"] = True
            return self._amend(exec_id, "H", trade["qty"], trade["px"])

    def correct(self, exec_id: str, quantity: Decimal, price: Decimal) -> Tags:
        """The venue corrects a trade's quantity and price (150=G, 19 = its ExecID)."""
        with self.lock:
            trade = self.trades[exec_id]
            trade.update(qty=quantity, px=price, corrected=True)
            return self._amend(exec_id, "G", quantity, price)

    def cancel(self, cl_ord_id: str) -> Tags:
        with self.lock:
            order = self.order_for(cl_ord_id)
            order["status"], order["leaves"] = "4", Decimal(0)
            return self._report(order, order["clOrdId"], "4", "4")

    def expire_day_orders(self) -> list[Tags]:
        with self.lock:
            expired = []
            for order in self.orders.values():
                if order["tif"] == "0" and order["status"] in ("0", "1"):
                    order["status"], order["leaves"] = "C", Decimal(0)
                    expired.append(self._report(order, order["clOrdId"], "C", "C"))
            return expired
