"""What the router reads of each venue, once per decision: its fees, whether it may get
orders now (session, kill switches, logon, queue backlog), its recent latency and its quote.

A handful of queries whatever the history: the venues, the halt and the sessions, one
grouped count of the queues, and per venue one bounded read of its latest answers.
"""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from dispatch.selectors import queued_counts, recent_new_order_latency_micros
from marketdata.selectors import venue_quote
from omsproject.decimals import decimal_text
from routing.plans import RoutePlan, RouteRequest, VenueView
from routing.policies import plan_route
from sessions.models import SessionState, VenueSession
from sessions.selectors import session_list_with_status
from venues.models import Venue


def route(request: RouteRequest) -> RoutePlan:
    """The plan for `request` over every venue as it is now."""
    return plan_route(request, venue_views(symbol=request.symbol))


def venue_views(*, symbol: str) -> list[VenueView]:
    """Every venue as the router sees it for `symbol`, by code."""
    now = timezone.now()
    sessions = {session.venue_id: session for session in session_list_with_status(now=now)}
    backlogs = queued_counts()
    return [
        VenueView(
            code=venue.code,
            maker_fee=venue.maker_fee_per_share,
            taker_fee=venue.taker_fee_per_share,
            latency_ms=_latency_ms(venue.code),
            skip=(_session_skip(sessions.get(venue.code))
                  or _backlog_skip(venue, backlogs.get(venue.code, 0))),
            quote=venue_quote(venue=venue.code, symbol=symbol, now=now),
        )
        for venue in Venue.objects.order_by("code")
    ]


def _session_skip(session: VenueSession | None) -> str:
    """Why the venue's session keeps orders away now, or "". The checks intake makes
    (sessions.services.session_refuse_unless_accepting), and the logon a dispatcher waits
    for (sessions.selectors.session_is_logged_on): a routed order should go where it can
    leave at once."""
    if session is None:
        return "no session"
    if session.halted:  # session_list_with_status: the global kill switch
        return "halted"
    if session.kill_switch:
        return "kill switch"
    if not session.now_desired.logged_on:
        return "closed"
    if session.state != SessionState.LOGGED_ON or session.desired != SessionState.LOGGED_ON:
        return "not logged on"
    return ""


def _backlog_skip(venue: Venue, backlog: int) -> str:
    most = Decimal(str(settings.OMS_ROUTING_MAX_BACKLOG_SECONDS)) * venue.throttle_per_second
    return f"backlog {backlog} > {decimal_text(most)}" if backlog > most else ""


def _latency_ms(venue_code: str) -> float:
    micros = recent_new_order_latency_micros(venue_code=venue_code)
    return settings.OMS_ROUTING_DEFAULT_LATENCY_MS if micros is None else micros / 1000
