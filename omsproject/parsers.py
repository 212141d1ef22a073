import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

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
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise errors.payload_too_large()
        try:
            text = raw.decode(encoding)
            return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
        except RecursionError as exc:
            raise ParseError("Malformed JSON: nested too deeply.") from exc


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
