import django_filters

from omsproject.filters import StrictFilterSet, TextFilter
from orders.models import Order, OrderStatus


class OrderFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    symbol = TextFilter()
    accountId = TextFilter(field_name="account_id")
    venue = TextFilter(field_name="venue_id")
    parentOrderId = django_filters.UUIDFilter(field_name="parent_id",
                                              help_text="A routed order's children.")
    isChild = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_is_child",
        help_text="false: clients' orders only (routed ones as their parents); true: "
                  "routed orders' children only.")

    class Meta:
        model = Order
        fields = ["status", "symbol", "accountId", "venue", "parentOrderId", "isChild"]

    def filter_is_child(self, queryset, name, value):
        return queryset.filter(parent__isnull=value == "false")
