import django_filters

from executions.models import Fill, FillState, Position


class FillFilter(django_filters.FilterSet):
    accountId = django_filters.CharFilter(field_name="account_id")
    symbol = django_filters.CharFilter()
    venue = django_filters.CharFilter(field_name="venue_id")
    orderId = django_filters.UUIDFilter(field_name="order_id")
    state = django_filters.ChoiceFilter(choices=FillState.choices)
    since = django_filters.IsoDateTimeFilter(
        field_name="transact_time", lookup_expr="gte",
        help_text="Fills whose transactTime is at or after this (ISO-8601).")
    until = django_filters.IsoDateTimeFilter(
        field_name="transact_time", lookup_expr="lt",
        help_text="Fills whose transactTime is before this (ISO-8601).")

    class Meta:
        model = Fill
        fields = ["accountId", "symbol", "venue", "orderId", "state", "since", "until"]


class PositionFilter(django_filters.FilterSet):
    accountId = django_filters.CharFilter(field_name="account_id")
    symbol = django_filters.CharFilter()

    class Meta:
        model = Position
        fields = ["accountId", "symbol"]
