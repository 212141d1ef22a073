"""Factories for what has no service of its own (users, accounts). Orders are made through
orders.services, so tests exercise the same path as the API."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from orders import services
from orders.models import Account, Order


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-only")


class OperatorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"operator{n}")
    is_staff = True
    is_superuser = True


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"ACC-{n}")

    @factory.post_generation
    def users(self, create, extracted, **kwargs):
        if create and extracted:
            self.users.add(*extracted)


def order_terms(**overrides) -> services.OrderTerms:
    values = {
        "symbol": "AAPL",
        "side": "BUY",
        "order_type": "LIMIT",
        "quantity": Decimal("10"),
        "limit_price": Decimal("150.25"),
        "stop_price": None,
        "time_in_force": "DAY",
    }
    values.update(overrides)
    return services.OrderTerms(**values)


_client_order_ids = iter(range(1, 10**9))


def make_order(*, user, account_code: str, client_order_id: str | None = None, **terms) -> Order:
    order, created = services.order_create(
        user=user,
        account_code=account_code,
        client_order_id=client_order_id or f"cl-{next(_client_order_ids)}",
        terms=order_terms(**terms),
    )
    assert created
    return order
