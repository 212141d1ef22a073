"""A venue's fees: per share, maker or taker, in the instrument's currency.

The commission of a trade is its quantity times the rate of its liquidity, exact (Decimal);
reported as 12 Commission with 13 CommType=3 (absolute). A negative rate is a rebate.
"""

from __future__ import annotations

from decimal import Decimal

from exchange.market_config import MarketConfig

MAKER = "1"  # LastLiquidityInd (851): added liquidity
TAKER = "2"  # removed liquidity
LIQUIDITY_WORDS = {MAKER: "MAKER", TAKER: "TAKER"}
COMM_TYPE_ABSOLUTE = "3"


def commission(liquidity: str, quantity: Decimal, config: MarketConfig) -> Decimal:
    rate = config.maker_fee if liquidity == MAKER else config.taker_fee
    # normalize: 100 x 0.0030 reads "0.3", and 0 x anything "0", not "0E-4".
    return (quantity * rate).normalize() + Decimal(0)
