"""Checks that apps above orders (risk) hand to it at start-up, so orders need not import
them: each is called inside the order's transaction before anything is written, and
refuses by raising a DomainError, which rolls the transaction back.

    admission_checks: f(*, order_id, account, venue, terms, fingerprint) for a new order
    amend_checks:     f(*, order, after) for a change of quantity or price (`after`: the
                      order's OrderTerms once changed)
    child_checks:     f(*, account, venue, terms) for a routed order's child, before it is
                      queued for its venue (`terms`: the child's)
    history_removed:  f(*, order_ids) when retention removes these (done, old) orders, in
                      its transaction: what an app above keeps per order goes with them
"""

from collections.abc import Callable

admission_checks: list[Callable[..., None]] = []
amend_checks: list[Callable[..., None]] = []
child_checks: list[Callable[..., None]] = []
history_removed: list[Callable[..., None]] = []


def run_admission_checks(**kwargs) -> None:
    for check in admission_checks:
        check(**kwargs)


def run_amend_checks(**kwargs) -> None:
    for check in amend_checks:
        check(**kwargs)


def run_child_checks(**kwargs) -> None:
    for check in child_checks:
        check(**kwargs)


def run_history_removed(**kwargs) -> None:
    for forget in history_removed:
        forget(**kwargs)
