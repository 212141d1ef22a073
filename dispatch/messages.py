"""The FIX message (venues/fix/codec.py's dict) a claimed request is sent as."""

from dispatch.models import RequestKind, VenueRequest
from omsproject.decimals import decimal_text

_MSG_TYPES = {RequestKind.NEW: "D", RequestKind.MODIFY: "G", RequestKind.CANCEL: "F",
              RequestKind.STATUS: "H"}


def message_for(request: VenueRequest) -> dict:
    """`request.order` is loaded and locked (the claim). A NEW goes with the order's terms as
    they are now, which is how an in-place modify of a queued order reaches the venue; a
    replace or cancel names the order's current ClOrdID at the venue."""
    order = request.order
    message = {
        "msgType": _MSG_TYPES[request.kind],
        "clOrdId": request.cl_ord_id,
        "secondaryClOrdId": order.client_order_id,
        "account": order.account_id,
        "symbol": order.symbol,
        "side": order.side,
    }
    if request.kind == RequestKind.STATUS:
        # The venue finds the order by any ClOrdID of it that it accepted; the NEW's is
        # the one it has for certain if it has the order at all.
        message |= {"clOrdId": order.venue_cl_ord_id, "ordStatusReqId": request.cl_ord_id,
                    "orderId": order.venue_order_id or None}
        return message
    if request.kind != RequestKind.NEW:
        message |= {"origClOrdId": order.venue_cl_ord_id, "orderId": order.venue_order_id or None}
    if request.kind == RequestKind.CANCEL:
        return message | {"quantity": decimal_text(order.quantity)}
    if request.kind == RequestKind.NEW:
        request.quantity = order.quantity
        request.limit_price = order.limit_price
        request.stop_price = order.stop_price
    return message | {
        "quantity": decimal_text(request.quantity),
        "orderType": order.order_type,
        "limitPrice": decimal_text(request.limit_price),
        "stopPrice": decimal_text(request.stop_price),
        "timeInForce": order.time_in_force,
    }
