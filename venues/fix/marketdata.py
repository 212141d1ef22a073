"""Market data on a venue's order session (docs/fix.md, "Market data"): what the holder asks
for (35=V) and what it does with the answers (35=W into the quote cache; 35=Y, and a 35=j
refusing the V, logged). Nothing here touches the database's order books or waits for them:

* QuickFIX's reading thread only parses a refresh and hands it over (`received`), so a
  venue's market data never holds up its execution reports;
* the quote thread writes refreshes to Redis (marketdata/quotes.py), the newest per symbol
  when several wait, and drops them if Redis is stuck: it is a cache;
* the subscriber thread sends the V: after each logon (OMS_MARKET_DATA_SYMBOLS and the
  symbols of the venue's open orders), for an order's symbol the first time one is sent
  in the session, and for a symbol someone found no quote for (a routed order: Redis's
  wanted set, looked at every WANTED_POLL_SECONDS). A V counts in the venue's rate limit like an order, so it goes with a slot
  from the same limiter (Outbox.own_slot), completed by its first answer.

A venue that never answers (or refuses every V) changes nothing on the order session.
"""

import itertools
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import quickfix as fix
import redis
from django.conf import settings
from django.db import close_old_connections, connection

from marketdata.quotes import Quote, QuoteStore
from venues.fix.codec import BEGIN_STRING, SOH

logger = logging.getLogger("venues.fix")

ENTRY_TYPES = ("0", "1", "2")  # bid, offer, trade
QUOTE_BACKLOG = 10_000  # refreshes waiting for Redis beyond this are dropped
_LOGON = object()
_STOP = None
# How often the subscriber looks for symbols someone found no quote for (marketdata/quotes.py
# WANTED_KEY): one Redis read a second a venue.
WANTED_POLL_SECONDS = 1.0
_WANTED = object()


def request_message(*, md_req_id: str, symbols: list[str], depth: int) -> fix.Message:
    """MarketDataRequest: snapshot plus updates, full refresh, bid/offer/trade."""
    message = fix.Message()
    message.getHeader().setField(fix.BeginString(BEGIN_STRING))
    message.getHeader().setField(fix.MsgType("V"))
    message.setField(262, md_req_id)
    message.setField(263, "1")
    message.setField(264, str(depth))
    message.setField(265, "0")
    for entry_type in ENTRY_TYPES:
        group = fix.Group(267, 269)
        group.setField(269, entry_type)
        message.addGroup(group)
    for symbol in symbols:
        group = fix.Group(146, 55)
        group.setField(55, symbol)
        message.addGroup(group)
    return message


def fix_time(value: str) -> datetime | None:
    for shape in ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"):
        try:
            return datetime.strptime(value, shape).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def quote_of(raw: str, *, venue_code: str) -> tuple[str, Quote | None]:
    """(MDReqID, the refresh as a Quote) from a 35=W as it travels. The quote is None when it
    is old news: a resend (PossDup) is as old as its OrigSendingTime, or unknown without."""
    header: dict[int, str] = {}
    body: dict[int, str] = {}
    entries: list[dict[int, str]] = []
    for pair in raw.split(SOH):
        tag_text, sep, value = pair.partition("=")
        if not sep or not tag_text.isdigit():
            continue
        tag = int(tag_text)
        if tag == 269:
            entries.append({269: value})
        elif entries and tag in (270, 271, 1023, 290):
            entries[-1].setdefault(tag, value)
        elif tag in (34, 43, 52, 122):
            header.setdefault(tag, value)
        else:
            body.setdefault(tag, value)
    md_req_id, symbol = body.get(262, ""), body.get(55, "")
    sent = fix_time(header.get(122, "")) if header.get(43) == "Y" else fix_time(header.get(52, ""))
    if not symbol or sent is None:
        return md_req_id, None
    levels: dict[str, list[tuple[Decimal, Decimal]]] = {"0": [], "1": []}
    last = last_size = None
    for entry in entries:
        price, size = _decimal(entry.get(270)), _decimal(entry.get(271))
        if entry[269] in levels and price is not None:
            levels[entry[269]].append((price, size if size is not None else Decimal(0)))
        elif entry[269] == "2" and price is not None:
            last, last_size = price, size
    return md_req_id, Quote(
        venue_code=venue_code, symbol=symbol, sent_at=sent, last=last, last_size=last_size,
        bids=tuple(sorted(levels["0"], key=lambda level: -level[0])),
        asks=tuple(sorted(levels["1"], key=lambda level: level[0])),
    )


