"""Injectable clocks that move only when a test says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Monotonic time in integer nanoseconds."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.now_ns = 0
        self.set(seconds)

    def set(self, seconds: float) -> None:
        # Round to whole nanoseconds so 0.9 s is exactly 900_000_000 ns, not 899_999_999.
        self.now_ns = round(seconds * 1_000_000_000)

    def __call__(self) -> int:
        return self.now_ns


class FakeWallClock:
    """An aware UTC datetime."""

    def __init__(self, moment: datetime | str = "2026-03-02T12:00:00+00:00") -> None:
        self.now = datetime.fromisoformat(moment) if isinstance(moment, str) else moment

    def set(self, moment: datetime | str) -> None:
        self.now = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        self.now = self.now.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def __call__(self) -> datetime:
        return self.now
