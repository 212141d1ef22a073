"""A venue that misbehaves on purpose, byte by byte: a TCP server speaking just enough FIX
(built with the simplefix codec) to take the OMS's Logon, then sending whatever a test tells
it to. Every connection is served in turn; what the OMS sent is kept per connection."""

import socket
import threading
import time
from datetime import UTC, datetime

import simplefix

SOH = b"\x01"


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


class RawVenue:
    def __init__(self, *, venue: str = "XPEER", client: str = "OMS"):
        self.venue, self.client = venue, client
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(4)
        self.port = self._server.getsockname()[1]
        self.connections: list[list[simplefix.FixMessage]] = []
        self.next_seq = 1  # what this venue sends next
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    # --- what the OMS sent ---

    def received(self, msg_type: bytes | None = None, connection: int = -1) -> list:
        with self._lock:
            if not self.connections:
                return []
            return [m for m in self.connections[connection]
                    if msg_type is None or m.get(35) == msg_type]

    def connected(self) -> int:
        with self._lock:
            return len(self.connections)

    # --- sending ---

    def message(self, msg_type: str, body: dict | None = None, *, seq: int | None = None,
                sender: str | None = None, poss_dup: bool = False) -> bytes:
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.4")
        m.append_pair(35, msg_type)
        if seq is None:
            seq, self.next_seq = self.next_seq, self.next_seq + 1
        m.append_pair(34, seq)
        m.append_pair(49, sender or self.venue)
        m.append_pair(56, self.client)
        now = stamp()
        m.append_pair(52, now)
        if poss_dup:
            m.append_pair(43, "Y")
            m.append_pair(122, now)  # OrigSendingTime may not be after SendingTime
        for tag, value in (body or {}).items():
            m.append_pair(tag, value)
        return m.encode()

    def send(self, data: bytes) -> None:
        self._socket.sendall(data)

    def drop(self) -> None:
        if self._socket is not None:
            self._socket.close()

    def close(self) -> None:
        self._closed = True
        self.drop()
        self._server.close()

    # --- serving ---

    def _serve(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            self._socket = sock
            with self._lock:
                self.connections.append([])
            parser = simplefix.FixParser()
            try:
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    parser.append_buffer(data)
                    while (message := parser.get_message()) is not None:
                        with self._lock:
                            self.connections[-1].append(message)
                        self._answer_admin(message)
            except OSError:
                pass
            finally:
                sock.close()

    def _answer_admin(self, message: simplefix.FixMessage) -> None:
        kind = message.get(35)
        if kind == b"A":
            self.send(self.message("A", {98: 0, 108: message.get(108).decode()}))
        elif kind == b"1":
            self.send(self.message("0", {112: message.get(112).decode()}))
        elif kind == b"5":
            self.send(self.message("5"))
        elif kind == b"2":
            # What it sent and the OMS never read (a heartbeat that went out behind a message
            # that never ended, say) is not resent: a GapFill up to its next number.
            self.send(self.message("4", {123: "Y", 36: self.next_seq},
                                   seq=int(message.get(7)), poss_dup=True))


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
