"""A FIX peer on a bare socket, built with simplefix, that can say anything: what a broken
or hostile client sends, byte for byte."""

from __future__ import annotations

import socket
import time

import simplefix

SOH = b"\x01"


def transact_time() -> str:
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"


class RawPeer:
    def __init__(self, port: int, *, sender: str = "OMS2", target: str = "XFAST") -> None:
        self.sender = sender
        self.target = target
        self.seq = 0
        self.closed = False
        self._parser = simplefix.FixParser()
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=5)

    def encode(
        self,
        msg_type: str,
        body: tuple[tuple[int, str], ...] | list[tuple[int, str]] = (),
        *,
        seq: int | None = None,
        sender: str | None = None,
        target: str | None = None,
    ) -> bytes:
        """A well-formed message; the next seq unless `seq` says otherwise."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        message = simplefix.FixMessage()
        message.append_pair(8, "FIX.4.4", header=True)
        message.append_pair(35, msg_type, header=True)
        message.append_pair(49, sender or self.sender, header=True)
        message.append_pair(56, target or self.target, header=True)
        message.append_pair(34, seq, header=True)
        message.append_utc_timestamp(52, precision=3, header=True)
        for tag, value in body:
            message.append_pair(tag, value)
        return bytes(message.encode())

    def send(self, data: bytes) -> None:
        self._socket.sendall(data)

    def logon(self, *, heartbeat_s: int = 30) -> simplefix.FixMessage:
        self.send(self.encode("A", [(98, "0"), (108, str(heartbeat_s)), (141, "Y")], seq=1))
        self.seq = 1
        replies = self.read_until(lambda m: m.get(35) == b"A")
        return replies[-1]

    def read(self, seconds: float) -> list[simplefix.FixMessage]:
        """Every message that arrives within `seconds` (less if the peer closes)."""
        return self.read_until(lambda m: False, seconds, must=False)

    def read_until(
        self, done: object, seconds: float = 5.0, *, must: bool = True
    ) -> list[simplefix.FixMessage]:
        messages: list[simplefix.FixMessage] = []
        deadline = time.monotonic() + seconds
        while True:
            while (message := self._parser.get_message()) is not None:
                messages.append(message)
                if done(message):  # type: ignore[operator]
                    return messages
            if self.closed or time.monotonic() >= deadline:
                break
            self._socket.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self._socket.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
            self._parser.append_buffer(chunk)
        if must:
            raise AssertionError(f"not received in {seconds} s; got {messages}")
        return messages

    def wait_closed(self, seconds: float) -> None:
        self.read(seconds)
        assert self.closed, "the exchange kept the connection open"

    def close(self) -> None:
        self._socket.close()
