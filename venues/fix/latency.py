"""What the session holder remembers of each message it wrote until the venue's first answer
to it is read: when it was written (round-trip latency, on one monotonic clock, in
microseconds) and the rate-limit slot it went with (completed the moment the answer is read,
as dispatch/limiter.py needs)."""

import threading
import time

from venues.fix.codec import VenueMessage

# A message written more than this long ago without an answer is not worth remembering.
MEMORY_SECONDS = 120


class LatencyClock:
    def __init__(self):
        self._lock = threading.Lock()
        self._written_ns: dict[str, int] = {}  # answer key -> perf_counter_ns at write
        self._slots: dict[str, str] = {}  # answer key -> its rate-limit slot
        self._seq_keys: dict[int, str] = {}  # MsgSeqNum -> answer key (a 35=3 names only it)

    def writing(self, key: str, slot: str = "") -> None:
        """Just before the write: the answer can be read before the send call returns."""
        with self._lock:
            self._written_ns[key] = time.perf_counter_ns()
            self._slots[key] = slot

    def not_written(self, key: str) -> None:
        with self._lock:
            self._written_ns.pop(key, None)
            self._slots.pop(key, None)

    def written(self, key: str, seq_num: int | None) -> None:
        if seq_num is not None:
            with self._lock:
                self._seq_keys[seq_num] = key

    def answered(self, message: VenueMessage, arrived_ns: int) -> tuple[int | None, str]:
        """(microseconds since the request this message first answers was written, the slot
        it went with); (None, "") when it answers nothing we wrote, or not first."""
        keys = [message.ord_status_req_id, message.cl_ord_id, message.business_reject_ref_id]
        with self._lock:
            if message.ref_seq_num.isdigit():
                keys.append(self._seq_keys.pop(int(message.ref_seq_num), ""))
            for key in keys:
                if key and key in self._written_ns:
                    latency = (arrived_ns - self._written_ns.pop(key)) // 1000
                    return latency, self._slots.pop(key, "")
        return None, ""

    def forget_old(self) -> None:
        horizon = time.perf_counter_ns() - MEMORY_SECONDS * 1_000_000_000
        with self._lock:
            for key in [k for k, ns in self._written_ns.items() if ns < horizon]:
                del self._written_ns[key]
                self._slots.pop(key, None)  # unanswered: its slot has aged out by now
            if len(self._seq_keys) > 100_000:
                self._seq_keys.clear()
