import re

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from omsproject.schema import ERROR_RESPONSES
from sessions import selectors, services
from sessions.errors import VenueNotFound
from sessions.models import VenueSession
from sessions.serializers import (
    SessionDetailOutput,
    SessionOutput,
    SessionUpdateInput,
    TradingHaltInput,
    TradingHaltOutput,
)

_SCHEDULE_FIELDS = {
    "timeZone": "time_zone",
    "openTime": "open_time",
    "closeTime": "close_time",
    "weekdays": "weekdays",
    "holidays": "holidays",
    "calendar": "calendar",
}


class IsOperatorOrReadOnly(BasePermission):
    """Anyone signed in may look; only operators (staff) may change sessions or the halt."""

    message = "Only operators may change trading sessions."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_staff


# Venue codes as the order API accepts them. Anything else cannot name a venue, and must not
# reach the database as a lookup (PostgreSQL refuses NUL bytes in text: a 500).
_VENUE_CODE = re.compile(r"[A-Z0-9_]{2,16}")


def _venue_code(venue: str) -> str:
    if not _VENUE_CODE.fullmatch(venue):
        raise VenueNotFound(f"Unknown venue {venue[:32]!r}.")
    return venue


class SessionListApi(GenericAPIView):
    queryset = VenueSession.objects.none()  # for the schema only; reads go through selectors
    serializer_class = SessionOutput
    permission_classes = [IsOperatorOrReadOnly]

    @extend_schema(responses={200: SessionOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(SessionOutput(selectors.session_list_with_status(), many=True).data)


class SessionDetailApi(GenericAPIView):
    queryset = VenueSession.objects.none()  # for the schema only; reads go through selectors
    serializer_class = SessionDetailOutput
    permission_classes = [IsOperatorOrReadOnly]

    def _detail(self, venue_code: str) -> Response:
        session = services.session_get_or_create_for_venue(venue_code=venue_code)
        session = selectors.session_with_status(
            session, halted=selectors.trading_halt_get().halted
        )
        session.recent_events = selectors.session_recent_events(venue_code=venue_code)
        return Response(SessionDetailOutput(session).data)

    @extend_schema(responses={200: SessionDetailOutput, **ERROR_RESPONSES})
    def get(self, request, venue):
        return self._detail(_venue_code(venue))

    @extend_schema(
        request=SessionUpdateInput, responses={200: SessionDetailOutput, **ERROR_RESPONSES}
    )
    def patch(self, request, venue):
        venue = _venue_code(venue)
        given = SessionUpdateInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        changes = {
            field: data["schedule"][name]
            for name, field in _SCHEDULE_FIELDS.items()
            if name in data.get("schedule", {})
        }
        if "override" in data:
            changes["override"] = data["override"]
        actor = request.user.get_username()
        with transaction.atomic():  # the schedule and the kill switch change together or not
            if changes:
                services.session_update(venue_code=venue, actor=actor, **changes)
            if "killSwitch" in data:
                services.venue_kill_switch_set(
                    venue_code=venue, halted=data["killSwitch"],
                    reason=data.get("killSwitchReason", ""), actor=actor,
                    cancel_open_orders=data["cancelOpenOrders"])
        return self._detail(venue)


class TradingHaltApi(GenericAPIView):
    serializer_class = TradingHaltOutput
    permission_classes = [IsOperatorOrReadOnly]

    def get_object(self):
        # The one halt row. DRF's OPTIONS (metadata) asks for the object a PUT would change;
        # without this it finds no queryset and fails with a 500.
        return selectors.trading_halt_get()

    @extend_schema(responses={200: TradingHaltOutput, **ERROR_RESPONSES})
    def get(self, request):
        return Response(TradingHaltOutput(selectors.trading_halt_get()).data)

    @extend_schema(request=TradingHaltInput, responses={200: TradingHaltOutput, **ERROR_RESPONSES})
    def put(self, request):
        given = TradingHaltInput(data=request.data)
        given.is_valid(raise_exception=True)
        halt = services.trading_halt_set(
            halted=given.validated_data["halted"],
            reason=given.validated_data["reason"],
            actor=request.user.get_username(),
            cancel_open_orders=given.validated_data["cancelOpenOrders"],
        )
        return Response(TradingHaltOutput(halt).data)
