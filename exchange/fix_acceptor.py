"""The exchange's FIX side: one QuickFIX SocketAcceptor serving every (venue, client) session.

QuickFIX owns the session layer: logon, heartbeats, sequence numbers, resends, validation
against its FIX 4.4 dictionary, and the Reject or Logout a misbehaving peer gets. This module
turns its callbacks into calls on a `SessionEvents` (the exchange) with plain strings, sends
the exchange's answers, and runs the jobs that must happen on QuickFIX's thread.

Some properties of the quickfix-ssl wheel (QuickFIX 1.15.1) shape it:

* A Python exception escaping a callback terminates the process (std::terminate), including
  the ones QuickFIX documents as signals (RejectLogon, DoNotSend, UnsupportedMessageType). So
  every callback catches everything, logons are refused by disabling the session, and an
  unsupported message type is answered by the venue itself.
* SocketAcceptor runs all connections on one thread, and dropping a connection from another
  thread races with it (quickfix/quickfix#346): see `exchange.doorbell`.
* It predates NonStopSession. The closest is a weekly session that is always in range: QuickFIX
  then resets sequence numbers only when it first touches a session in a new week (UTC,
  weeks starting Sunday); nothing else in the schedule ever resets them.
* It cannot bind to one address (no SocketAcceptHost): the FIX port listens on all
  interfaces.
* Its stores cannot resend past a gap in the sequence, which `skipOutboundSeq` creates on
  purpose: MemoryStore's `get` starts at the first seq asked for, and FileStore's `reset`
  keeps the file offsets of the numbers it forgot, so after any reset it reads garbage for a
  number nobody rewrote. So the store is always a FileStore (in `--state-dir`, kept across
  restarts, or in a temporary directory removed at exit), and skipped numbers are not left
  empty: `skip_outbound` writes a Heartbeat into the store for each, as if it had been sent
  and lost, and a ResendRequest for them gets a SequenceReset-GapFill as for any lost
  session message.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

import quickfix as fix

from exchange.doorbell import Doorbell

logger = logging.getLogger("exchange")

DICTIONARY = os.path.join(sys.prefix, "share", "quickfix", "FIX44.xml")
BEGIN_STRING = "FIX.4.4"
# A leading '_' is not a valid configured CompID, so the internal session never collides.
CONTROL_COMP_ID = "_EXCHANGE"
DOORBELL_COMP_ID = "_DOORBELL"

SessionKey = tuple[str, str]
"""(venue, client CompID): the venue is the acceptor's SenderCompID, the client its target."""


class SessionEvents(Protocol):
    """What the exchange hears from QuickFIX; called on QuickFIX's thread, except
    `admin_sent`, which runs on whichever thread sent the message."""

    def admin_received(self, key: SessionKey, msg_type: str, text: str) -> None: ...
    def admin_sent(self, key: SessionKey, msg_type: str, text: str) -> None: ...
    def app_received(self, key: SessionKey, text: str) -> None: ...
    def logged_on(self, key: SessionKey) -> None: ...
    def logged_out(self, key: SessionKey) -> None: ...


