"""What the session holder needs from the rest of the OMS, as two small interfaces: the
Outbox it writes from (dispatch's queue) and the Inbox it hands the venue's messages to (the
order books). The holder's process wires them (omsproject/fixholder.py); tests give fakes."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from venues.fix.codec import VenueMessage


@dataclass(frozen=True)
class Outgoing:
    """A claimed message: committed as possibly on the wire, not yet written."""

    key: int  # its place in the venue's queue
    kind: str  # NEW, MODIFY, CANCEL or STATUS
    answer_key: str  # what the venue's first answer to it names (ClOrdID, OrdStatusReqID)
    message: dict  # codec.build's input
    claimed_at: datetime
    accepted_at: datetime  # when the order was accepted: a DAY order's session
    time_in_force: str
    slot: str = ""  # the rate-limit slot it was claimed with



class Outbox(Protocol):
    slot_seconds: float  # a claim's rate-limit slot is good for this long after the claim

    def take(self, *, venue_code: str, limit: int) -> list[Outgoing]:
        """In the caller's transaction: lock and return the venue's claimed, unwritten
        messages, oldest first."""

    def written(self, *, venue_code: str, sent: list[tuple[Outgoing, int]], at: datetime) -> None:
        """These were written to the venue's session, with these MsgSeqNums."""

    def give_back(self, *, venue_code: str, items: list[tuple[Outgoing, str]]) -> None:
        """These were not written, and will not be now (reason each): back to the queue."""

    def expire(self, *, venue_code: str, items: list[Outgoing], why: str) -> None:
        """DAY orders of a session that has closed: never to be sent."""

    def in_flight(self, *, venue_code: str) -> int:
        """Messages written to the venue and not yet answered."""

    def answered(self, *, venue_code: str, slots: list[str]) -> None:
        """The venue's first answers to messages claimed with these slots have been read:
        each slot counts from now on (dispatch/limiter.py), not from its grant."""

    def own_slot(self, *, venue_code: str, timeout: float) -> str:
        """A rate-limit slot for a message of the holder's own (a MarketDataRequest: the
        venue counts it like an order), waiting up to `timeout`; "" when none was free.
        Completed through `answered` when the venue answers it; else it ages out."""

    def possibly_written(self, *, venue_code: str, at: datetime) -> int:
        """The last holder stopped uncleanly (it died, or lost its lease, mid-write): what it
        had claimed and not recorded may have reached the venue. Record it as written, its
        outcome unknown, so that the venue is asked about it (at the logon, or by the
        sweeper) instead of its being given back as never sent. Returns how many."""


class Inbox(Protocol):
    def received(
        self, *, venue_code: str, message: VenueMessage, latency_micros: int | None
    ) -> None:
        """Apply one application message from the venue, in the caller's transaction. A
        message that cannot be applied is stored and flagged, not raised."""

    def unapplied(self, *, venue_code: str, message: VenueMessage, error: str) -> None:
        """`received` failed: keep the message for an operator, in a fresh transaction."""

    def logged_on(self, *, venue_code: str) -> None:
        """The session is up: ask the venue about every order we think is open there."""

    def open_symbols(self, *, venue_code: str) -> list[str]:
        """The symbols of the orders open (or queued) for the venue: their market data is
        asked for at each logon."""
