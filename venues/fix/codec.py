"""Between the OMS's outbound message dicts and QuickFIX messages, and from QuickFIX messages
to VenueMessage. QuickFIX has already checked framing, checksum, sequence and the data
dictionary before anything reaches `read`; this only names the fields the OMS uses.

An outbound message is a dict of plain values that dispatch builds and stores on its request
(so what was sent stays readable in the database and the API):

    {"msgType": "D" | "G" | "F" | "H", "clOrdId", "origClOrdId", "orderId",
     "secondaryClOrdId", "account", "symbol", "side": "BUY" | "SELL",
     "orderType": "MARKET" | "LIMIT" | "STOP" | "STOP_LIMIT", "quantity", "limitPrice",
     "stopPrice", "timeInForce": "DAY" | "GTC" | "IOC" | "FOK", "ordStatusReqId"}

Decimals travel as exact strings; absent values are None or missing.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import quickfix as fix

BEGIN_STRING = "FIX.4.4"
SOH = "\x01"

SIDES = {"BUY": "1", "SELL": "2"}
ORDER_TYPES = {"MARKET": "1", "LIMIT": "2", "STOP": "3", "STOP_LIMIT": "4"}
TIMES_IN_FORCE = {"DAY": "0", "GTC": "1", "IOC": "3", "FOK": "4"}

# Which of the dict's keys each message carries, and as which tag, in this order.
_TAGS = {
    "clOrdId": 11, "origClOrdId": 41, "orderId": 37, "secondaryClOrdId": 526, "account": 1,
    "symbol": 55, "side": 54, "quantity": 38, "orderType": 40, "limitPrice": 44,
    "stopPrice": 99, "timeInForce": 59, "ordStatusReqId": 790,
}
_CODES = {"side": SIDES, "orderType": ORDER_TYPES, "timeInForce": TIMES_IN_FORCE}
_FIELDS = {
    "D": ("clOrdId", "secondaryClOrdId", "account", "symbol", "side", "quantity", "orderType",
          "limitPrice", "stopPrice", "timeInForce"),
    "G": ("origClOrdId", "clOrdId", "orderId", "secondaryClOrdId", "account", "symbol", "side",
          "quantity", "orderType", "limitPrice", "stopPrice", "timeInForce"),
    "F": ("origClOrdId", "clOrdId", "orderId", "secondaryClOrdId", "account", "symbol", "side",
          "quantity"),
    "H": ("clOrdId", "orderId", "ordStatusReqId", "secondaryClOrdId", "account", "symbol",
          "side"),
}
_TRANSACT_TIME = {"D", "G", "F"}
TRANSACT_TIME_TAG = 60


def fix_timestamp(moment: datetime) -> str:
    """UTCTimestamp with milliseconds, as FIX 4.4 writes it."""
    return moment.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def build(message: dict, *, now: datetime | None = None) -> fix.Message:
    """A QuickFIX message for one of the OMS's outbound dicts (header: BeginString, MsgType;
    the session fills in the rest when it sends)."""
    msg_type = message["msgType"]
    result = fix.Message()
    header = result.getHeader()
    header.setField(fix.BeginString(BEGIN_STRING))
    header.setField(fix.MsgType(msg_type))
    for key in _FIELDS[msg_type]:
        value = message.get(key)
        if value is None or value == "":
            continue
        codes = _CODES.get(key)
        result.setField(_TAGS[key], codes[value] if codes else str(value))
    if msg_type in _TRANSACT_TIME:
        result.setField(TRANSACT_TIME_TAG, fix_timestamp(now or datetime.now(UTC)))
    return result


def text(message: fix.Message) -> str:
    """The message as it travels, SOH shown as | (for logs and the database)."""
    return message.toString().replace(SOH, "|")


@dataclass(frozen=True)
class VenueMessage:
    """An application message from a venue: every tag as received, the ones the OMS reads
    by name."""

    msg_type: str
    seq_num: int
    poss_dup: bool
    raw: str
    tags: dict[int, str] = field(repr=False)

    def get(self, tag: int) -> str:
        return self.tags.get(tag, "")

    def decimal(self, tag: int) -> Decimal | None:
        value = self.tags.get(tag)
        if value in (None, ""):
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            return None

    def timestamp(self, tag: int) -> datetime | None:
        value = self.tags.get(tag)
        for shape in ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"):
            try:
                return datetime.strptime(value or "", shape).replace(tzinfo=UTC)
            except ValueError:
                continue
        return None

    cl_ord_id = property(lambda self: self.get(11))
    orig_cl_ord_id = property(lambda self: self.get(41))
    order_id = property(lambda self: self.get(37))
    exec_id = property(lambda self: self.get(17))
    exec_type = property(lambda self: self.get(150))
    ord_status = property(lambda self: self.get(39))
    ord_rej_reason = property(lambda self: self.get(103))
    ord_status_req_id = property(lambda self: self.get(790))
    text = property(lambda self: self.get(58))
    cxl_rej_reason = property(lambda self: self.get(102))
    cxl_rej_response_to = property(lambda self: self.get(434))
    ref_seq_num = property(lambda self: self.get(45))
    ref_msg_type = property(lambda self: self.get(372))
    business_reject_ref_id = property(lambda self: self.get(379))
    business_reject_reason = property(lambda self: self.get(380))
    session_reject_reason = property(lambda self: self.get(373))

    def as_dict(self) -> dict:
        """For storing as a request's response: the tags by number, and how it arrived."""
        return {"msgType": self.msg_type, "seqNum": self.seq_num, "possDup": self.poss_dup,
                "tags": {str(tag): value for tag, value in self.tags.items()}}


_HEADER_TAGS = {8, 9, 10, 34, 35, 43, 49, 52, 56, 97, 122}


def read(message: fix.Message) -> VenueMessage:
    """A received message, already validated by QuickFIX, as a VenueMessage."""
    raw = message.toString()
    tags: dict[int, str] = {}
    header: dict[int, str] = {}
    for pair in raw.split(SOH):
        tag, sep, value = pair.partition("=")
        if not sep or not tag.isdigit():
            continue
        target = header if int(tag) in _HEADER_TAGS else tags
        target.setdefault(int(tag), value)  # a repeating group keeps its first entry
    return VenueMessage(
        msg_type=header.get(35, ""),
        seq_num=int(header.get(34, "0") or 0),
        poss_dup=header.get(43) == "Y",
        raw=raw.replace(SOH, "|"),
        tags=tags,
    )
