import django_filters

from executions.models import Fill, FillState, Position
from omsproject.filters import StrictFilterSet, TextFilter, UtcDateTimeFilter


class FillFilter(StrictFilterSet):
    accountId = TextFilter(field_name="account_id")
    symbol = TextFilter()
    venue = TextFilter(field_name="venue_id")
    orderId = django_filters.UUIDFilter(field_name="order_id")
    state = django_filters.ChoiceFilter(choices=FillState.choices)
    since = UtcDateTimeFilter(
        field_name="transact_time", lookup_expr="gte",
        help_text="Fills whose transactTime is at or after this (ISO-8601).")
    until = UtcDateTimeFilter(
        field_name="transact_time", lookup_expr="lt",
        help_text="Fills whose transactTime is before this (ISO-8601).")

    class Meta:
        model = Fill
        fields = ["accountId", "symbol", "venue", "orderId", "state", "since", "until"]


class PositionFilter(StrictFilterSet):
    accountId = TextFilter(field_name="account_id")
    symbol = TextFilter()

    class Meta:
        model = Position
        fields = ["accountId", "symbol"]
