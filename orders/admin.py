from decimal import Decimal

from django import forms
from django.contrib import admin, messages

from dispatch.admin import VenueRequestInline
from executions.admin import ExecutionReportInline, FillInline
from omsproject.admin_inlines import ReadOnlyTabularInline
from omsproject.decimals import decimal_text
from omsproject.errors import DomainError
from orders import services
from orders.admin_blotter import BlotterAdminMixin
from orders.models import MODIFIABLE_STATUSES, Account, Order, OrderEvent, OrderStatus

_EDITABLE = ("quantity", "limit_price", "stop_price")


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    fields = ["created_at", "type", "from_status", "to_status", "actor", "data"]
    ordering = ["id"]


class ChildOrderInline(ReadOnlyTabularInline):
    """A routed order's children, one per venue and routing decision."""

    model = Order
    fk_name = "parent"
    verbose_name = "child order"
    verbose_name_plural = "child orders (each for one venue)"
    fields = ["id", "venue", "status", "quantity", "filled_quantity", "average_price",
              "limit_price", "time_in_force", "venue_cl_ord_id", "created_at"]
    ordering = ["id"]
    show_change_link = True


class OrderAdminForm(forms.ModelForm):
    """Checks a price/quantity edit with the same rules the API applies, before saving.

    A queued order changes in place; a live one gets a MODIFY sent to the venue.
    """

    class Meta:
        model = Order
        fields = list(_EDITABLE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "10", not "10.000000": the number as the API writes it.
        for field in _EDITABLE:
            if isinstance(self.initial.get(field), Decimal):
                self.initial[field] = decimal_text(self.initial[field])

    def clean(self):
        cleaned = super().clean()
        order = self.instance
        if order.status not in MODIFIABLE_STATUSES:
            raise forms.ValidationError(f"Order is {order.status}; it cannot be modified now.")
        terms = services.OrderTerms(
            symbol=order.symbol,
            side=order.side,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            quantity=cleaned.get("quantity", order.quantity),
            limit_price=cleaned.get("limit_price"),
            stop_price=cleaned.get("stop_price"),
        )
        try:
            services.order_terms_validate(terms=terms)
        except DomainError as exc:
            errors = {f: msgs for f, msgs in exc.details.items() if f in _EDITABLE}
            raise forms.ValidationError(errors or exc.message) from exc
        return cleaned


@admin.register(Order)
class OrderAdmin(BlotterAdminMixin, admin.ModelAdmin):
    form = OrderAdminForm
    # What an operator scans for, in a row that fits a laptop's screen without scrolling
    # (tests/orders/test_admin.py pins the columns); the rest is on the order's page.
    list_display = [
        "created_at", "client_order_id", "account", "symbol", "side", "qty", "cum_qty",
        "price", "status", "venue",
    ]
    list_display_links = ["created_at", "client_order_id"]
    list_filter = ["status", "venue", "routing", "account", "symbol", "side", "order_type"]
    search_fields = ["=id", "client_order_id", "account__code"]
    list_select_related = ["account", "venue"]
    show_full_result_count = False  # counting a large order table on every page is slow
    inlines = [ChildOrderInline, OrderEventInline, VenueRequestInline, FillInline,
               ExecutionReportInline]
    actions = ["cancel_selected_orders"]
    readonly_fields = [
        "id", "client_order_id", "account", "symbol", "side", "order_type", "time_in_force",
        "venue", "routing", "parent", "status", "cum_qty", "leaves_qty", "avg_px", "flag",
        "created_at", "updated_at",
    ]
    fields = readonly_fields[:7] + list(_EDITABLE) + readonly_fields[7:]

    # Decimals as the API writes them ("10", "150.25"), not as stored ("10.000000").
    @admin.display(description="qty", ordering="quantity")
    def qty(self, order: Order) -> str:
        return decimal_text(order.quantity)

    @admin.display(description="cumQty", ordering="filled_quantity")
    def cum_qty(self, order: Order) -> str:
        return decimal_text(order.filled_quantity)

    @admin.display(description="leavesQty")
    def leaves_qty(self, order: Order) -> str:
        return decimal_text(order.leaves_quantity)

    @admin.display(description="avgPx", empty_value="-")
    def avg_px(self, order: Order) -> str | None:
        return decimal_text(order.average_price)

    @admin.display(description="price")
    def price(self, order: Order) -> str:
        """The limit price; a stop order's trigger says so; a market order has none."""
        if order.stop_price is not None:
            stop = f"stop {decimal_text(order.stop_price)}"
            if order.limit_price is None:
                return stop
            return f"{decimal_text(order.limit_price)} ({stop})"
        return "MKT" if order.limit_price is None else decimal_text(order.limit_price)

    def has_add_permission(self, request):
        return False  # orders come in through the API, where intake rules apply

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail is kept; cancel instead

    def save_model(self, request, obj, form, change):
        # The form only checked; the change itself goes through the service, which locks the
        # row and re-checks the state, so a race with a dispatcher is decided there.
        try:
            services.order_modify(
                order_id=obj.pk,
                actor=services.actor_label(request.user),
                **{field: form.cleaned_data[field] for field in _EDITABLE},
            )
        except DomainError as exc:
            self.message_user(request, f"Not modified: {exc.message}", messages.ERROR)

    @admin.action(description="Cancel selected orders", permissions=["change"])
    def cancel_selected_orders(self, request, queryset):
        cancelled, requested, refused = 0, 0, []
        for order_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                order = services.order_cancel(
                    order_id=order_id, actor=services.actor_label(request.user)
                )
            except DomainError as exc:
                refused.append(f"{order_id}: {exc.message}")
                continue
            if order.status == OrderStatus.CANCELED:
                cancelled += 1
            else:
                requested += 1
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} order(s).", messages.SUCCESS)
        if requested:
            self.message_user(
                request, f"Cancel sent to the venue for {requested} live order(s).",
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request, "Not cancelled: " + "; ".join(refused), messages.WARNING
            )


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["code", "default_routing", "created_at"]
    search_fields = ["code", "users__username"]
    filter_horizontal = ["users"]
