"""Bounded background work done in batches, each batch its own short transaction."""

from collections.abc import Callable


def in_batches(step: Callable[[int], int], *, batch: int, max_batches: int) -> int:
    """Run `step(batch)` (one batch: returns how many rows it took) until a batch comes back
    short or `max_batches` have run (the next run goes on). Returns how many in all."""
    total = 0
    for _ in range(max_batches):
        done = step(batch)
        total += done
        if done < batch:
            break
    return total
