"""Every row lock the risk app takes goes through here: one account's admission row, taken
after the order's own lock when there is one."""

from risk.models import AccountRisk


def lock_account(account: str) -> AccountRisk:
    """Lock the account's admission row for the rest of the transaction (created first if
    this is the account's first order; a concurrent first order creates nothing twice)."""
    row = AccountRisk.objects.select_for_update().filter(pk=account).first()
    if row is not None:
        return row
    AccountRisk.objects.bulk_create([AccountRisk(account=account)], ignore_conflicts=True)
    return AccountRisk.objects.select_for_update().get(pk=account)
