from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# What the API reads for a decimal: a JSON number, or a string of plain decimal digits.
DECIMAL_STRING = r"^-?[0-9]+(\.[0-9]+)?$"


@extend_schema_field({
    "oneOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_STRING}],
    "description": "A decimal: read from a JSON number or string, written as an exact string.",
})
class PlainDecimalField(serializers.DecimalField):
    """A decimal rendered exactly, as a string without trailing zeros: "320.5", "10"."""

    def to_representation(self, value):
        return None if value is None else format(value.normalize(), "f")


@extend_schema_field({
    # Not `format: time`: that is RFC 3339's full-time, which needs a UTC offset, and these
    # are local wall times in the venue's zone, deliberately without one.
    "type": "string", "pattern": r"^[0-2][0-9]:[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
    "example": "09:30:00",
})
class WallTimeField(serializers.TimeField):
    """A local wall time, HH:MM[:SS], with no UTC offset."""
