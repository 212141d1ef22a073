"""The operators' blotter and the order page's cancel button, as admin views of orders.

The blotter lists open orders (anything not yet final) with what is filled and what is
left, filtered by venue, account and status; its page fetches `blotter/rows/` every few
seconds and redraws the table, so it refreshes by itself without reloading the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from omsproject.decimals import decimal_text
from omsproject.errors import DomainError
from orders import services
from orders.models import (
    CANCELLABLE_STATUSES, TERMINAL_STATUSES, Account, Order, OrderStatus,
)
from venues.models import Venue

BLOTTER_ROWS = 500
REFRESH_SECONDS = 2
OPEN_STATUSES = sorted(set(OrderStatus.values) - TERMINAL_STATUSES)


def blotter_orders(*, venue: str = "", account: str = "", status: str = ""):
    """Open orders, newest first, narrowed by the filters that are set."""
    orders = Order.objects.filter(status__in=OPEN_STATUSES).select_related("account", "venue")
    if venue:
        orders = orders.filter(venue__code=venue)
    if account:
        orders = orders.filter(account__code=account)
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-created_at", "-id")[:BLOTTER_ROWS]


def blotter_row(order: Order) -> dict:
    filled = order.filled_quantity
    return {
        "id": str(order.pk),
        "clientOrderId": order.client_order_id,
        "account": order.account.code,
        "venue": order.venue.code if order.venue_id else "",
        "symbol": order.symbol,
        "side": order.side,
        "orderType": order.order_type,
        "limitPrice": decimal_text(order.limit_price),
        "quantity": decimal_text(order.quantity),
        "cumQty": decimal_text(filled),
        "leavesQty": decimal_text(order.quantity - filled),
        "avgPx": decimal_text(order.average_price) if filled else None,
        "status": order.status,
        "updatedAt": order.updated_at.isoformat(),
    }


class BlotterAdminMixin:
    """Adds `blotter/`, `blotter/rows/` and `<id>/cancel/` to the order admin."""

    def get_urls(self):
        own = [
            path("blotter/", self.admin_site.admin_view(self.blotter_view),
                 name="orders_order_blotter"),
            path("blotter/rows/", self.admin_site.admin_view(self.blotter_rows_view),
                 name="orders_order_blotter_rows"),
            path("<path:object_id>/cancel/", self.admin_site.admin_view(self.cancel_view),
                 name="orders_order_cancel"),
        ]
        return own + super().get_urls()

    def _filters(self, request: HttpRequest) -> dict:
        return {key: request.GET.get(key, "").strip() for key in ("venue", "account", "status")}

    def blotter_view(self, request: HttpRequest):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Blotter",
            "opts": self.model._meta,
            "filters": self._filters(request),
            "venues": list(Venue.objects.order_by("code").values_list("code", flat=True)),
            "accounts": list(Account.objects.order_by("code").values_list("code", flat=True)),
            "statuses": OPEN_STATUSES,
            "rows_url": reverse("admin:orders_order_blotter_rows"),
            "refresh_ms": REFRESH_SECONDS * 1000,
            "max_rows": BLOTTER_ROWS,
        }
        return TemplateResponse(request, "admin/orders/blotter.html", context)

    def blotter_rows_view(self, request: HttpRequest):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = [blotter_row(order) for order in blotter_orders(**self._filters(request))]
        return JsonResponse({"rows": rows, "limit": BLOTTER_ROWS})

    def cancel_view(self, request: HttpRequest, object_id: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.get_object(request, object_id)
        if order is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        try:
            order = services.order_cancel(
                order_id=order.pk, actor=services.actor_label(request.user)
            )
        except DomainError as exc:
            self.message_user(request, f"Not cancelled: {exc.message}", messages.ERROR)
        else:
            if order.status == OrderStatus.CANCELED:
                self.message_user(request, "Order cancelled.", messages.SUCCESS)
            else:
                self.message_user(request, "Cancel sent to the venue.", messages.SUCCESS)
        return redirect("admin:orders_order_change", order.pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra = {
            "cancellable": order is not None and order.status in CANCELLABLE_STATUSES
            and self.has_change_permission(request, order),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})
