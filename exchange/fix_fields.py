"""The FIX 4.4 tags and values of docs/fix.md, by name.

The venue's rules are written in these terms, without QuickFIX, so they stay pure and a test
can read them next to the document.
"""

from __future__ import annotations

SOH = "\x01"

# Message types.
NEW_ORDER_SINGLE = "D"
ORDER_CANCEL_REPLACE_REQUEST = "G"
ORDER_CANCEL_REQUEST = "F"
ORDER_STATUS_REQUEST = "H"
EXECUTION_REPORT = "8"
ORDER_CANCEL_REJECT = "9"
BUSINESS_MESSAGE_REJECT = "j"
MARKET_DATA_REQUEST = "V"
MARKET_DATA_SNAPSHOT = "W"
MARKET_DATA_REQUEST_REJECT = "Y"
ORDER_MESSAGES = (NEW_ORDER_SINGLE, ORDER_CANCEL_REPLACE_REQUEST, ORDER_CANCEL_REQUEST)
# Session-level messages; everything else is an application message.
ADMIN_MESSAGE_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})

# Tags.
ACCOUNT = 1
AVG_PX = 6
CL_ORD_ID = 11
COMMISSION = 12
COMM_TYPE = 13
CUM_QTY = 14
EXEC_ID = 17
EXEC_REF_ID = 19
LAST_PX = 31
LAST_QTY = 32
MSG_SEQ_NUM = 34
MSG_TYPE = 35
ORDER_ID = 37
ORDER_QTY = 38
ORD_STATUS = 39
ORD_TYPE = 40
ORIG_CL_ORD_ID = 41
POSS_DUP_FLAG = 43
PRICE = 44
REF_SEQ_NUM = 45
SIDE = 54
SYMBOL = 55
TEXT = 58
TIME_IN_FORCE = 59
TRANSACT_TIME = 60
STOP_PX = 99
CXL_REJ_REASON = 102
ORD_REJ_REASON = 103
EXEC_TYPE = 150
LEAVES_QTY = 151
REF_MSG_TYPE = 372
BUSINESS_REJECT_REF_ID = 379
BUSINESS_REJECT_REASON = 380
CXL_REJ_RESPONSE_TO = 434
SECONDARY_CL_ORD_ID = 526
ORD_STATUS_REQ_ID = 790
LAST_LIQUIDITY_IND = 851
# Market data.
NO_RELATED_SYM = 146
MD_REQ_ID = 262
SUBSCRIPTION_REQUEST_TYPE = 263
MARKET_DEPTH = 264
MD_UPDATE_TYPE = 265
NO_MD_ENTRY_TYPES = 267
NO_MD_ENTRIES = 268
MD_ENTRY_TYPE = 269
MD_ENTRY_PX = 270
MD_ENTRY_SIZE = 271
MD_REQ_REJ_REASON = 281
# FIX 4.4's "display position of a bid or offer, 1 = most competitive": the level. (FIX 5's
# MDPriceLevel, 1023, is not in QuickFIX's FIX 4.4 dictionary; a W carrying it is refused.)
MD_ENTRY_POSITION_NO = 290

TAG_NAMES = {
    ORDER_QTY: "OrderQty",
    ORD_TYPE: "OrdType",
    PRICE: "Price",
    SIDE: "Side",
    SYMBOL: "Symbol",
    TIME_IN_FORCE: "TimeInForce",
    STOP_PX: "StopPx",
}

# ExecType (150).
EXEC_NEW = "0"
EXEC_CANCELED = "4"
EXEC_REPLACED = "5"
EXEC_REJECTED = "8"
EXEC_EXPIRED = "C"
EXEC_ORDER_STATUS = "I"
EXEC_TRADE = "F"
EXEC_TRADE_CORRECT = "G"
EXEC_TRADE_CANCEL = "H"

# OrdStatus (39), and the words the HTTP API shows for them.
NEW = "0"
PARTIALLY_FILLED = "1"
FILLED = "2"
CANCELED = "4"
REJECTED = "8"
EXPIRED = "C"
ORD_STATUS_WORDS = {
    "0": "NEW",
    "1": "PARTIALLY_FILLED",
    "2": "FILLED",
    "3": "DONE_FOR_DAY",
    "4": "CANCELED",
    "5": "REPLACED",
    "6": "PENDING_CANCEL",
    "7": "STOPPED",
    "8": "REJECTED",
    "9": "SUSPENDED",
    "A": "PENDING_NEW",
    "B": "CALCULATED",
    "C": "EXPIRED",
    "D": "ACCEPTED_FOR_BIDDING",
    "E": "PENDING_REPLACE",
}
CLOSED_STATUSES = frozenset({FILLED, CANCELED, REJECTED, EXPIRED})
SIDE_WORDS = {"1": "BUY", "2": "SELL"}
ORD_TYPE_WORDS = {"1": "MARKET", "2": "LIMIT", "3": "STOP", "4": "STOP_LIMIT"}
TIME_IN_FORCE_WORDS = {"0": "DAY", "1": "GTC", "3": "IOC", "4": "FOK"}

# Values the dialect defines (docs/fix.md, "OMS -> venue").
SIDES = frozenset(SIDE_WORDS)
MARKET, LIMIT, STOP, STOP_LIMIT = "1", "2", "3", "4"
ORD_TYPES = frozenset(ORD_TYPE_WORDS)
NEEDS_PRICE = frozenset({LIMIT, STOP_LIMIT})
NEEDS_STOP_PX = frozenset({STOP, STOP_LIMIT})
DAY = "0"
TIMES_IN_FORCE = frozenset(TIME_IN_FORCE_WORDS)

# Reject reasons.
ORD_REJ_OTHER = "99"
ORD_REJ_BROKER_OPTION = "0"
ORD_REJ_EXCHANGE_CLOSED = "2"
ORD_REJ_UNKNOWN_ORDER = "5"
CXL_REJ_TOO_LATE = "0"
CXL_REJ_UNKNOWN_ORDER = "1"
CXL_REJ_OTHER = "99"
CXL_REJ_RESPONSE_TO_CANCEL = "1"
CXL_REJ_RESPONSE_TO_REPLACE = "2"
BUSINESS_REJECT_OTHER = "0"
BUSINESS_REJECT_UNSUPPORTED_MESSAGE_TYPE = "3"

UNKNOWN_ORDER_ID = "NONE"


def parse_fields(text: str) -> dict[int, str]:
    """Tag -> value of a FIX message's text (SOH- or '|'-separated), first occurrence wins.

    The dialect's order messages have no repeating groups, so a flat map is the whole message.
    """
    separator = SOH if SOH in text else "|"
    fields: dict[int, str] = {}
    for part in text.split(separator):
        tag, sep, value = part.partition("=")
        if sep and tag.isdigit():
            fields.setdefault(int(tag), value)
    return fields
