from django.contrib import admin, messages

from omsproject.admin_inlines import ReadOnlyAdmin
from omsproject.errors import DomainError
from risk.models import RiskEvent, RiskLimits
from risk.services import EDITABLE, risk_limits_update


@admin.register(RiskLimits)
class RiskLimitsAdmin(admin.ModelAdmin):
    """Each account's limits ("*": everyone's defaults). A save goes through the service, so
    it is checked as the API checks it and audited (Risk events)."""

    list_display = ["account", "halted", "max_order_quantity", "max_order_notional",
                    "max_position", "buying_power", "max_orders_per_second",
                    "price_band_percent", "changed_by", "changed_at"]
    list_filter = ["halted"]
    search_fields = ["account"]
    fields = ["account", *EDITABLE, "changed_by", "changed_at"]
    readonly_fields = ["changed_by", "changed_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "account"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        try:
            risk_limits_update(account=obj.account, actor=request.user.get_username(),
                               **{field: form.cleaned_data[field] for field in EDITABLE})
        except DomainError as exc:
            self.message_user(request, f"Not changed: {exc.message} {exc.details}",
                              messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        return False  # set fields to empty to inherit; the history stays


@admin.register(RiskEvent)
class RiskEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "actor", "before", "after"]
    list_filter = ["account"]
    search_fields = ["account", "actor"]
