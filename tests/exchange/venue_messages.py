"""Application messages for the pure venue, as QuickFIX would deliver them (tag=value text)."""

from __future__ import annotations

import itertools
from typing import Any

from exchange.config import Latency, VenueConfig
from exchange.order_rules import Inbound
from exchange.venue import Venue

from .clock import FakeClock, FakeWallClock

CLIENT = "OMS"
_seqs = itertools.count(2)


def message(msg_type: str, fields: dict[int, str], *, client: str = CLIENT) -> Inbound:
    header = {35: msg_type, 34: str(next(_seqs)), 49: client, 56: "XTEST"}
    body = {tag: value for tag, value in fields.items() if value is not None}
    text = "|".join(f"{tag}={value}" for tag, value in {**header, **body}.items())
    return Inbound.from_text(client, text)


def new_order(cl_ord_id: str, **tags: Any) -> Inbound:
    """A DAY limit buy of 100 at 10.50 unless told otherwise (tags by name: t38="5")."""
    fields = {11: cl_ord_id, 526: f"client-{cl_ord_id}", 1: "ACC1", 55: "ACME", 54: "1",
              60: "20260302-12:00:00.000", 38: "100", 40: "2", 44: "10.50", 59: "0"}  # fmt: skip
    fields.update({int(name[1:]): value for name, value in tags.items()})
    return message("D", fields)


def replace(orig: str, cl_ord_id: str, **tags: Any) -> Inbound:
    fields = {41: orig, 11: cl_ord_id, 526: "client", 1: "ACC1", 55: "ACME", 54: "1",
              60: "20260302-12:00:00.000", 38: "50", 40: "2", 44: "10.25"}  # fmt: skip
    fields.update({int(name[1:]): value for name, value in tags.items()})
    return message("G", fields)


def cancel(orig: str, cl_ord_id: str, **tags: Any) -> Inbound:
    fields = {41: orig, 11: cl_ord_id, 526: "client", 1: "ACC1", 55: "ACME", 54: "1",
              60: "20260302-12:00:00.000", 38: "100"}  # fmt: skip
    fields.update({int(name[1:]): value for name, value in tags.items()})
    return message("F", fields)


def status(cl_ord_id: str, **tags: Any) -> Inbound:
    fields = {11: cl_ord_id, 790: "status-1", 526: "client", 55: "ACME", 54: "1"}
    fields.update({int(name[1:]): value for name, value in tags.items()})
    return message("H", fields)


def make_venue(
    clock: FakeClock | None = None, wall: FakeWallClock | None = None, **config: Any
) -> Venue:
    # The market is off unless a test asks for one (market={...} of config fields): the
    # venue's rules without it are today's, and orders rest as NEW.
    venue_config = VenueConfig(
        rate_limit=config.pop("rate_limit", 100),
        latency=Latency.parse(config.pop("latency", 0)),
        reject_ratio=config.pop("reject_ratio", 0.0),
    ).updated({"market": False, **config.pop("market", {}), **config.pop("window", {})})
    return Venue(
        "XTEST", venue_config, seed="test", run_id="run1",
        monotonic_ns=clock or FakeClock(), wall_clock=wall or FakeWallClock(), **config,
    )  # fmt: skip


def answer(venue: Venue, inbound: Inbound) -> dict[int, str]:
    """Receive a message; return its answer as tag -> value, with 35 for the type."""
    receipt = venue.receive(inbound)
    return {35: receipt.answer.msg_type, **dict(receipt.answer.fields)}
