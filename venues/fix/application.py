"""QuickFIX's callbacks for one venue's session, handed to its runner. QuickFIX calls these
on its own threads (and toApp on the thread that sends); each stays short and never lets an
exception escape into the engine."""

import logging
import threading

import quickfix as fix

logger = logging.getLogger("venues.fix")

_ADMIN_LOGGED = {"3": "Reject", "5": "Logout", "2": "ResendRequest", "4": "SequenceReset"}


def _header(message: fix.Message, tag: int) -> str:
    header = message.getHeader()
    return header.getField(tag) if header.isSetField(tag) else ""


def _body(message: fix.Message, tag: int) -> str:
    return message.getField(tag) if message.isSetField(tag) else ""


class VenueApplication(fix.Application):
    def __init__(self, runner):
        super().__init__()
        self._runner = runner
        # The MsgSeqNum QuickFIX gave the last application message this thread sent.
        self._sent = threading.local()

    def last_sent_seq_num(self) -> int | None:
        return getattr(self._sent, "seq_num", None)

    def onCreate(self, session_id):
        self._guard(self._runner.on_create, session_id)

    def onLogon(self, session_id):
        self._guard(self._runner.on_logon)

    def onLogout(self, session_id):
        self._guard(self._runner.on_logout)

    def toAdmin(self, message, session_id):
        msg_type = _header(message, 35)
        if msg_type in _ADMIN_LOGGED:
            logger.info("venue %s <- %s %s", self._runner.venue_code, _ADMIN_LOGGED[msg_type],
                        _brief(message))

    def fromAdmin(self, message, session_id):
        msg_type = _header(message, 35)
        if msg_type == "A" and _body(message, 141) == "Y":
            self._guard(self._runner.on_sequence_reset)
        if msg_type in _ADMIN_LOGGED:
            log = logger.warning if msg_type in ("3", "5") else logger.info
            log("venue %s -> %s %s", self._runner.venue_code, _ADMIN_LOGGED[msg_type],
                _brief(message))

    def toApp(self, message, session_id):
        # No resend ever reaches here: with PersistMessages=N QuickFIX answers a ResendRequest
        # with a GapFill (orders are re-sent only through the queue and its gates). Nor may
        # this raise, DoNotSend included: any exception out of a callback ends the process.
        seq = _header(message, 34)
        self._sent.seq_num = int(seq) if seq.isdigit() else None

    def fromApp(self, message, session_id):
        self._guard(self._runner.on_message, message)

    def _guard(self, callback, *args):
        # QuickFIX 1.15.1 terminates the process on any exception out of a callback.
        try:
            callback(*args)
        except BaseException:
            logger.exception("venue %s: %s failed", self._runner.venue_code,
                             getattr(callback, "__name__", callback))


def _brief(message: fix.Message) -> str:
    parts = []
    for tag, name in ((58, "text"), (45, "refSeqNum"), (373, "reason"), (7, "begin"),
                      (16, "end"), (36, "newSeqNo")):
        value = _body(message, tag)
        if value:
            parts.append(f"{name}={value}")
    return " ".join(parts)
