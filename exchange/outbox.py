"""Where answers wait out their venue's latency: one thread, one heap, no sleeping in QuickFIX.

QuickFIX calls the application on its single socket thread; if that thread slept for the
latency, every session of every venue would wait with it. So the venue decides at receipt
and the answer is queued here with the instant it is due. A session's answers leave in the
order their messages arrived, even when a later one drew a shorter latency: an answer is
never due before the one queued before it on the same session (that is what a real venue's
single outbound stream looks like too).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any

logger = logging.getLogger("exchange")

Send = Callable[[Hashable, Any], None]


class Outbox:
    def __init__(self, send: Send, *, monotonic_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self._send = send
        self._monotonic_ns = monotonic_ns
        self._heap: list[tuple[int, int, Hashable, Any]] = []
        self._last_due: dict[Hashable, int] = {}
        self._order = itertools.count()
        self._condition = threading.Condition()
        # Held while one item is being sent, so `clear` can wait for it to finish.
        self._sending = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def put(self, destination: Hashable, item: Any, due_ns: int) -> None:
        """Send `item` to `destination` at `due_ns` (monotonic), after what is queued for it."""
        with self._condition:
            due = max(due_ns, self._last_due.get(destination, due_ns))
            self._last_due[destination] = due
            heapq.heappush(self._heap, (due, next(self._order), destination, item))
            if self._heap[0][3] is item:
                self._condition.notify()

    def clear(self) -> int:
        """Drop everything not yet sent and wait for a send under way; returns how many were
        dropped. After it returns, nothing queued before it can reach the wire."""
        with self._condition:
            dropped = len(self._heap)
            self._heap.clear()
            self._last_due.clear()
        with self._sending:
            pass
        return dropped

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Nothing is sent while inside (a send under way finishes first)."""
        with self._sending:
            yield

    def pending(self) -> int:
        with self._condition:
            return len(self._heap)

    def _next_due(self) -> tuple[Hashable, Any] | None:
        """Wait for the first item that is due; None when stopping."""
        with self._condition:
            while not self._stopping:
                if self._heap:
                    wait_ns = self._heap[0][0] - self._monotonic_ns()
                    if wait_ns <= 0:
                        _, _, destination, item = heapq.heappop(self._heap)
                        # Taken before the condition is released, so `clear` cannot miss it.
                        self._sending.acquire()
                        return destination, item
                    self._condition.wait(wait_ns / 1e9)
                else:
                    self._condition.wait()
            return None

    def _run(self) -> None:
        while (due := self._next_due()) is not None:
            try:
                self._send(*due)
            except Exception:
                logger.exception("sending an answer to %s failed", due[0])
            finally:
                self._sending.release()
