"""An independent FIX 4.4 initiator for the tests: QuickFIX, configured here, importing
nothing of `exchange/`. It records every message it receives, in order, so a test can wait
for an answer and look at exactly what came over the wire."""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import quickfix as fix

DICTIONARY = os.path.join(sys.prefix, "share", "quickfix", "FIX44.xml")
SOH = "\x01"


def fields_of(text: str) -> dict[int, str]:
    """Tag -> value, first occurrence wins (the dialect's messages have no groups)."""
    out: dict[int, str] = {}
    for part in text.split(SOH):
        tag, _, value = part.partition("=")
        if tag.isdigit():
            out.setdefault(int(tag), value)
    return out


def entries_of(text: str, delimiter: int = 269) -> list[dict[int, str]]:
    """A repeating group's entries, each from its delimiter tag to the next one."""
    entries: list[dict[int, str]] = []
    for part in text.split(SOH):
        tag, _, value = part.partition("=")
        if not tag.isdigit() or int(tag) == 10:
            continue
        if int(tag) == delimiter:
            entries.append({})
        if entries:
            entries[-1][int(tag)] = value
    return entries


@dataclass(frozen=True)
class Received:
    admin: bool
    text: str

    @property
    def fields(self) -> dict[int, str]:
        return fields_of(self.text)

    @property
    def msg_type(self) -> str:
        return self.fields[35]

    def __getitem__(self, tag: int) -> str:
        return self.fields[tag]

    def get(self, tag: int, default: str | None = None) -> str | None:
        return self.fields.get(tag, default)


class _Recorder(fix.Application):  # type: ignore[misc]
    def __init__(self, client: Initiator) -> None:
        super().__init__()
        self._client = client

    def onCreate(self, sessionID: Any) -> None:
        pass

    def onLogon(self, sessionID: Any) -> None:
        self._client._event(lambda c: setattr(c, "logged_on", True))

    def onLogout(self, sessionID: Any) -> None:
        self._client._event(lambda c: setattr(c, "logged_on", False))

    def toAdmin(self, message: Any, sessionID: Any) -> None:
        pass

    def fromAdmin(self, message: Any, sessionID: Any) -> None:
        text = message.toString()
        self._client._event(lambda c: c.received.append(Received(True, text)))

    def toApp(self, message: Any, sessionID: Any) -> None:
        pass

    def fromApp(self, message: Any, sessionID: Any) -> None:
        text = message.toString()
        self._client._event(lambda c: c.received.append(Received(False, text)))


class Initiator:
    """One session from `sender` to `target` at 127.0.0.1:`port`."""

    def __init__(
        self,
        port: int,
        *,
        sender: str = "OMS",
        target: str = "XMOCK",
        store_dir: Path | None = None,
        reset_on_logon: bool = False,
        heartbeat_s: int = 30,
    ) -> None:
        self.session_id = fix.SessionID("FIX.4.4", sender, target)
        self.received: list[Received] = []
        self.logged_on = False
        self._condition = threading.Condition()
        settings = fix.SessionSettings()
        defaults = fix.Dictionary()
        for name, value in {
            "ConnectionType": "initiator",
            "SocketConnectHost": "127.0.0.1",
            "SocketConnectPort": str(port),
            "HeartBtInt": str(heartbeat_s),
            "ReconnectInterval": "1",
            "StartDay": "sunday",
            "EndDay": "sunday",
            "StartTime": "00:00:00",
            "EndTime": "00:00:00",
            "UseDataDictionary": "Y",
            "DataDictionary": DICTIONARY,
            "ResetOnLogon": "Y" if reset_on_logon else "N",
            **({"FileStorePath": str(store_dir)} if store_dir else {}),
        }.items():
            defaults.setString(name, value)
        settings.set(defaults)
        settings.set(self.session_id, fix.Dictionary())
        store = fix.FileStoreFactory(str(store_dir)) if store_dir else fix.MemoryStoreFactory()
        self._application = _Recorder(self)
        self._initiator = fix.SocketInitiator(
            self._application, store, settings, fix.ScreenLogFactory(False, False, False)
        )

    def _event(self, change: Callable[[Initiator], None]) -> None:
        with self._condition:
            change(self)
            self._condition.notify_all()

    def __enter__(self) -> Initiator:
        self._initiator.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._initiator is not None:
            if self.logged_on:
                # Initiator.stop() would poll in whole seconds; a logout first is quicker.
                self.session().logout()
                try:
                    self.wait_logged_out(timeout=3)
                except AssertionError:
                    pass
            self._initiator.stop(True)
            # QuickFIX keeps sessions in a process-wide registry until the initiator is
            # destroyed; the next test's initiator may reuse this SessionID.
            self._initiator = None
            gc.collect()

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        with self._condition:
            if not self._condition.wait_for(predicate, timeout):
                raise AssertionError(f"timed out after {timeout} s; received {self.texts()}")

    def wait_logged_on(self, timeout: float = 5.0) -> None:
        self.wait(lambda: self.logged_on, timeout)

    def wait_logged_out(self, timeout: float = 5.0) -> None:
        self.wait(lambda: not self.logged_on, timeout)

    def app_messages(self) -> list[Received]:
        with self._condition:
            return [m for m in self.received if not m.admin]

    def wait_for_app(self, predicate: Callable[[Received], bool], timeout: float = 5.0) -> Received:
        found: list[Received] = []

        def seen() -> bool:
            found[:] = [m for m in self.received if not m.admin and predicate(m)]
            return bool(found)

        self.wait(seen, timeout)
        return found[0]

    def answer_to(self, cl_ord_id: str, timeout: float = 5.0) -> Received:
        return self.wait_for_app(
            lambda m: m.get(11) == cl_ord_id or m.get(379) == cl_ord_id, timeout
        )

    def send(
        self,
        msg_type: str,
        body: Iterable[tuple[int, str]],
        groups: Iterable[tuple[int, int, list[list[tuple[int, str]]]]] = (),
    ) -> None:
        """`groups`: repeating groups as (count tag, delimiter tag, entries)."""
        message = fix.Message()
        message.getHeader().setField(fix.BeginString("FIX.4.4"))
        message.getHeader().setField(fix.MsgType(msg_type))
        for tag, value in body:
            message.setField(tag, value)
        for count_tag, delimiter, entries in groups:
            for entry in entries:
                group = fix.Group(count_tag, delimiter)
                for tag, value in entry:
                    group.setField(tag, value)
                message.addGroup(group)
        if not fix.Session.sendToTarget(message, self.session_id):
            raise AssertionError(f"QuickFIX refused to send {msg_type}")

    def session(self) -> Any:
        return fix.Session.lookupSession(self.session_id)

    def texts(self) -> list[str]:
        return [m.text.replace(SOH, "|") for m in self.received]


def transact_time() -> str:
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"
