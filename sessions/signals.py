from django.dispatch import Signal

# A venue's trading window has closed: sent once per close by session_reconcile, with
# keyword arguments venue_code: str and closed_at: datetime (UTC, the scheduled close).
#
# This is where orders expires queued DAY orders accepted before `closed_at`; sessions does
# not import orders, so it announces the close instead of acting on orders itself. It is
# sent whatever the logon state (a venue forced closed, halted or forced open still has its
# window close) and late if reconcile did not run at the close. Receivers run inside
# reconcile's transaction while the venue's session row is locked; if one raises, the close
# is announced again on the next run. So receivers must be idempotent.
session_window_closed = Signal()

# A kill switch changed: keyword arguments halted: bool, cancel_open_orders: bool, actor: str,
# and venue_code: str for one venue's own (absent: the global one). Sent inside the change's
# transaction while its row is locked; a receiver with much to do (cancelling every open
# order) schedules it with transaction.on_commit.
trading_halt_changed = Signal()
