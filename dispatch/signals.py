"""What dispatch tells the order books (orders/receivers.py) inside its own transactions:
dispatch sits below orders and imports nothing of it."""

from django.dispatch import Signal

# NEWs were claimed: committed as possibly on the wire. Keyword arguments: venue_code, and
# claimed: list of (order, cl_ord_id), each order the row the claim read (and locked). The
# orders become PENDING_NEW, known at the venue by that ClOrdID.
new_orders_claimed = Signal()

# NEWs that never left after all (the send gate held them, or the venue says it never got
# them): back in the queue at their places. Keyword arguments: venue_code, order_ids, why.
new_orders_returned = Signal()

# DAY orders of a session that has closed, never sent: they expire. Keyword arguments:
# venue_code, order_ids, why.
new_orders_expired = Signal()

# Questions to the venue (STATUS requests) that went unanswered and were given up, about
# orders with nothing else waiting for an answer (a logon's questions): the books ask again
# about those still open. Keyword arguments: venue_code, order_ids. Receivers return how many
# they asked about.
status_questions_given_up = Signal()