def is_market_data(message: fix.Message) -> bool:
    """A W or Y, or a j that refuses a V: the feed's, not the order books'."""
    header = message.getHeader()
    msg_type = header.getField(35) if header.isSetField(35) else ""
    if msg_type in ("W", "Y"):
        return True
    return msg_type == "j" and message.isSetField(372) and message.getField(372) == "V"


class MarketDataFeed:
    def __init__(self, *, venue_code: str, session_id: fix.SessionID,
                 session: Callable[[], fix.Session | None],
                 last_sent_seq_num: Callable[[], int | None],
                 own_slot: Callable[[float], str], slot_answered: Callable[[str], None],
                 open_symbols: Callable[[], list[str]], store: QuoteStore):
        self.venue_code = venue_code
        self._session_id = session_id
        self._session = session
        self._last_sent_seq_num = last_sent_seq_num
        self._own_slot = own_slot
        self._slot_answered = slot_answered
        self._open_symbols = open_symbols
        self._store = store
        self._lock = threading.Lock()
        self._subscribed: set[str] = set()  # in this session (since the last logon)
        self._requests: queue.Queue = queue.Queue()
        self._quotes: queue.Queue = queue.Queue(maxsize=QUOTE_BACKLOG)
        self._pending: dict[str, str] = {}  # MDReqID -> its slot, until its first answer
        self._seq_req: dict[int, str] = {}  # MsgSeqNum of a V -> its MDReqID (a j names it)
        self._req_ids = itertools.count(1)
        self._prefix = f"MD-{venue_code}-{secrets.token_hex(3)}-"
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._subscribe_loop, daemon=True,
                             name=f"fix-md-subscribe-{venue_code}"),
            threading.Thread(target=self._quote_loop, daemon=True,
                             name=f"fix-md-quotes-{venue_code}"),
        ]
        self.dropped = 0  # refreshes dropped because the cache could not keep up

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._requests.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=5)

    # --- from the session's threads: cheap, no I/O ----------------------------------------

    def logged_on(self) -> None:
        """A new session: nothing is subscribed in it yet."""
        with self._lock:
            self._subscribed = set()
        self._requests.put(_LOGON)

    def order_sent(self, symbol: str) -> None:
        """An order for `symbol` was just written: subscribe if this session has not."""
        if not symbol:
            return
        with self._lock:
            if symbol in self._subscribed:
                return
            self._subscribed.add(symbol)
        self._requests.put(symbol)

    def received(self, message: fix.Message) -> None:
        """A W, a Y or a j refusing a V (QuickFIX's thread: parse, hand over, return)."""
        raw = message.toString()
        msg_type = message.getHeader().getField(35)
        if msg_type == "W":
            md_req_id, quote = quote_of(raw, venue_code=self.venue_code)
            self._answered(md_req_id)
            if quote is not None:
                try:
                    self._quotes.put_nowait(quote)
                except queue.Full:
                    self.dropped += 1
            return
        tags = _tags(raw)
        if msg_type == "Y":
            self._answered(tags.get(262, ""))
            logger.warning("venue %s refused market data request %s: reason %s %s",
                           self.venue_code, tags.get(262, ""), tags.get(281, ""),
                           tags.get(58, ""))
            return
        ref_seq = tags.get(45, "")
        md_req_id = tags.get(379, "")
        with self._lock:
            if md_req_id not in self._pending and ref_seq.isdigit():
                md_req_id = self._seq_req.get(int(ref_seq), md_req_id)
        self._answered(md_req_id)
        logger.warning("venue %s refused our MarketDataRequest %s (35=j, reason %s): %s",
                       self.venue_code, md_req_id, tags.get(380, ""), tags.get(58, ""))

    def _answered(self, md_req_id: str) -> None:
        with self._lock:
            slot = self._pending.pop(md_req_id, "")
        if slot:
            self._slot_answered(slot)  # a queue: completed on the wire writer's thread

    # --- the subscriber thread ----------------------------------------------------------------

    def _subscribe_loop(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    first = self._requests.get(timeout=WANTED_POLL_SECONDS)
                except queue.Empty:
                    first = _WANTED
                items = [first]
                while not self._requests.empty():
                    items.append(self._requests.get_nowait())
                if _STOP in items:
                    return
                try:
                    self._subscribe(self._wanted(items))
                except Exception:
                    logger.exception("venue %s: market data subscription failed",
                                     self.venue_code)
                    close_old_connections()
        finally:
            connection.close()

    def _wanted(self, items: list) -> list[str]:
        symbols = [item for item in items if isinstance(item, str)]
        if any(item is _WANTED or item is _LOGON for item in items):
            try:
                asked = self._store.wanted()
            except redis.RedisError:
                asked = set()
            with self._lock:
                new = asked - self._subscribed
                self._subscribed |= new
            symbols += sorted(new)
        if any(item is _LOGON for item in items):
            close_old_connections()
            at_logon = {*settings.OMS_MARKET_DATA_SYMBOLS, *self._open_symbols()}
            with self._lock:
                new = at_logon - self._subscribed
                self._subscribed |= new
            symbols += sorted(new)
        return list(dict.fromkeys(symbols))

    def _subscribe(self, symbols: list[str]) -> None:
        if not symbols:
            return
        slot = ""
        while not slot:
            session = self._session()
            if self._stopping.is_set() or session is None or not session.isLoggedOn():
                return  # the next logon asks again
            try:
                slot = self._own_slot(1.0)
            except redis.RedisError as exc:
                # No limiter, no send: dispatchers are held up the same way.
                logger.warning("venue %s: no rate-limit slot for market data: %r",
                               self.venue_code, exc)
                time.sleep(1.0)
        md_req_id = f"{self._prefix}{next(self._req_ids)}"
        with self._lock:
            self._pending[md_req_id] = slot
        message = request_message(md_req_id=md_req_id, symbols=symbols,
                                  depth=settings.OMS_MARKET_DATA_DEPTH)
        if not fix.Session.sendToTarget(message, self._session_id):
            with self._lock:
                self._pending.pop(md_req_id, None)  # its slot ages out: stricter, never looser
            return
        seq_num = self._last_sent_seq_num()
        if seq_num is not None:
            with self._lock:
                if len(self._seq_req) > 10_000:
                    self._seq_req.clear()
                self._seq_req[seq_num] = md_req_id
        logger.info("venue %s: market data requested for %s (%s)", self.venue_code,
                    ",".join(symbols), md_req_id)

    # --- the quote thread ---------------------------------------------------------------------

    def _quote_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                waiting = [self._quotes.get(timeout=0.5)]
            except queue.Empty:
                continue
            while not self._quotes.empty() and len(waiting) < 1000:
                waiting.append(self._quotes.get_nowait())
            newest: dict[str, Quote] = {}
            for quote in waiting:
                held = newest.get(quote.symbol)
                if held is None or quote.sent_at > held.sent_at:
                    newest[quote.symbol] = quote
            try:
                self._store.put(list(newest.values()))
            except redis.RedisError as exc:
                logger.warning("venue %s: %d quotes not cached: %r", self.venue_code,
                               len(newest), exc)
            except Exception:
                logger.exception("venue %s: caching quotes failed", self.venue_code)


def _tags(raw: str) -> dict[int, str]:
    tags: dict[int, str] = {}
    for pair in raw.split(SOH):
        tag, sep, value = pair.partition("=")
        if sep and tag.isdigit():
            tags.setdefault(int(tag), value)
    return tags
