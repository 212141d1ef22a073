"""Query filters every list of the API shares, strict as the OpenAPI schema states them."""

from datetime import datetime, timezone

import django_filters
from drf_spectacular.utils import extend_schema_field


@extend_schema_field({"type": "string", "minLength": 1, "pattern": "^[^\\u0000]*$"})
class TextFilter(django_filters.CharFilter):
    """An exact value; empty or with a NUL is refused, as the schema says."""


class StrictFilterSet(django_filters.FilterSet):
    """A filter given with an empty value (`?status=`) is a 400, not "no filter": django-filter
    would ignore it, and a client that sent it meant something. The schema states it
    (minLength 1, an enum without "")."""

    def is_valid(self):
        valid = super().is_valid()
        empty = [name for name in self.filters
                 if name in self.data and "" in self.data.getlist(name)]
        for name in empty:
            self.form.add_error(name, "Give a value, or leave the parameter out.")
        return valid and not empty


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO-8601 time, compared in UTC: PostgreSQL refuses offsets past +-15:59 that RFC 3339
    allows (a 500), and one near year 9999 may pass the calendar's end in UTC."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(timezone.utc)
            except OverflowError:
                value = datetime.max.replace(tzinfo=timezone.utc) if value.year > 1 else (
                    datetime.min.replace(tzinfo=timezone.utc))
        return super().filter(qs, value)
