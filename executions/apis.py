from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView

from executions import selectors
from executions.filters import FillFilter, PositionFilter
from executions.market_prices import latest_marks
from executions.models import Fill, Position
from executions.serializers import FillOutput, PositionOutput
from omsproject.pagination import SerialCursorPagination
from omsproject.schema import ERROR_RESPONSES


class FillListApi(GenericAPIView):
    serializer_class = FillOutput
    pagination_class = SerialCursorPagination
    filterset_class = FillFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: its filters' model only
            return Fill.objects.none()
        return selectors.fills_visible_to(user=self.request.user)

    @extend_schema(responses={200: FillOutput(many=True), **ERROR_RESPONSES},
                   description="Fills (trades the venues reported), newest first, of the "
                               "accounts the caller holds (operators: all).")
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(FillOutput(page, many=True).data)


class PositionListApi(GenericAPIView):
    serializer_class = PositionOutput
    pagination_class = SerialCursorPagination
    filterset_class = PositionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Position.objects.none()
        return selectors.positions_visible_to(user=self.request.user)

    @extend_schema(responses={200: PositionOutput(many=True), **ERROR_RESPONSES},
                   description="Positions per account and symbol, of the accounts the "
                               "caller holds (operators: all), marked to the latest market "
                               "price.")
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        marks = latest_marks(position.symbol for position in page)
        return self.get_paginated_response(
            PositionOutput(page, many=True, context={"marks": marks}).data)
