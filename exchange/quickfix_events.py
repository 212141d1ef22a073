"""QuickFIX's session events as one line each in the exchange's log.

QuickFIX reports what a misbehaving peer did (a bad checksum, a garbled message, an unknown
CompID, a timed-out heartbeat) only to its Log, and the wheel offers no Log a Python class can
implement: the ScreenLog writes two lines per event from C++ straight to file descriptor 1.
So the process points fd 1 at a pipe, re-logs each event from a reader thread as one line
("quickfix XMOCK->OMS: Invalid message: ..."), and keeps Python's own output on the original
stdout. Lines that are not ScreenLog events pass through unchanged.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import threading
from collections.abc import Callable

logger = logging.getLogger("exchange")

# "<20261201-08:55:30.210731000, FIX.4.4:XMOCK->OMS, event>" then "  (the event)".
_HEADER = re.compile(r"<[^,]*, (?:FIX[.T][^:]*:)?(?P<session>[^,]*), event>")
_EVENT = re.compile(r"  \((?P<text>.*)\)")


class QuickfixEventLog:
    def __init__(self, *, hide: Callable[[str], bool] = lambda session: False) -> None:
        self._hide = hide
        self._original_fd = os.dup(1)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 1)
        os.close(write_fd)
        self._reader = os.fdopen(read_fd, "r", encoding="utf-8", errors="replace")
        # Python writes to the real stdout; C++ (and anything else writing to fd 1) to the pipe.
        self.stdout = io.TextIOWrapper(
            os.fdopen(os.dup(self._original_fd), "wb", buffering=0), line_buffering=True,
            write_through=True,
        )  # fmt: skip
        sys.stdout = self.stdout
        self._thread = threading.Thread(target=self._run, name="quickfix-events", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Put fd 1 back; the reader sees the end of the pipe and finishes."""
        sys.stdout.flush()
        os.dup2(self._original_fd, 1)
        os.close(self._original_fd)
        self._thread.join(timeout=2)

    def _run(self) -> None:
        session = None
        for line in self._reader:
            line = line.rstrip("\n")
            header = _HEADER.fullmatch(line)
            if header:
                session = header["session"]
                continue
            event = _EVENT.fullmatch(line) if session is not None else None
            if event and session is not None:
                if not self._hide(session):
                    logger.info("quickfix %s: %s", session, event["text"].replace("\x01", "|"))
            elif line:
                self.stdout.write(line + "\n")
            session = None
