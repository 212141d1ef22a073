"""Market data over the order session (docs/fix.md, "Market data"): V MarketDataRequest in,
W MarketDataSnapshotFullRefresh and Y MarketDataRequestReject out.

* 263=0 is one W per symbol; 263=1 is one W per symbol at once, then another whenever that
  symbol's book or last trade changed, at most every 200 ms per subscription and symbol;
  263=2 ends the subscription named by 262 (no answer).
* A W carries 262, 55 and the entries: bids (269=0) and offers (269=1) best first, each with
  270, 271 and 290 MDEntryPositionNo (1 = best; FIX 4.4's field for the level), then the last
  trade (269=2, 270 and, when known, 271). 264 MarketDepth 0 is the venue's whole book.
* Y (262, 281, 58) for what the venue cannot serve: 281=0 a symbol it has no market for and
  no reference price (one Y per such symbol; the request's other symbols are served),
  1 a MDReqID already subscribed in the session, 4 a 263 other than 0-2, 5 a 264 below 0,
  6 an incremental 265, 8 an entry type other than 0, 1 and 2.
* Subscriptions belong to their session: a logout ends them, and so does a reset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from exchange import fix_fields as f
from exchange.market import SymbolMarket, decimal_text
from exchange.reports import Fields, Report

MIN_INTERVAL_NS = 200_000_000
SNAPSHOT, SUBSCRIBE, UNSUBSCRIBE = "0", "1", "2"
BID, OFFER, TRADE = "0", "1", "2"

REJ_UNKNOWN_SYMBOL = "0"
REJ_DUPLICATE_MD_REQ_ID = "1"
REJ_SUBSCRIPTION_TYPE = "4"
REJ_MARKET_DEPTH = "5"
REJ_UPDATE_TYPE = "6"
REJ_ENTRY_TYPE = "8"
REJECT_WORDS = {
    REJ_UNKNOWN_SYMBOL: "UNKNOWN_SYMBOL", REJ_DUPLICATE_MD_REQ_ID: "DUPLICATE_MDREQID",
    REJ_SUBSCRIPTION_TYPE: "UNSUPPORTED_SUBSCRIPTIONREQUESTTYPE",
    REJ_MARKET_DEPTH: "UNSUPPORTED_MARKETDEPTH", REJ_UPDATE_TYPE: "UNSUPPORTED_MDUPDATETYPE",
    REJ_ENTRY_TYPE: "UNSUPPORTED_MDENTRYTYPE",
}  # fmt: skip

MarketLookup = Callable[[str], SymbolMarket | None]


@dataclass(frozen=True, slots=True)
class MarketDataRequest:
    md_req_id: str
    subscription_type: str
    depth: str
    update_type: str
    entry_types: tuple[str, ...]
    symbols: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> MarketDataRequest:
        """From the message's text, repeating groups and all."""
        separator = f.SOH if f.SOH in text else "|"
        pairs = [part.partition("=") for part in text.split(separator)]
        found = [(int(tag), value) for tag, sep, value in pairs if sep and tag.isdigit()]
        first = dict(reversed(found))
        return cls(
            md_req_id=first.get(f.MD_REQ_ID, ""),
            subscription_type=first.get(f.SUBSCRIPTION_REQUEST_TYPE, ""),
            depth=first.get(f.MARKET_DEPTH, "0"),
            update_type=first.get(f.MD_UPDATE_TYPE, "0"),
            entry_types=tuple(value for tag, value in found if tag == f.MD_ENTRY_TYPE),
            symbols=tuple(value for tag, value in found if tag == f.SYMBOL),
        )


@dataclass(slots=True)
class Subscription:
    client: str
    md_req_id: str
    symbols: tuple[str, ...]
    depth: int
    entry_types: frozenset[str]
    sent_version: dict[str, int] = field(default_factory=dict)
    sent_ns: dict[str, int] = field(default_factory=dict)


def snapshot(client: str, md_req_id: str, market: SymbolMarket, depth: int,
             entry_types: frozenset[str]) -> Report:  # fmt: skip
    entries: list[Fields] = []
    for entry_type, levels in ((BID, market.bids), (OFFER, market.asks)):
        if entry_type in entry_types:
            for position, level in enumerate(levels[: depth or None], start=1):
                entries.append([(f.MD_ENTRY_TYPE, entry_type),
                                (f.MD_ENTRY_PX, decimal_text(level.price)),
                                (f.MD_ENTRY_SIZE, decimal_text(level.size)),
                                (f.MD_ENTRY_POSITION_NO, str(position))])  # fmt: skip
    if TRADE in entry_types and market.last_px is not None:
        entry = [(f.MD_ENTRY_TYPE, TRADE), (f.MD_ENTRY_PX, decimal_text(market.last_px))]
        if market.last_qty is not None:
            entry.append((f.MD_ENTRY_SIZE, decimal_text(market.last_qty)))
        entries.append(entry)
    fields: Fields = [(f.MD_REQ_ID, md_req_id), (f.SYMBOL, market.symbol)]
    if not entries:
        fields.append((f.NO_MD_ENTRIES, "0"))
    return Report(client, f.MARKET_DATA_SNAPSHOT, fields,
                  groups=[(f.NO_MD_ENTRIES, f.MD_ENTRY_TYPE, entries)] if entries else [])


