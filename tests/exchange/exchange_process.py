"""`python -m exchange` as a child process, as the Procfile and the OMS's tests start it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class ExchangeProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "exchange", "--port", "0", "--fix-port", "0",
             "--summary-seconds", "0", *args],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for_line("listening on", timeout=20)
        self.http_port = int(re.search(r"http://[\d.]+:(\d+)", line)[1])  # type: ignore[index]
        self.fix_port = int(re.search(r"fixPort=(\d+)", line)[1])  # type: ignore[index]
        self.base = f"http://127.0.0.1:{self.http_port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, text: str, *, timeout: float = 5.0, after: int = 0) -> str:
        """The first output line from index `after` on that contains `text`."""
        found: list[str] = []

        def seen() -> bool:
            found[:] = [line for line in self.lines[after:] if text in line]
            return bool(found) or self.process.poll() is not None

        with self._changed:
            self._changed.wait_for(seen, timeout)
        if not found:
            raise AssertionError(f"no line with {text!r}; output:\n{self.output()}")
        return found[0]

    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def http(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                code, payload = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            code, payload = error.code, json.loads(error.read())
        assert code == status, (code, payload)
        return payload

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                output = self.output()
                raise AssertionError(f"exchange ignored signal {signum}:\n{output}") from None
        self._reader.join(timeout=5)
        return self.process.returncode


def wait_until(condition: Any, timeout: float = 5.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
