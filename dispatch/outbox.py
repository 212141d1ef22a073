"""The queue as the FIX session's holder sees it (venues.fix.ports.Outbox): what it writes
next, and what it records about it. Every method runs in the holder's transaction, the one
in which it holds the send gate's share locks."""

import logging
from datetime import datetime

import redis
from django.db.models import Q

from dispatch import sql
from dispatch.limiter import Slot
from dispatch.limits import limiter_for, slot_seconds, window_ms
from dispatch.locks import locked_skipping
from dispatch.models import RequestKind, RequestState, VenueRequest
from dispatch.signals import new_orders_expired, new_orders_returned
from venues.fix.ports import Outgoing
from venues.models import Venue

logger = logging.getLogger(__name__)


class QueueOutbox:
    @property
    def slot_seconds(self) -> float:
        return slot_seconds()

    def take(self, *, venue_code: str, limit: int) -> list[Outgoing]:
        rows = locked_skipping(VenueRequest.objects.filter(
            venue_id=venue_code, state=RequestState.SENDING, sent_at__isnull=True,
        )).select_related("order")[:limit]
        return [
            Outgoing(
                key=row.pk, kind=row.kind, answer_key=row.cl_ord_id, message=row.message,
                claimed_at=row.claimed_at, accepted_at=row.order.created_at,
                time_in_force=row.order.time_in_force, slot=row.slot,
            )
            for row in rows
        ]

    def written(self, *, venue_code: str, sent: list[tuple[Outgoing, int]], at: datetime) -> None:
        sql.save_requests(
            [VenueRequest(pk=item.key, sent_at=at, msg_seq_num=seq_num) for item, seq_num in sent],
            ("sent_at", "msg_seq_num"),
        )

    def give_back(self, *, venue_code: str, items: list[tuple[Outgoing, str]]) -> None:
        keys = [item.key for item, _ in items]
        requests = list(VenueRequest.objects.filter(pk__in=keys).only("pk", "slot", "kind",
                                                                      "order_id"))
        VenueRequest.objects.filter(pk__in=keys).update(
            state=RequestState.QUEUED, slot="", claimed_at=None, claimed_by="")
        self._release(venue_code, [r.slot for r in requests])
        returned = [r.order_id for r in requests if r.kind == RequestKind.NEW]
        if returned:
            why = items[0][1]
            new_orders_returned.send(sender=None, venue_code=venue_code, order_ids=returned,
                                     why=why)
        logger.info("venue %s: %d claimed message(s) back in the queue: %s", venue_code,
                    len(items), "; ".join(sorted({why for _, why in items})))

    def expire(self, *, venue_code: str, items: list[Outgoing], why: str) -> None:
        keys = [item.key for item in items]
        requests = list(VenueRequest.objects.filter(pk__in=keys).only("pk", "slot", "order_id"))
        VenueRequest.objects.filter(pk__in=keys).update(
            state=RequestState.WITHDRAWN, slot="", reason=why[:200])
        self._release(venue_code, [r.slot for r in requests])
        new_orders_expired.send(sender=None, venue_code=venue_code,
                                order_ids=[r.order_id for r in requests], why=why)

    def possibly_written(self, *, venue_code: str, at: datetime) -> int:
        # A NEW given back as never sent would let its order be cancelled here while it is
        # live at the venue. A status request is only a question: it goes (again) blind.
        return VenueRequest.objects.filter(
            venue_id=venue_code, state=RequestState.SENDING, sent_at__isnull=True,
        ).exclude(kind=RequestKind.STATUS).update(sent_at=at)

    def in_flight(self, *, venue_code: str) -> int:
        return VenueRequest.objects.filter(
            Q(sent_at__isnull=False), venue_id=venue_code, state=RequestState.SENDING
        ).count()

    def answered(self, *, venue_code: str, slots: list[str]) -> None:
        members = [Slot(member) for member in slots if member]
        if members:
            limiter_for(venue_code).complete_many(members)

    def own_slot(self, *, venue_code: str, timeout: float) -> str:
        limit = Venue.objects.values_list("throttle_per_second", flat=True).get(pk=venue_code)
        slot = limiter_for(venue_code).acquire(limit=limit, window_ms=window_ms(),
                                               timeout=timeout)
        return slot.member if slot else ""

    @staticmethod
    def _release(venue_code: str, members: list[str]) -> None:
        slots = [Slot(member) for member in members if member]
        if not slots:
            return
        try:
            limiter_for(venue_code).release_many(slots)
        except redis.RedisError as exc:
            # Unreleased, they count until they age out: the limit is only stricter.
            logger.warning("venue %s: could not release %d limiter slots: %r", venue_code,
                           len(slots), exc)
