"""The outbox: answers leave when their latency is over, in receive order per session."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any

from exchange.outbox import Outbox


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[Hashable, Any, int]] = []
        self.event = threading.Event()

    def __call__(self, destination: Hashable, item: Any) -> None:
        self.sent.append((destination, item, time.monotonic_ns()))
        self.event.set()


def test_an_item_waits_until_it_is_due() -> None:
    recorder = Recorder()
    outbox = Outbox(recorder)
    outbox.start()
    try:
        queued = time.monotonic_ns()
        outbox.put("s1", "a", queued + 30_000_000)
        assert recorder.event.wait(2)
        ((_, item, sent_ns),) = recorder.sent
        assert item == "a" and sent_ns - queued >= 30_000_000
    finally:
        outbox.stop()


def test_a_session_keeps_receive_order_even_when_a_later_item_is_due_sooner() -> None:
    recorder = Recorder()
    outbox = Outbox(recorder)
    now = time.monotonic_ns()
    outbox.put("s1", "first", now + 40_000_000)
    outbox.put("s1", "second", now + 5_000_000)  # shorter latency, still after "first"
    outbox.put("s2", "other", now + 5_000_000)  # another session is not held up
    outbox.start()
    try:
        deadline = time.monotonic() + 2
        while len(recorder.sent) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert [item for _, item, _ in recorder.sent] == ["other", "first", "second"]
    finally:
        outbox.stop()


def test_clear_drops_what_is_waiting() -> None:
    recorder = Recorder()
    outbox = Outbox(recorder)
    outbox.start()
    try:
        outbox.put("s1", "late", time.monotonic_ns() + 50_000_000)
        assert outbox.clear() == 1
        time.sleep(0.1)
        assert recorder.sent == [] and outbox.pending() == 0
    finally:
        outbox.stop()


def test_a_failing_send_does_not_stop_the_outbox() -> None:
    sent: list[str] = []

    def send(destination: Hashable, item: Any) -> None:
        if item == "boom":
            raise RuntimeError("session gone")
        sent.append(item)

    outbox = Outbox(send)
    outbox.start()
    try:
        now = time.monotonic_ns()
        outbox.put("s1", "boom", now)
        outbox.put("s1", "after", now)
        deadline = time.monotonic() + 2
        while not sent and time.monotonic() < deadline:
            time.sleep(0.005)
        assert sent == ["after"]
    finally:
        outbox.stop()
