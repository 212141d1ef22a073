import re

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from omsproject.schema import ERROR_RESPONSES
from sessions.errors import VenueNotFound
from venues import selectors, services
from venues.models import VENUE_CODE_PATTERN, Venue
from venues.serializers import VenueOutput, VenuePatchInput, VenuePutInput


class IsOperatorOrReadOnly(BasePermission):
    """Anyone signed in may look; only operators (staff) may configure venues."""

    message = "Only operators may change venues."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_staff


# Anything that is not a venue code cannot name a venue, and must not reach the database as
# a lookup (PostgreSQL refuses NUL bytes in text: a 500). 404, as the sessions API answers.
_VENUE_CODE = re.compile(VENUE_CODE_PATTERN)


def _venue_code(code: str) -> str:
    if not _VENUE_CODE.fullmatch(code):
        raise VenueNotFound(f"Unknown venue {code[:32]!r}.")
    return code


_CODE_PARAMETER = OpenApiParameter(
    "code", str, OpenApiParameter.PATH, pattern=VENUE_CODE_PATTERN,
    description="The venue's code: 2-16 of A-Z, 0-9, _ (anything else is 404).",
    examples=[OpenApiExample("The demo venue", value="XMOCK")],
)


class VenueListApi(GenericAPIView):
    queryset = Venue.objects.none()  # for the schema only; reads go through selectors
    serializer_class = VenueOutput
    permission_classes = [IsOperatorOrReadOnly]

    @extend_schema(responses={200: VenueOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(VenueOutput(selectors.venue_list(), many=True).data)


@extend_schema(parameters=[_CODE_PARAMETER])
class VenueDetailApi(GenericAPIView):
    serializer_class = VenueOutput
    permission_classes = [IsOperatorOrReadOnly]

    def get_object(self):
        # DRF's OPTIONS (metadata) asks for the object a PUT would replace; without this it
        # looks for a queryset and a "pk" in the URL and fails with a 500. None: a PUT may
        # create it.
        return selectors.venue_list().filter(pk=_venue_code(self.kwargs["code"])).first()

    def _detail(self, code: str, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(VenueOutput(selectors.venue_get(code=code)).data, status=status_code)

    @extend_schema(responses={200: VenueOutput, **ERROR_RESPONSES})
    def get(self, request, code):
        return self._detail(_venue_code(code))

    @extend_schema(
        request=VenuePutInput,
        responses={
            200: OpenApiResponse(VenueOutput, description="The venue, replaced."),
            201: OpenApiResponse(VenueOutput, description="The venue, created with a trading "
                                 "session on the default schedule."),
            **ERROR_RESPONSES,
        },
    )
    def put(self, request, code):
        code = _venue_code(code)
        given = VenuePutInput(data=request.data)
        given.is_valid(raise_exception=True)
        _, created = services.venue_put(
            code=code, actor=request.user.get_username(), replace=True, **given.changes()
        )
        return self._detail(code, status_code=status.HTTP_201_CREATED if created else 200)

    @extend_schema(request=VenuePatchInput, responses={200: VenueOutput, **ERROR_RESPONSES})
    def patch(self, request, code):
        code = _venue_code(code)
        given = VenuePatchInput(data=request.data)
        given.is_valid(raise_exception=True)
        services.venue_update(code=code, actor=request.user.get_username(), **given.changes())
        return self._detail(code)
