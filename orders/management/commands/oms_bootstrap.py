"""Make a fresh install usable at once: a demo operator, its API token, and how to call the API.

Idempotent, so `./oms run` calls it on every start.
"""

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from omsproject.secret_files import secret_file_value
from venues.services import venue_get_or_create_default

USERNAME = "operator"
PASSWORD_ENV = "OMS_OPERATOR_PASSWORD"
EXAMPLE_ORDER = {
    "clientOrderId": "demo-1",
    "accountId": "ACC-1",
    "symbol": "AAPL",
    "side": "BUY",
    "orderType": "MARKET",
    "quantity": 10,
    "timeInForce": "DAY",
}


class Command(BaseCommand):
    help = ("Ensure the demo operator (staff superuser), its API token and the default venue "
            "exist; print how to call the API.")

    def handle(self, *args, **options) -> None:
        password_file = settings.VAR_DIR / "operator_password"
        given = os.environ.get(PASSWORD_ENV)
        with transaction.atomic():
            user, password = self._operator_ensure(
                given_password=given, password_file=password_file
            )
            token, _ = Token.objects.get_or_create(user=user)
        # The default venue, its trading session and its FIX session exist before the first
        # order: the session holder logs it on, and an operator can set its schedule first.
        venue_get_or_create_default()
        self._print(password=password, token=token.key)

    def _operator_ensure(
        self, *, given_password: str | None, password_file: Path
    ) -> tuple[AbstractBaseUser, str | None]:
        User = get_user_model()
        user = User.objects.filter(username=USERNAME).first()
        if user is None:
            password = given_password or secret_file_value(
                password_file, generate=lambda: secrets.token_urlsafe(12)
            )
            user = User.objects.create_superuser(username=USERNAME, email="", password=password)
            return user, password
        if given_password:
            user.set_password(given_password)
            user.save(update_fields=["password"])
            return user, given_password
        # Keep a password someone changed in admin; only show the stored one if still valid.
        stored = password_file.read_text().strip() if password_file.exists() else ""
        if stored and user.check_password(stored):
            return user, stored
        return user, None

    def _print(self, *, password: str | None, token: str) -> None:
        port = os.environ.get("PORT", "8000")
        shown = password or f"(changed since set-up; set {PASSWORD_ENV} to reset it)"
        body = json.dumps(EXAMPLE_ORDER, separators=(",", ":"))
        lines = [
            "",
            "Demo operator (staff superuser, for the admin and the API):",
            f"  username  {USERNAME}",
            f"  password  {shown}",
            f"  API token {token}",
            "Send an order:",
            f'  curl -H "Authorization: Token {token}" -H "Content-Type: application/json" \\',
            f"       -d '{body}' \\",
            f"       http://127.0.0.1:{port}/api/v1/orders",
            "",
        ]
        self.stdout.write("\n".join(lines))
