"""A loopback FIX session whose only job is to make QuickFIX's thread call us.

QuickFIX's SocketAcceptor runs every connection on one thread, and its socket set is not
thread-safe: `Session::disconnect` or `reset` called from another thread can crash the
process (quickfix/quickfix#346). Dropping a venue's connections and resetting sequence
numbers must therefore happen on QuickFIX's own thread, and the only code of ours that runs
there is the Application callbacks. So the exchange keeps one internal session logged on to
its own acceptor, with HeartBtInt 0 (no heartbeats, no timeouts), and "rings" it by sending a
Heartbeat: QuickFIX hands that to `fromAdmin` on its thread, which runs the queued jobs.

The client side is a plain socket: it writes a Logon and then Heartbeats, and reads only to
notice that the acceptor has gone away.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from datetime import UTC, datetime

from exchange.fix_fields import SOH

logger = logging.getLogger("exchange")

CONNECT_TIMEOUT_S = 5.0


def encode(begin_string: str, fields: list[tuple[int, str]]) -> bytes:
    """A FIX message with BodyLength and CheckSum computed."""
    body = "".join(f"{tag}={value}{SOH}" for tag, value in fields).encode()
    head = f"8={begin_string}{SOH}9={len(body)}{SOH}".encode()
    checksum = sum(head + body) % 256
    return head + body + f"10={checksum:03d}{SOH}".encode()


class Doorbell:
    def __init__(self, port: int, *, begin_string: str, own_comp_id: str, acceptor_comp_id: str):
        self._address = ("127.0.0.1", port)
        self._begin_string = begin_string
        self._own = own_comp_id
        self._acceptor = acceptor_comp_id
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._seq = 0

    def ring(self) -> None:
        """Make QuickFIX's thread call `fromAdmin` for the doorbell session soon."""
        with self._lock:
            if self._socket is not None and self._peer_gone(self._socket):
                self._drop()
            try:
                if self._socket is None:
                    self._connect()  # the Logon rings too
                else:
                    self._send("0", [])
            except OSError:
                # One reconnect: a stale socket can accept a write its peer already closed.
                self._drop()
                self._connect()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _connect(self) -> None:
        sock = socket.create_connection(self._address, timeout=CONNECT_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket = sock
        self._seq = 0
        # ResetSeqNumFlag: the doorbell keeps no sequence numbers across connections.
        self._send("A", [(98, "0"), (108, "0"), (141, "Y")])
        received = b""
        while b"\x0135=A\x01" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                self._drop()
                raise ConnectionError("the FIX acceptor closed the doorbell session at logon")
            received += chunk

    def _send(self, msg_type: str, body: list[tuple[int, str]]) -> None:
        assert self._socket is not None
        self._seq += 1
        now = datetime.now(UTC)
        sending_time = now.strftime("%Y%m%d-%H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        header = [(35, msg_type), (49, self._own), (56, self._acceptor), (34, str(self._seq)),
                  (52, sending_time)]  # fmt: skip
        self._socket.sendall(encode(self._begin_string, header + body))

    @staticmethod
    def _peer_gone(sock: socket.socket) -> bool:
        # The acceptor never speaks to a HeartBtInt 0 session except to close it (a Logout,
        # or EOF), so anything to read means: reconnect.
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    def _drop(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            finally:
                self._socket = None
