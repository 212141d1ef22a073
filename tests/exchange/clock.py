"""An injectable monotonic clock that moves only when a test says so."""

from __future__ import annotations


class FakeClock:
    def __init__(self, seconds: float = 0.0) -> None:
        self.now_ns = 0
        self.set(seconds)

    def set(self, seconds: float) -> None:
        # Round to whole nanoseconds so 0.9 s is exactly 900_000_000 ns, not 899_999_999.
        self.now_ns = round(seconds * 1_000_000_000)

    def __call__(self) -> int:
        return self.now_ns
