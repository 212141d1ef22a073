"""The run id in every ExecID (`{venue}-{run}-{n}`): what keeps ExecIDs unique across
restarts of the exchange, since `n` starts again at 1 in each process.

The run id is the process's start time in milliseconds, in base 36. With a state directory it
is also strictly greater than every run id issued before from that directory: the last one is
kept in `<state-dir>/exchange-run-id`, written and flushed to disk before the process uses the
new one, so a clock set back (or two starts within a millisecond) cannot repeat an ExecID.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
FILE_NAME = "exchange-run-id"


def base36(number: int) -> str:
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = DIGITS[digit] + digits
    return digits or "0"


def next_run_id(state_dir: Path | None, *, now_ms: int | None = None) -> str:
    number = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if state_dir is None:
        return base36(number)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / FILE_NAME
    try:
        last = int(path.read_text().strip(), 36)
    except (FileNotFoundError, ValueError):
        last = 0
    number = max(number, last + 1)
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w") as out:
        out.write(base36(number) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    directory = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
    return base36(number)