def check_port_free(port: int) -> int:
    """Bind the FIX port the way QuickFIX will, and return it (a free one for 0).

    QuickFIX reports a port it cannot bind by throwing from a C++ thread, which aborts the
    process; asking first turns that into a readable error. (A free port picked for 0 could
    be taken before QuickFIX binds it; then the abort is what is left.)
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("", port))
        chosen: int = probe.getsockname()[1]
        return chosen


def _settings(keys: Iterable[SessionKey], port: int, store_dir: Path) -> Any:
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    for name, value in {
        "ConnectionType": "acceptor",
        "SocketAcceptPort": str(port),
        "SocketReuseAddress": "Y",
        "SocketNodelay": "Y",
        # Always in range, and the same range all week: see the module docstring.
        "StartDay": "sunday",
        "EndDay": "sunday",
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "UseDataDictionary": "Y",
        "DataDictionary": DICTIONARY,
        # So a message's text in the log is the order it came in.
        "PreserveMessageFieldsOrder": "Y",
        "ResetOnLogon": "N",
        "ResetOnLogout": "N",
        "ResetOnDisconnect": "N",
        # Kept, so a ResendRequest gets the execution reports again (PossDupFlag=Y).
        "PersistMessages": "Y",
        "FileStorePath": str(store_dir),
    }.items():
        defaults.setString(name, value)
    settings.set(defaults)
    for venue, client in keys:
        settings.set(fix.SessionID(BEGIN_STRING, venue, client), fix.Dictionary())
    settings.set(fix.SessionID(BEGIN_STRING, CONTROL_COMP_ID, DOORBELL_COMP_ID), fix.Dictionary())
    return settings


def _heartbeat(key: SessionKey, seq: int) -> str:
    message = fix.Message()
    header = message.getHeader()
    header.setField(fix.BeginString(BEGIN_STRING))
    header.setField(fix.MsgType("0"))
    header.setField(fix.SenderCompID(key[0]))
    header.setField(fix.TargetCompID(key[1]))
    header.setField(fix.MsgSeqNum(seq))
    header.setField(fix.SendingTime())
    return str(message.toString())


class FixAcceptor:
    def __init__(
        self,
        keys: Iterable[SessionKey],
        *,
        port: int,
        state_dir: Path | None,
        events: SessionEvents,
        log_events: bool = True,
    ) -> None:
        self.port = port
        self.keys = tuple(keys)
        self._events = events
        self._session_ids = {key: fix.SessionID(BEGIN_STRING, *key) for key in self.keys}
        self._keys_by_text = {sid.toString(): key for key, sid in self._session_ids.items()}
        if state_dir is None:
            self._temporary_store: str | None = tempfile.mkdtemp(prefix="exchange-fix-store-")
            store_dir = Path(self._temporary_store)
        else:
            self._temporary_store = None
            store_dir = state_dir
            store_dir.mkdir(parents=True, exist_ok=True)
        self._store_dir = store_dir
        self._application = _Application(self)
        self._acceptor = fix.SocketAcceptor(
            self._application,
            fix.FileStoreFactory(str(store_dir)),
            _settings(self.keys, port, store_dir),
            fix.ScreenLogFactory(False, False, log_events),
        )
        self._jobs: deque[tuple[Callable[[], Any], Future[Any]]] = deque()
        self._jobs_lock = threading.Lock()
        self._doorbell = Doorbell(
            port, begin_string=BEGIN_STRING, own_comp_id=DOORBELL_COMP_ID,
            acceptor_comp_id=CONTROL_COMP_ID,
        )  # fmt: skip

    def start(self) -> None:
        self._acceptor.start()
        self._doorbell.ring()

    def stop(self) -> None:
        """Log every client out (QuickFIX waits for their Logouts, a few seconds at most)."""
        # QuickFIX's stop polls, a second at a time, until no session is logged on: the
        # doorbell's session leaves first.
        doorbell_id = fix.SessionID(BEGIN_STRING, CONTROL_COMP_ID, DOORBELL_COMP_ID)
        try:
            self.call_on_fix_thread(
                lambda: fix.Session.lookupSession(doorbell_id).disconnect()
            ).result(timeout=2)
        except Exception:
            logger.warning("the doorbell session did not close; stopping anyway")
        self._doorbell.close()
        self._acceptor.stop()
        if self._temporary_store is not None:
            shutil.rmtree(self._temporary_store, ignore_errors=True)

    # -- from any thread -------------------------------------------------------------------

    def status(self, key: SessionKey) -> dict[str, Any]:
        session = fix.Session.lookupSession(self._session_ids[key])
        return {
            "loggedOn": bool(session.isLoggedOn()),
            "nextSenderSeqNum": session.getExpectedSenderNum(),
            "nextTargetSeqNum": session.getExpectedTargetNum(),
        }

    def send(
        self,
        key: SessionKey,
        msg_type: str,
        fields: Iterable[tuple[int, str]],
        groups: Iterable[tuple[int, int, list[list[tuple[int, str]]]]] = (),
    ) -> str:
        """Send an application message; return its text as sent ('|' for SOH). QuickFIX
        stores it under its seq even when the client is not logged on, and the client gets
        it by ResendRequest when it logs on again. `groups` are repeating groups: (count
        tag, delimiter tag, entries), each entry's fields starting with the delimiter."""
        message = fix.Message()
        header = message.getHeader()
        header.setField(fix.BeginString(BEGIN_STRING))
        header.setField(fix.MsgType(msg_type))
        for tag, value in fields:
            message.setField(tag, value)
        for count_tag, delimiter, entries in groups:
            for entry in entries:
                group = fix.Group(count_tag, delimiter)
                for tag, value in entry:
                    group.setField(tag, value)
                message.addGroup(group)
        fix.Session.sendToTarget(message, self._session_ids[key])
        return str(message.toString()).replace("\x01", "|")

    def call_on_fix_thread(self, job: Callable[[], Any]) -> Future[Any]:
        """Run `job` on QuickFIX's thread (blocking briefly to ring the doorbell)."""
        future: Future[Any] = Future()
        with self._jobs_lock:
            self._jobs.append((job, future))
        self._doorbell.ring()
        return future

    # -- on QuickFIX's thread only (call_on_fix_thread) ------------------------------------

    def disconnect(self, key: SessionKey) -> None:
        """Drop the TCP connection, no Logout."""
        fix.Session.lookupSession(self._session_ids[key]).disconnect()

    def reset(self, key: SessionKey) -> None:
        """Logout if logged on, disconnect, sequence numbers back to 1 and the store emptied."""
        fix.Session.lookupSession(self._session_ids[key]).reset()

    def skip_outbound(self, key: SessionKey, count: int) -> int:
        """Advance the next outgoing MsgSeqNum by `count`; return the new one. Nothing else may
        write this session's store meanwhile (the caller holds the sender back)."""
        session = fix.Session.lookupSession(self._session_ids[key])
        first = session.getExpectedSenderNum()
        # FileStore's own format: the message bytes appended to .body, and "seq,offset,size "
        # to .header; `refresh` reloads the index from the files.
        prefix = self._store_dir / f"{BEGIN_STRING}-{key[0]}-{key[1]}"
        with open(f"{prefix}.body", "ab") as body, open(f"{prefix}.header", "a") as header:
            body.seek(0, os.SEEK_END)
            for seq in range(first, first + count):
                text = _heartbeat(key, seq).encode()
                header.write(f"{seq},{body.tell()},{len(text)} ")
                body.write(text)
        session.refresh()
        session.setNextSenderMsgSeqNum(first + count)
        return int(first + count)

    def allow_logons(self, key: SessionKey, allowed: bool) -> None:
        """QuickFIX disconnects a Logon to a disabled session before the application sees
        it. Disabling a logged-on session would also log it out, so that one is left alone
        (the exchange disables it when it logs out)."""
        session = fix.Session.lookupSession(self._session_ids[key])
        if allowed:
            session.logon()
        elif not session.isLoggedOn():
            session.logout("logon refused (fault injection)")

    def _run_jobs(self) -> None:
        while True:
            with self._jobs_lock:
                if not self._jobs:
                    return
                job, future = self._jobs.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job())
                except BaseException as error:
                    future.set_exception(error)

    def _dispatch(self, session_id: Any, handler: Callable[..., None], *args: Any) -> None:
        key = self._keys_by_text.get(session_id.toString())
        if key is not None:
            handler(key, *args)


