from rest_framework import serializers


class PlainDecimalField(serializers.DecimalField):
    """A decimal rendered exactly, as a string without trailing zeros: "320.5", "10"."""

    def to_representation(self, value):
        return None if value is None else format(value.normalize(), "f")