def reject(client: str, md_req_id: str, reason: str, detail: str = "") -> Report:
    text = f"{REJECT_WORDS[reason]} {detail}".strip()
    return Report(client, f.MARKET_DATA_REQUEST_REJECT,
                  [(f.MD_REQ_ID, md_req_id), (f.MD_REQ_REJ_REASON, reason), (f.TEXT, text)])


class MarketDataDesk:
    def __init__(self) -> None:
        self._subscriptions: dict[tuple[str, str], Subscription] = {}

    def __len__(self) -> int:
        return len(self._subscriptions)

    def request(self, client: str, text: str, market_for: MarketLookup,
                now_ns: int) -> list[Report]:  # fmt: skip
        """The answers to a V: W and Y messages (none for an unsubscribe)."""
        request = MarketDataRequest.parse(text)
        md_req_id, kind = request.md_req_id, request.subscription_type
        key = (client, md_req_id)
        if kind == UNSUBSCRIBE:
            self._subscriptions.pop(key, None)
            return []
        problem = self._problem(request, key)
        if problem is not None:
            return [reject(client, md_req_id, *problem)]
        depth = int(request.depth)
        entry_types = frozenset(request.entry_types)
        answers, served = [], []
        for symbol in dict.fromkeys(request.symbols):
            market = market_for(symbol)
            if market is None:
                answers.append(reject(client, md_req_id, REJ_UNKNOWN_SYMBOL, symbol))
            else:
                answers.append(snapshot(client, md_req_id, market, depth, entry_types))
                served.append(market)
        if kind == SUBSCRIBE and served:
            self._subscriptions[key] = Subscription(
                client, md_req_id, tuple(m.symbol for m in served), depth, entry_types,
                sent_version={m.symbol: m.version for m in served},
                sent_ns={m.symbol: now_ns for m in served})  # fmt: skip
        return answers

    def _problem(self, request: MarketDataRequest, key: tuple[str, str]) -> tuple[str, str] | None:
        if request.subscription_type not in (SNAPSHOT, SUBSCRIBE):
            return REJ_SUBSCRIPTION_TYPE, request.subscription_type
        if request.subscription_type == SUBSCRIBE and key in self._subscriptions:
            return REJ_DUPLICATE_MD_REQ_ID, request.md_req_id
        if not request.depth.isdigit():
            return REJ_MARKET_DEPTH, request.depth
        if request.update_type != "0":
            return REJ_UPDATE_TYPE, request.update_type
        unsupported = [kind for kind in request.entry_types if kind not in (BID, OFFER, TRADE)]
        if unsupported:
            return REJ_ENTRY_TYPE, ",".join(unsupported)
        if not request.symbols:
            return REJ_UNKNOWN_SYMBOL, "no symbol requested"
        return None

    def due(self, market_for: MarketLookup, now_ns: int) -> list[Report]:
        """The updates due now: symbols that changed since their last W, 200 ms ago or more."""
        updates = []
        for sub in self._subscriptions.values():
            for symbol in sub.symbols:
                market = market_for(symbol)
                if (market is None or market.version == sub.sent_version[symbol]
                        or now_ns - sub.sent_ns[symbol] < MIN_INTERVAL_NS):  # fmt: skip
                    continue
                updates.append(snapshot(sub.client, sub.md_req_id, market, sub.depth,
                                        sub.entry_types))  # fmt: skip
                sub.sent_version[symbol], sub.sent_ns[symbol] = market.version, now_ns
        return updates

    def drop_client(self, client: str) -> None:
        for key in [key for key in self._subscriptions if key[0] == client]:
            del self._subscriptions[key]

    def clear(self) -> None:
        self._subscriptions.clear()

    def as_json(self) -> list[dict[str, object]]:
        return [{"clientCompId": s.client, "mdReqId": s.md_req_id, "symbols": list(s.symbols),
                 "depth": s.depth, "entryTypes": sorted(s.entry_types)}
                for s in self._subscriptions.values()]  # fmt: skip

