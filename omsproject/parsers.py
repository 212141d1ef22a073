import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

# The module, not the name: omsproject.errors imports DRF's views, which import this parser.
from omsproject import errors


class DecimalJSONParser(JSONParser):
    """JSON parser that reads numbers with a fraction as Decimal, never float.

    A price like 320.10 must reach the order exactly as the client wrote it. NaN and
    Infinity are refused, as RFC 8259 requires.

    DRF 3.18 hands JSON parsers request.body, where Django's DATA_UPLOAD_MAX_MEMORY_SIZE check
    raises RequestDataTooBig (a 413 through omsproject.errors); earlier DRF versions streamed
    the body past that check. The limit is also enforced here, reading at most limit + 1
    bytes, so it holds whichever way DRF reads.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        return _parse_json(stream, parser_context, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


class BatchJSONParser(BaseParser):
    """The same JSON, for a batch of orders: up to OMS_BATCH_MAX_BYTES instead of
    DATA_UPLOAD_MAX_MEMORY_SIZE (500 orders do not fit in 64 KiB). Not a JSONParser
    subclass on purpose: DRF hands those request.body, which Django caps at
    DATA_UPLOAD_MAX_MEMORY_SIZE; this one reads the stream itself, at most limit + 1 bytes."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return _parse_json(stream, parser_context, limit=settings.OMS_BATCH_MAX_BYTES)


def _parse_json(stream, parser_context, *, limit: int | None):
    encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
    raw = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(raw) > limit:
        raise errors.payload_too_large(limit)
    try:
        text = raw.decode(encoding)
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"Malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise ParseError("Malformed JSON: nested too deeply.") from exc


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
