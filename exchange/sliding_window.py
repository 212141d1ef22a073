"""The exact count behind the venue's rate limit."""

from __future__ import annotations

from collections import deque

WINDOW_NS = 1_000_000_000


class SlidingWindowCounter:
    """Exact count of events in the last second, and the most ever seen in any second.

    The window ending at t is the half-open interval (t - 1 s, t] in integer nanoseconds: an
    event exactly 1.000 s older has left it. Only the events of the current window are kept,
    so memory is bounded by the load. The busiest sliding window always ends at some event
    (slide any window's right edge back to its last event and it loses nothing), so taking
    the maximum at every `add` is exact.
    """

    def __init__(self, window_ns: int = WINDOW_NS) -> None:
        self._window_ns = window_ns
        self._times: deque[int] = deque()
        self.max_in_window = 0

    def add(self, now_ns: int) -> int:
        """Record an event at `now_ns`; return how many events its window holds, itself included."""
        times = self._times
        if times and now_ns < times[-1]:
            raise ValueError("monotonic clock went backwards")
        horizon = now_ns - self._window_ns
        while times and times[0] <= horizon:
            times.popleft()
        times.append(now_ns)
        count = len(times)
        if count > self.max_in_window:
            self.max_in_window = count
        return count

    def count_at(self, now_ns: int) -> int:
        """Events within (now - 1 s, now], without recording anything."""
        horizon = now_ns - self._window_ns
        return sum(1 for t in self._times if t > horizon)
