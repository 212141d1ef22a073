"""An independent FIX 4.4 acceptor for the OMS to talk to: QuickFIX set up here, sharing no
code with the OMS or the mock exchange, answering from a PeerBook. It can be told to stay
silent, to skip sequence numbers, or to drop the connection."""

import os
import socket
import sys
import threading
import time

import quickfix as fix

from tests.venues.book import PeerBook, Tags

SOH = "\x01"
HEADER = {8, 9, 10, 34, 35, 43, 49, 52, 56, 97, 122}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tags_of(message: fix.Message) -> Tags:
    tags = {}
    for pair in message.toString().split(SOH):
        tag, _, value = pair.partition("=")
        if tag.isdigit():
            tags.setdefault(int(tag), value)
    return tags


def message_of(tags: Tags) -> fix.Message:
    message = fix.Message()
    message.getHeader().setField(fix.BeginString("FIX.4.4"))
    message.getHeader().setField(fix.MsgType(tags[35]))
    for tag, value in tags.items():
        if tag not in HEADER:
            message.setField(tag, str(value))
    return message


class PeerVenue(fix.Application):
    """One acceptor session: venue CompID `venue`, client CompID `client`."""

    def __init__(self, *, venue: str = "XPEER", client: str = "OMS", port: int | None = None,
                 store_dir: str | None = None):
        super().__init__()
        # A file store, as a venue keeps: QuickFIX's memory store cannot resend across a
        # range whose first numbers it never used (a gap we make on purpose).
        import tempfile

        self.store_dir = store_dir or tempfile.mkdtemp(prefix="fix-peer-")
        self.venue, self.client = venue, client
        self.port = port or free_port()
        self.book = PeerBook(venue)
        self.admin_received: list[Tags] = []
        self.logons = 0
        self.session_id = fix.SessionID("FIX.4.4", venue, client)
        # Market data (docs/fix.md): every V received (its MDReqID, symbols, the V's tags),
        # the book each symbol is quoted with, and how the V is answered: "quote" (a W per
        # symbol), "reject" (35=Y), "business_reject" (35=j) or "silent".
        self.md_requests: list[dict] = []
        self.quotes: dict[str, dict] = {}
        self.md_mode = "quote"
        self.quotes_sent: list[str] = []
        self._acceptor = None
        self._lock = threading.Lock()

    def start(self) -> "PeerVenue":
        settings = fix.SessionSettings()
        defaults = fix.Dictionary()
        for key, value in {
            "ConnectionType": "acceptor", "StartTime": "00:00:00", "EndTime": "00:00:00",
            "NonStopSession": "Y", "UseDataDictionary": "Y",
            "DataDictionary": os.path.join(sys.prefix, "share", "quickfix", "FIX44.xml"),
            "SocketAcceptPort": str(self.port), "FileStorePath": self.store_dir, "ScreenLogShowEvents": os.environ.get("PEER_EVENTS", "N"),
            "ScreenLogShowIncoming": "N", "ScreenLogShowOutgoing": "N",
        }.items():
            defaults.setString(key, value)
        settings.set(defaults)
        settings.set(self.session_id, fix.Dictionary())
        self._acceptor = fix.SocketAcceptor(self, fix.FileStoreFactory(settings), settings,
                                            fix.ScreenLogFactory(settings))
        self._acceptor.start()
        return self

    def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.stop(True)
            self._acceptor = None

    def session(self) -> fix.Session:
        return fix.Session.lookupSession(self.session_id)

    def logged_on(self) -> bool:
        session = self.session()
        return session is not None and session.isLoggedOn()

    def send(self, tags: Tags) -> None:
        """Send a message of the venue's own (a fill, a cancel, an expiry)."""
        fix.Session.sendToTarget(message_of(tags), self.session_id)

    def messages(self, msg_type: str | None = None) -> list[Tags]:
        return self.book.messages(msg_type)

    def admin(self, msg_type: str) -> list[Tags]:
        with self._lock:
            return [m for m in self.admin_received if m[35] == msg_type]

    @staticmethod
    def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    # --- QuickFIX ---

    def onCreate(self, session_id): pass
    def onLogon(self, session_id): self.logons += 1
    def onLogout(self, session_id): pass
    def toAdmin(self, message, session_id): pass
    def toApp(self, message, session_id): pass

    def fromAdmin(self, message, session_id):
        with self._lock:
            self.admin_received.append(tags_of(message))

    def fromApp(self, message, session_id):
        if message.getHeader().getField(35) == "V":
            self._market_data_request(message)
            return
        try:
            for answer in self.book.answer(tags_of(message)):
                fix.Session.sendToTarget(message_of(answer), self.session_id)
        except Exception:  # an exception escaping into QuickFIX would drop the session
            import traceback

            traceback.print_exc()

    # --- market data ---

    def _market_data_request(self, message: fix.Message) -> None:
        try:
            pairs = [p.partition("=") for p in message.toString().split(SOH) if "=" in p]
            tags = tags_of(message)
            request = {"mdReqId": tags.get(262), "symbols": [v for t, _, v in pairs if t == "55"],
                       "entryTypes": [v for t, _, v in pairs if t == "269"], "tags": tags}
            with self._lock:
                self.md_requests.append(request)
            if self.md_mode == "quote":
                for symbol in request["symbols"]:
                    self.send_quote(symbol, md_req_id=request["mdReqId"])
            elif self.md_mode == "reject":
                self.send({35: "Y", 262: request["mdReqId"], 281: "0",
                           58: "UNKNOWN_SYMBOL"})
            elif self.md_mode == "business_reject":
                self.send({35: "j", 45: tags[34], 372: "V", 380: "3",
                           58: "UNSUPPORTED_MESSAGE_TYPE"})
        except Exception:
            import traceback

            traceback.print_exc()

    def send_quote(self, symbol: str, *, md_req_id: str = "", poss_dup_of: str = "",
                   **book) -> None:
        """A W for `symbol` from `book` (or self.quotes[symbol]): bids and asks as lists of
        (price, size), best first, `last` as (price, size). `poss_dup_of`: sent as a resend
        of a W first sent at that SendingTime (43=Y, 122)."""
        # By default near the tests' usual order price (tests/factories.py: 150.25), so
        # pre-trade risk's price band lets those orders through.
        book = book or self.quotes.get(symbol) or {"bids": [("150", "10")],
                                                   "asks": [("150.5", "20")]}
        message = fix.Message()
        header = message.getHeader()
        header.setField(fix.BeginString("FIX.4.4"))
        header.setField(fix.MsgType("W"))
        if poss_dup_of:
            header.setField(43, "Y")
            header.setField(122, poss_dup_of)
        if md_req_id:
            message.setField(262, md_req_id)
        message.setField(55, symbol)
        entries = [("0", level, i) for i, level in enumerate(book.get("bids", []), 1)]
        entries += [("1", level, i) for i, level in enumerate(book.get("asks", []), 1)]
        if book.get("last"):
            entries.append(("2", book["last"], 0))
        for entry_type, (price, size), level in entries:
            group = fix.Group(268, 269)
            group.setField(269, entry_type)
            group.setField(270, str(price))
            group.setField(271, str(size))
            if level:
                group.setField(1023, str(level))
            message.addGroup(group)
        fix.Session.sendToTarget(message, self.session_id)
        with self._lock:
            self.quotes_sent.append(symbol)
