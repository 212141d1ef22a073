"""The live stream's server and a client for tests: uvicorn serving the project's ASGI app
on a free port in this process (a real HTTP server, on the test database), and an SSE client
reading on its own thread."""

import json
import socket
import threading
import time

import httpx
import uvicorn
from django.db import connection


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config("omsproject.asgi:application", host="127.0.0.1",
                                port=self.port, lifespan="off", log_level="warning",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> "LiveServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        # The stream's worker threads kept their database connections: end them, or the
        # test database cannot be flushed or dropped.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")


class Stream:
    """GET /api/v1/events, read on a thread: `events` fills up as they arrive."""

    def __init__(self, server: LiveServer, token: str | None, last_event_id: str | None = None):
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = last_event_id
        self.url = f"{server.url}/api/v1/events"
        self.events: list[dict] = []
        self.status: int | None = None
        self.error: Exception | None = None
        self.content_type = ""
        self._closing = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "no answer from the stream"

    def _read(self) -> None:
        try:
            self._read_events()
        except httpx.HTTPError as exc:  # hung up by us, or the server stopped
            self.error = exc
        finally:
            self._ready.set()

    def _read_events(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=None)) as client:
            with client.stream("GET", self.url, headers=self.headers) as response:
                self._response = response
                self.status = response.status_code
                self.content_type = response.headers.get("content-type", "")
                if response.status_code != 200:
                    self.body = json.loads(response.read())
                    self._ready.set()
                    return
                self._ready.set()
                event: dict = {}
                for line in response.iter_lines():
                    if self._closing.is_set():
                        return
                    if not line:
                        if "data" in event:
                            event["data"] = json.loads(event["data"])
                            self.events.append(event)
                        event = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        event[name] = value.removeprefix(" ")

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            assert time.monotonic() < deadline, \
                f"{len(self.events)} events of {count}: {self.events}"
            time.sleep(0.02)
        return self.events

    def settle(self, seconds: float = 0.6) -> list[dict]:
        """What arrived, after waiting a moment for more."""
        time.sleep(seconds)
        return self.events

    def wait_closed(self, timeout: float = 10.0) -> None:
        """Until the server ends the stream."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream is still open"

    def close(self) -> None:
        """Hang up, as a client that loses its connection."""
        self._closing.set()
        response = getattr(self, "_response", None)
        if response is not None:
            response.close()
        self._thread.join(timeout=5)
