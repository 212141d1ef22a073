import time


def most_in_any_window(times: list[int], window: int) -> int:
    """The most events in any half-open window (t - window, t], as the exchange counts its
    sliding second; `times` and `window` in one unit (ns, us). The busiest window ends at an
    event, so one pass with two pointers over the sorted times finds it."""
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        most = max(most, end - start + 1)
    return most


def sleep_until_fraction_of_second(fraction: float) -> None:
    """Sleep until the wall clock is at `fraction` into a second (x.8 s for 0.8): a burst
    started there has its first window straddle a calendar second."""
    now = time.time()
    target = int(now) + fraction
    if target <= now + 0.05:
        target += 1
    time.sleep(target - now)
