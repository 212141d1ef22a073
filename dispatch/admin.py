from django.contrib import admin

from dispatch.models import UnmatchedResponse, VenueRequest
from omsproject.admin_inlines import ReadOnlyAdmin, ReadOnlyTabularInline

_REQUEST_FIELDS = [
    "id", "request_id", "order", "venue", "kind", "state", "quantity", "limit_price",
    "stop_price", "attempts", "queued_at", "claimed_at", "claimed_by", "sent_at",
    "responded_at", "result", "reason", "latency_micros", "message", "response",
]


@admin.register(VenueRequest)
class VenueRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "venue", "kind", "state", "order", "attempts", "queued_at",
                    "sent_at", "result", "reason", "latency_micros"]
    list_filter = ["venue", "kind", "state", "result"]
    search_fields = ["=request_id", "=order__id", "order__client_order_id"]
    list_select_related = ["order", "venue"]
    show_full_result_count = False
    fields = _REQUEST_FIELDS
    readonly_fields = _REQUEST_FIELDS


@admin.register(UnmatchedResponse)
class UnmatchedResponseAdmin(ReadOnlyAdmin):
    list_display = ["id", "venue", "received_at", "request_id", "why"]
    list_filter = ["venue"]
    search_fields = ["request_id"]
    readonly_fields = ["venue", "received_at", "request_id", "why", "payload"]


class VenueRequestInline(ReadOnlyTabularInline):
    model = VenueRequest
    fields = ["kind", "state", "quantity", "limit_price", "stop_price", "attempts",
              "queued_at", "sent_at", "responded_at", "result", "reason", "latency_micros"]
    ordering = ["id"]
