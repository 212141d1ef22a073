"""The FIX 4.4 side of venues: the codec between the OMS's messages and FIX, and the process
that holds each venue's session (docs/fix.md is the dialect).

This package knows FIX and nothing of the queue or the books: what to send comes from an
Outbox and what the venue says goes to an Inbox (venues/fix/ports.py), both given to the
holder by the process that starts it (omsproject/fixholder.py).
"""
