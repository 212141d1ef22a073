import django_filters

from omsproject.filters import StrictFilterSet, TextFilter
from orders.models import Order, OrderStatus


class OrderFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    symbol = TextFilter()
    accountId = TextFilter(field_name="account_id")
    venue = TextFilter(field_name="venue_id")

    class Meta:
        model = Order
        fields = ["status", "symbol", "accountId", "venue"]
