"""Serializer rules every API shares: unknown fields and wrong JSON types are refused."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers


def _json_type_error(field: serializers.Field, value) -> str | None:
    """DRF coerces across JSON types (1 -> "1" for a string, "yes" -> True for a boolean,
    "7" -> 7 for an integer). The API takes each field in the JSON type its schema names."""
    if value is None:
        return None  # allow_null decides
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:
            if error := _json_type_error(field.child, item):
                return error
        return None
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "Must be a JSON boolean."
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return "Must be a JSON integer."
    if isinstance(field, (serializers.CharField, serializers.ChoiceField, serializers.TimeField,
                          serializers.DateField)) and not isinstance(value, str):
        return "Must be a JSON string."
    return None


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (a misspelt "limitPrise" must not be dropped silently)
    and values of the wrong JSON type."""

    # The OpenAPI schema says so (additionalProperties: false, StrictSerializerSchema below),
    # and states min_properties (a PATCH that changes nothing is refused) and what
    # openapi_refine adds: rules across fields that a schema can state (a reason when halting).
    min_properties = 0

    @classmethod
    def openapi_refine(cls, schema: dict) -> dict:
        return schema

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))}
            for name, field in self.fields.items():
                if name in data and (error := _json_type_error(field, data[name])):
                    errors[name] = [error]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


NO_NUL = "^[^\\u0000]*$"


class StrictSerializerSchema(OpenApiSerializerExtension):
    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        for name, field in self.target.fields.items():
            prop = schema["properties"].get(name, {})
            if isinstance(field, serializers.CharField) and prop.get("type") == "string" and (
                    "pattern" not in prop):
                prop["pattern"] = NO_NUL  # DRF refuses NUL in any CharField
        schema["additionalProperties"] = False
        if self.target.min_properties:
            schema["minProperties"] = self.target.min_properties
        return self.target.openapi_refine(schema)