class _Application(fix.Application):  # type: ignore[misc]
    """QuickFIX's callbacks. None may raise (see the module docstring), so each one catches
    and logs everything."""

    def __init__(self, acceptor: FixAcceptor) -> None:
        super().__init__()
        self._acceptor = acceptor
        self._events = acceptor._events

    def _guard(self, what: str, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:
            logger.exception("error in QuickFIX callback %s", what)

    def onCreate(self, sessionID: Any) -> None:
        pass

    def onLogon(self, sessionID: Any) -> None:
        self._guard("onLogon", lambda: self._acceptor._dispatch(
            sessionID, self._events.logged_on))  # fmt: skip

    def onLogout(self, sessionID: Any) -> None:
        self._guard("onLogout", lambda: self._acceptor._dispatch(
            sessionID, self._events.logged_out))  # fmt: skip

    def toAdmin(self, message: Any, sessionID: Any) -> None:
        self._guard("toAdmin", lambda: self._acceptor._dispatch(
            sessionID, self._events.admin_sent, message.getHeader().getField(35),
            message.toString()))  # fmt: skip

    def fromAdmin(self, message: Any, sessionID: Any) -> None:
        def handle() -> None:
            if sessionID.getTargetCompID().getString() == DOORBELL_COMP_ID:
                self._acceptor._run_jobs()
            else:
                self._acceptor._dispatch(
                    sessionID,
                    self._events.admin_received,
                    message.getHeader().getField(35),
                    message.toString(),
                )

        self._guard("fromAdmin", handle)

    def toApp(self, message: Any, sessionID: Any) -> None:
        pass

    def fromApp(self, message: Any, sessionID: Any) -> None:
        self._guard("fromApp", lambda: self._acceptor._dispatch(
            sessionID, self._events.app_received, message.toString()))  # fmt: skip
