"""Who sees what: the one rule every list and detail of account data follows."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet


def visible_to(queryset: QuerySet, *, user: AbstractBaseUser,
               account_field: str = "account") -> QuerySet:
    """Operators (staff) see every account's rows; a client only those of the accounts
    granted to it."""
    if user.is_staff:
        return queryset
    return queryset.filter(**{f"{account_field}__users": user})
