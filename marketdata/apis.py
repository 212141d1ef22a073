import re

import redis
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from marketdata import selectors
from marketdata.errors import MarketDataNotFound, MarketDataUnavailable
from marketdata.serializers import MarketDataOutput
from omsproject.schema import ERROR_RESPONSES

_SYMBOL = re.compile(selectors.SYMBOL_PATTERN)


class MarketDataApi(GenericAPIView):
    serializer_class = MarketDataOutput

    @extend_schema(
        parameters=[OpenApiParameter(
            "symbol", str, OpenApiParameter.PATH, pattern=selectors.SYMBOL_PATTERN,
            description="An order's symbol (anything else has no market data: 404).")],
        responses={200: MarketDataOutput, **ERROR_RESPONSES},
    )
    def get(self, request, symbol):
        # Checked before Redis sees it: a key is built from it.
        if len(symbol) > selectors.SYMBOL_MAX_LENGTH or not _SYMBOL.fullmatch(symbol):
            raise MarketDataNotFound(f"No market data for {symbol[:32]!r}.")
        try:
            quotes = selectors.quotes_for_symbol(symbol=symbol)
        except redis.RedisError as exc:
            raise MarketDataUnavailable("Market data is unavailable; retry shortly.") from exc
        return Response(MarketDataOutput({"symbol": symbol, "venues": quotes}).data)
