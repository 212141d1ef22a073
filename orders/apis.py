import binascii
from base64 import b64decode
from urllib.parse import parse_qs
from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from omsproject.schema import ERROR_RESPONSES
from orders import selectors, services
from orders.filters import OrderFilter
from orders.models import OrderStatus
from orders.serializers import (
    OrderCreateInput,
    OrderCreateOutput,
    OrderDetailOutput,
    OrderModifyInput,
    OrderOutput,
)


class OrderCursorPagination(CursorPagination):
    ordering = "-id"  # UUIDv7: newest first, stable and unique
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500

    def get_page_size(self, request):
        # DRF falls back to the default page size on a limit it cannot read; a client that
        # asked for something else should hear that it was not understood.
        given = request.query_params.get(self.page_size_query_param)
        if given is not None and not (given.isascii() and given.isdigit() and int(given) >= 1):
            raise ValidationError({"limit": ["A whole number of at least 1."]})
        return super().get_page_size(request)

    def decode_cursor(self, request):
        # DRF decodes leniently: garbage that is not base64 reads as "no cursor" (the first
        # page, silently), and a position that is not an order id reaches the database and
        # fails there (a 500). A cursor is only ever one we issued, so anything else is 404.
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None:
            try:
                decoded = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
                fields = parse_qs(decoded, keep_blank_values=True, strict_parsing=True)
            except (binascii.Error, UnicodeError, ValueError):
                raise NotFound(self.invalid_cursor_message) from None
            if not set(fields) <= {"o", "r", "p"}:
                raise NotFound(self.invalid_cursor_message)
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                UUID(cursor.position)
            except ValueError:
                raise NotFound(self.invalid_cursor_message) from None
        return cursor


class OrderListCreateApi(GenericAPIView):
    serializer_class = OrderOutput
    pagination_class = OrderCursorPagination
    filterset_class = OrderFilter

    def get_queryset(self):
        return selectors.order_visible_to(user=self.request.user)

    @extend_schema(responses={200: OrderOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OrderOutput(page, many=True).data)

    @extend_schema(
        request=OrderCreateInput,
        responses={
            201: OrderCreateOutput,
            200: OpenApiResponse(OrderCreateOutput, description="Replay of an existing order."),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        given = OrderCreateInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        order, created = services.order_create(
            user=request.user,
            account_code=data["accountId"],
            client_order_id=data["clientOrderId"],
            venue_code=data.get("venue"),
            terms=services.OrderTerms(
                symbol=data["symbol"],
                side=data["side"],
                order_type=data["orderType"],
                quantity=data["quantity"],
                limit_price=data.get("limitPrice"),
                stop_price=data.get("stopPrice"),
                time_in_force=data["timeInForce"],
            ),
        )
        order.created = created
        return Response(
            OrderCreateOutput(order).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OrderDetailApi(GenericAPIView):
    serializer_class = OrderDetailOutput

    def _detail(self, request, order_id):
        order = selectors.order_get_for_user(user=request.user, order_id=order_id)
        # 202: the venue has yet to answer the MODIFY / CANCEL this request queued.
        pending = order.status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE)
        code = status.HTTP_202_ACCEPTED if pending and request.method != "GET" else 200
        return Response(OrderDetailOutput(order).data, status=code)

    @extend_schema(responses={200: OrderDetailOutput, **ERROR_RESPONSES})
    def get(self, request, order_id):
        return self._detail(request, order_id)

    @extend_schema(
        request=OrderModifyInput,
        responses={200: OrderDetailOutput, 202: OrderDetailOutput, **ERROR_RESPONSES},
    )
    def patch(self, request, order_id):
        selectors.order_get_for_user(user=request.user, order_id=order_id)
        given = OrderModifyInput(data=request.data)
        given.is_valid(raise_exception=True)
        changes = {}
        if "quantity" in given.validated_data:
            changes["quantity"] = given.validated_data["quantity"]
        if "limitPrice" in given.validated_data:
            changes["limit_price"] = given.validated_data["limitPrice"]
        if "stopPrice" in given.validated_data:
            changes["stop_price"] = given.validated_data["stopPrice"]
        services.order_modify(
            order_id=order_id, actor=services.actor_label(request.user), **changes
        )
        return self._detail(request, order_id)

    @extend_schema(
        request=None,
        responses={200: OrderDetailOutput, 202: OrderDetailOutput, **ERROR_RESPONSES},
    )
    def delete(self, request, order_id):
        selectors.order_get_for_user(user=request.user, order_id=order_id)
        services.order_cancel(order_id=order_id, actor=services.actor_label(request.user))
        return self._detail(request, order_id)
