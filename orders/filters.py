import django_filters

from orders.models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    symbol = django_filters.CharFilter()
    accountId = django_filters.CharFilter(field_name="account_id")
    venue = django_filters.CharFilter(field_name="venue_id")

    class Meta:
        model = Order
        fields = ["status", "symbol", "accountId", "venue"]
