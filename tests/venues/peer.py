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
        try:
            for answer in self.book.answer(tags_of(message)):
                fix.Session.sendToTarget(message_of(answer), self.session_id)
        except Exception:  # an exception escaping into QuickFIX would drop the session
            import traceback

            traceback.print_exc()
