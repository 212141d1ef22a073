"""Writes of the executions app: reports recorded once, fills booked, busted and corrected,
positions kept in step. The order side of a report (its status, cumQty, avgPx) is
orders/services/venue_reports.py's, which calls these in the same transaction."""

from executions.services.fills import (
    fill_book,
    fill_bust,
    fill_correct,
    fill_find,
    fill_reconcile,
    fill_reconciled,
    fill_trade_problem,
    order_fill_totals,
    parent_fill_totals,
)
from executions.services.positions import position_book_from_fills, position_rebuild
from executions.services.reports import (
    execution_report_flag,
    execution_report_record,
    execution_report_unknown_values,
)

__all__ = [
    "execution_report_flag",
    "execution_report_record",
    "execution_report_unknown_values",
    "fill_book",
    "fill_bust",
    "fill_correct",
    "fill_find",
    "fill_reconcile",
    "fill_reconciled",
    "fill_trade_problem",
    "order_fill_totals",
    "parent_fill_totals",
    "position_book_from_fills",
    "position_rebuild",
]
