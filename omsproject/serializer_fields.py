import re
from decimal import Decimal

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# What the API reads for a decimal: a JSON number, or a string of plain decimal digits.
DECIMAL_STRING = r"^-?[0-9]+(\.[0-9]+)?$"


def _positive_decimal_pattern(*, integer_digits: int, places: int) -> str:
    """A string of plain decimal digits greater than zero, of at most `integer_digits` and
    `places` (leading zeros do not count, as they do not for the server)."""
    nonzero_fraction = "|".join(
        f"0{{{zeros}}}[1-9][0-9]{{0,{places - zeros - 1}}}" for zeros in range(places))
    return (rf"^(0*[1-9][0-9]{{0,{integer_digits - 1}}}(\.[0-9]{{1,{places}}})?"
            rf"|0+\.({nonzero_fraction}))$")


def _decimal_pattern(*, integer_digits: int, places: int) -> str:
    return rf"^-?0*[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{places}}})?$"


class PlainDecimalField(serializers.DecimalField):
    """A decimal rendered exactly, as a string without trailing zeros: "320.5", "10".

    Read from a JSON number or a string of plain digits (no exponent, sign "+", spaces), so
    the OpenAPI schema can state exactly what is taken. `positive`: greater than zero, which
    the schema states as an exclusive minimum.
    """

    default_error_messages = {
        "positive": "Must be greater than zero.",
        "plain": "A decimal number: digits, optionally a point and more digits.",
    }

    def __init__(self, *args, positive: bool = False, **kwargs):
        self.positive = positive
        super().__init__(*args, **kwargs)

    @property
    def integer_digits(self) -> int:
        return self.max_digits - self.decimal_places

    def string_pattern(self) -> str:
        shape = {"integer_digits": self.integer_digits, "places": self.decimal_places}
        return _positive_decimal_pattern(**shape) if self.positive else _decimal_pattern(**shape)

    def validate_empty_values(self, data):
        # DRF's DecimalField reads "" (and "  ") as null when null is allowed; the schema
        # says a string of digits or null, so "" is refused like any other non-number.
        if isinstance(data, str) and not data.strip():
            self.fail("plain")
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if isinstance(data, str) and not re.fullmatch(DECIMAL_STRING, data):
            self.fail("plain")
        value = super().to_internal_value(data)
        if self.positive and value <= 0:
            self.fail("positive")
        return value

    def to_representation(self, value):
        return None if value is None else format(value.normalize(), "f")


class PlainDecimalFieldSchema(OpenApiSerializerFieldExtension):
    """What the server reads (requests) and writes (responses) for a PlainDecimalField."""

    target_class = PlainDecimalField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field: PlainDecimalField = self.target
        if direction == "response":
            return {"type": "string", "pattern": DECIMAL_STRING,
                    "description": "A decimal, as an exact string."}
        bound = 10 ** field.integer_digits
        number = {
            "type": "number",
            # OpenAPI 3.0's boolean form: 0 < x < 10^integer digits, in steps of the places.
            "minimum": 0 if field.positive else -bound, "exclusiveMinimum": True,
            "maximum": bound, "exclusiveMaximum": True,
            "multipleOf": float(Decimal(1).scaleb(-field.decimal_places)),
        }
        return {
            "oneOf": [number, {"type": "string", "pattern": field.string_pattern()}],
            "description": f"A decimal{' greater than zero' if field.positive else ''}: at "
            f"most {field.integer_digits} digits before the point and "
            f"{field.decimal_places} after, from a JSON number or a string of plain digits; "
            "written as an exact string.",
        }


@extend_schema_field({
    # Not `format: time`: that is RFC 3339's full-time, which needs a UTC offset, and these
    # are local wall times in the venue's zone, deliberately without one.
    "type": "string", "pattern": r"^[0-2][0-9]:[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
    "example": "09:30:00",
})
class WallTimeField(serializers.TimeField):
    """A local wall time, HH:MM[:SS], with no UTC offset."""
