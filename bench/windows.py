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
