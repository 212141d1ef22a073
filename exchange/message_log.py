"""The venue's record of every application message it received and what it answered.

It is the OMS tests' evidence, so it keeps exactly what crossed the wire: the message's text
and, once sent, each answer's text (seq numbers and SendingTime are only known then).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class AnswerRecord:
    msg_type: str
    exec_type: str | None
    ord_status: str | None
    exec_id: str | None
    # Filled in by the sender when the answer goes out; None while it waits out the latency,
    # and for good when the venue was told to be silent.
    raw: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "msgType": self.msg_type,
            "execType": self.exec_type,
            "ordStatus": self.ord_status,
            "execId": self.exec_id,
            "raw": self.raw,
        }


@dataclass(slots=True)
class LogEntry:
    seq: int
    received_at: str
    received_monotonic_ns: int
    client: str
    msg_seq_num: int
    poss_dup: bool
    msg_type: str
    cl_ord_id: str | None
    orig_cl_ord_id: str | None
    raw: str
    answers: list[AnswerRecord] = field(default_factory=list)
    silenced: bool = False

    def as_json(self, venue: str) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "receivedAt": self.received_at,
            "receivedMonotonicNs": self.received_monotonic_ns,
            "venue": venue,
            "clientCompId": self.client,
            "msgSeqNum": self.msg_seq_num,
            "possDup": self.poss_dup,
            "msgType": self.msg_type,
            "clOrdId": self.cl_ord_id,
            "origClOrdId": self.orig_cl_ord_id,
            "raw": self.raw,
            "answers": [answer.as_json() for answer in self.answers],
            "silenced": self.silenced,
        }


class MessageLog:
    """The last `cap` entries; seqs are consecutive, so paging is arithmetic."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._entries: deque[LogEntry] = deque(maxlen=cap)

    def append(self, entry: LogEntry) -> None:
        self._entries.append(entry)

    def page(self, venue: str, *, since: int, limit: int, last_seq: int) -> dict[str, Any]:
        """Entries with seq > since, oldest first, at most `limit` of them."""
        log = self._entries
        oldest = log[0].seq if log else last_seq + 1
        start = max(since + 1 - oldest, 0)
        stop = min(start + limit, len(log))
        return {
            "venue": venue,
            "since": since,
            "messages": [log[i].as_json(venue) for i in range(start, stop)],
            "lastSeq": last_seq,
            "oldestRetainedSeq": log[0].seq if log else None,
            # Entries after `since` that the cap already dropped: a reader that sees True
            # knows its record of the run is incomplete.
            "gap": bool(log) and since + 1 < oldest,
            "hasMore": stop < len(log),
            "logCap": self.cap,
        }
