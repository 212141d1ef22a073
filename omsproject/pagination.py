"""Cursor pagination for every list of the API: newest first, `limit` and `cursor`, and
strict about both (a limit it cannot read is a 400, a cursor it did not issue a 404)."""

import binascii
from base64 import b64decode
from urllib.parse import parse_qs

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class StrictCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                # What get_page_size enforces; above max_page_size is read as max_page_size.
                parameter["schema"] |= {"minimum": 1}
                parameter["description"] = (f"Results per page, at least 1 (default "
                                            f"{self.page_size}; more than {self.max_page_size} "
                                            f"reads as {self.max_page_size}).")
        return parameters

    def position_is_valid(self, position: str) -> bool:
        """Whether a cursor's position can be an `ordering` value (subclasses say)."""
        return True

    def get_page_size(self, request):
        # DRF falls back to the default page size on a limit it cannot read; a client that
        # asked for something else should hear that it was not understood.
        given = request.query_params.get(self.page_size_query_param)
        if given is not None and not (given.isascii() and given.isdigit() and int(given) >= 1):
            raise ValidationError({"limit": ["A whole number of at least 1."]})
        return super().get_page_size(request)

    def decode_cursor(self, request):
        # DRF decodes leniently: garbage that is not base64 reads as "no cursor" (the first
        # page, silently), and a position of the wrong type reaches the database and fails
        # there (a 500). A cursor is only ever one we issued, so anything else is 404.
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None:
            try:
                decoded = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
                fields = parse_qs(decoded, keep_blank_values=True, strict_parsing=True)
            except (binascii.Error, UnicodeError, ValueError):
                raise NotFound(self.invalid_cursor_message) from None
            if not set(fields) <= {"o", "r", "p"}:
                raise NotFound(self.invalid_cursor_message)
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not self.position_is_valid(
            cursor.position
        ):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class SerialCursorPagination(StrictCursorPagination):
    """For tables keyed by a bigint sequence."""

    def position_is_valid(self, position: str) -> bool:
        return position.isascii() and position.isdigit() and int(position) < 2 ** 63
