from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from omsproject.pagination import StrictCursorPagination
from omsproject.schema import ERROR_RESPONSES
from orders import selectors, services
from orders.filters import OrderFilter
from orders.models import Order, OrderStatus
from orders.serializers import (
    OrderCreateInput,
    OrderCreateOutput,
    OrderDetailOutput,
    OrderModifyInput,
    OrderOutput,
)


class OrderCursorPagination(StrictCursorPagination):
    ordering = "-id"  # UUIDv7: newest first, stable and unique

    def position_is_valid(self, position: str) -> bool:
        try:
            UUID(position)
        except ValueError:
            return False
        return True


class OrderListCreateApi(GenericAPIView):
    serializer_class = OrderOutput
    pagination_class = OrderCursorPagination
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: its filters' model only
            return Order.objects.none()
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
