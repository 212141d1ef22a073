from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from omsproject.errors import InvalidInput, domain_error_body
from omsproject.pagination import StrictCursorPagination
from omsproject.parsers import BatchJSONParser
from omsproject.schema import ERROR_RESPONSES
from orders import selectors, services
from orders.filters import OrderFilter
from orders.models import Order, OrderStatus
from orders.serializers import (
    OrderBatchInput,
    OrderBatchOutput,
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
        wanted = _order_request(given.validated_data)
        order, created = services.order_create(
            user=request.user,
            account_code=wanted.account_code,
            client_order_id=wanted.client_order_id,
            venue_code=wanted.venue_code,
            routing=wanted.routing,
            terms=wanted.terms,
        )
        order.created = created
        return Response(
            OrderCreateOutput(order).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _order_request(data: dict) -> services.OrderRequest:
    return services.OrderRequest(
        account_code=data["accountId"],
        client_order_id=data["clientOrderId"],
        venue_code=data.get("venue"),
        routing=data.get("routing"),
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


def _order_request_or_refusal(item: dict) -> services.OrderRequest | InvalidInput:
    given = OrderCreateInput(data=item)
    if not given.is_valid():  # the same 400 POST /orders answers, as this order's result
        return InvalidInput("The request is invalid; see details.", details=given.errors)
    return _order_request(given.validated_data)


def _batch_result(item: dict, outcome: services.BatchOutcome) -> dict:
    if outcome.error is not None:
        given_id = item.get("clientOrderId")
        return {"status": outcome.error.status_code, "orderId": None,
                "clientOrderId": given_id if isinstance(given_id, str) else None,
                "created": False, "error": domain_error_body(outcome.error)}
    order = outcome.order
    return {"status": status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
            "orderId": str(order.pk), "clientOrderId": order.client_order_id,
            "created": outcome.created, "error": None}


class OrderBatchApi(GenericAPIView):
    """Up to OMS_BATCH_MAX_ORDERS orders in one round trip. The batch answers 200 whenever it
    was well formed, whatever became of its orders: each order's own status is in its result
    (a 207 Multi-Status would say no more, and is WebDAV's, with an XML body clients do not
    expect). A batch that is not one (not JSON, not a list of objects, empty, too many) is a
    400 in the one error format, and no order of it is looked at."""

    serializer_class = OrderBatchInput
    parser_classes = [BatchJSONParser]

    @extend_schema(
        request=OrderBatchInput,
        responses={200: OrderBatchOutput,
                   **{code: ERROR_RESPONSES[code] for code in (400, 401, 403, 413, 415, 429, 503)}},
    )
    def post(self, request):
        given = OrderBatchInput(data=request.data)
        given.is_valid(raise_exception=True)
        items = given.validated_data["orders"]
        outcomes = services.orders_create_batch(
            user=request.user, requests=[_order_request_or_refusal(item) for item in items])
        results = [_batch_result(item, outcome) for item, outcome in zip(items, outcomes)]
        accepted = sum(1 for result in results if result["error"] is None)
        return Response({"results": results, "accepted": accepted,
                         "refused": len(results) - accepted})


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
