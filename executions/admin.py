"""What venues reported and what it adds up to, for operators: read, never edited here
(the services write it). Instruments are edited here."""

from django.contrib import admin

from executions.market_prices import latest_price
from executions.models import ExecutionReport, Fill, Instrument, Position
from executions.pnl import unrealized
from omsproject.admin_inlines import ReadOnlyAdmin, ReadOnlyTabularInline

_FILL_FIELDS = ["exec_id", "kind", "state", "side", "last_quantity", "last_price",
                "liquidity", "fee", "transact_time", "corrected", "original_quantity",
                "original_price", "quarantine_reason", "flag"]
_REPORT_FIELDS = ["received_at", "exec_id", "exec_type", "ord_status", "cl_ord_id",
                  "last_quantity", "last_price", "cum_quantity", "leaves_quantity",
                  "average_price", "exec_ref_id", "poss_dup", "flag", "text"]


class FillInline(ReadOnlyTabularInline):
    """An order's fills, on its admin page."""

    model = Fill
    fk_name = "order"
    fields = _FILL_FIELDS
    ordering = ["id"]


class ExecutionReportInline(ReadOnlyTabularInline):
    """An order's execution-report log, on its admin page."""

    model = ExecutionReport
    fields = _REPORT_FIELDS
    ordering = ["id"]


@admin.register(ExecutionReport)
class ExecutionReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "venue", "exec_id", "exec_type", "ord_status", "order",
                    "last_quantity", "last_price", "cum_quantity", "received_at", "flag"]
    list_filter = ["venue", "exec_type", "ord_status", "poss_dup"]
    search_fields = ["=exec_id", "=order__id", "=cl_ord_id", "=exec_ref_id"]
    list_select_related = ["order", "venue"]
    show_full_result_count = False
    readonly_fields = [f.name for f in ExecutionReport._meta.fields]


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ["id", "venue", "exec_id", "account", "symbol", "side", "last_quantity",
                    "last_price", "liquidity", "fee", "transact_time", "state", "flag"]
    list_filter = ["state", "kind", "venue", "liquidity", "quarantine_reason"]
    search_fields = ["=exec_id", "=order__id", "account__code", "symbol"]
    list_select_related = ["venue", "account"]
    show_full_result_count = False
    readonly_fields = [f.name for f in Fill._meta.fields]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["account", "symbol", "net_quantity", "average_cost", "realized_pnl",
                    "fees", "mark_price", "unrealized_pnl", "updated_at"]
    list_filter = ["symbol"]
    search_fields = ["account__code", "symbol"]
    readonly_fields = ["account", "symbol", "net_quantity", "average_cost", "realized_pnl",
                       "fees", "mark_price", "unrealized_pnl", "updated_at"]

    @admin.display(description="mark price")
    def mark_price(self, position):
        return latest_price(position.symbol)

    @admin.display(description="unrealized P&L")
    def unrealized_pnl(self, position):
        return unrealized(net=position.net_quantity, average_cost=position.average_cost,
                          mark=latest_price(position.symbol))


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["symbol", "price_decimals", "updated_at"]
    search_fields = ["symbol"]
