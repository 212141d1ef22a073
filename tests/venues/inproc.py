"""A venue in this process, for tests about the queue and the books rather than the socket:
claimed messages are written by the OMS's own writer (venues/fix/writer.py, the send gate
included), answered by a PeerBook, and the answers applied by the OMS's own Inbox, each in
its transaction, synchronously, when the test calls `pump()`."""

import itertools

from django.db import transaction
from django.utils import timezone

from dispatch.outbox import QueueOutbox
from orders.services import OrderBooks
from tests.venues.book import PeerBook, Tags
from venues.fix import codec
from venues.fix.ports import Outgoing
from venues.fix.writer import write_batch

SOH = "\x01"


class HolderDied(BaseException):
    """Like a SIGKILL: nothing in the holder catches it; its transaction never commits."""


def _tags(outgoing: Outgoing) -> Tags:
    tags = {}
    for pair in codec.build(outgoing.message).toString().split(SOH):
        tag, _, value = pair.partition("=")
        if tag.isdigit():
            tags.setdefault(int(tag), value)
    return tags


def venue_message(tags: Tags, seq_num: int) -> codec.VenueMessage:
    body = {int(k): str(v) for k, v in tags.items() if int(k) != 35}
    raw = "|".join(f"{k}={v}" for k, v in [(35, tags[35]), *body.items()])
    return codec.VenueMessage(msg_type=str(tags[35]), seq_num=seq_num, poss_dup=False,
                              raw=raw, tags=body)


class InProcessVenue:
    def __init__(self, venue_code: str = "XMOCK"):
        self.venue_code = venue_code
        self.book = PeerBook(venue_code)
        self.up = True  # the wire: when down, nothing is written
        self.lose = False  # written, but lost on the way: the venue never sees it
        self.die_after_writing = False  # the holder dies right after a write
        self._out_seq = itertools.count(2)  # 1 was the Logon
        self._in_seq = itertools.count(2)
        self._answers: list[Tags] = []

    def _write(self, item: Outgoing) -> int | None:
        if not self.up:
            return None
        if not self.lose:
            answers = self.book.answer(_tags(item))
            if answers:  # read at once here: its slot counts from now, as the holder does
                QueueOutbox().answered(venue_code=self.venue_code, slots=[item.slot])
            self._answers.extend(answers)
        if self.die_after_writing:
            self._answers.clear()  # whoever would have read them is gone
            raise HolderDied
        return next(self._out_seq)

    def write(self) -> int:
        """Write what is claimed (through the send gate); no answers yet."""
        total = 0
        while True:
            looked = write_batch(venue_code=self.venue_code, outbox=QueueOutbox(),
                                 write=self._write, wire_up=lambda: self.up)
            total += looked
            if looked == 0:
                return total

    def deliver(self, extra: list[Tags] | None = None) -> int:
        """Apply the venue's answers (and `extra` messages of its own), one per transaction."""
        answers, self._answers = [*self._answers, *(extra or [])], []
        for tags in answers:
            with transaction.atomic():
                OrderBooks().received(venue_code=self.venue_code,
                                      message=venue_message(tags, next(self._in_seq)),
                                      latency_micros=self.latency_micros())
        return len(answers)

    def take_over(self) -> int:
        """What a holder does when it takes over after one that died (venues/fix/runner.py:
        start): the dead holder's claimed, unrecorded messages are possibly at the venue."""
        self._answers.clear()  # whoever would have read them is gone
        with transaction.atomic():
            return QueueOutbox().possibly_written(venue_code=self.venue_code,
                                                  at=timezone.now())

    def emit(self, tags: Tags) -> None:
        """A message of the venue's own (a fill, a cancel): read after those already on the
        way, as FIX keeps a session's messages in order."""
        self._answers.append(tags)

    def in_transit(self) -> int:
        """The venue's messages written and not yet read."""
        return len(self._answers)

    def latency_micros(self) -> int:
        """The round trip the holder measured for the next answer (tests may script it)."""
        return 100

    def pump(self) -> None:
        """Write and answer until nothing moves."""
        while self.write() + self.deliver():
            pass

    def messages(self, msg_type: str | None = None) -> list[Tags]:
        return self.book.messages(msg_type)
