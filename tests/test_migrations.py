from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    """A model edited without `makemigrations` runs in tests (which migrate from the models)
    and breaks on a real database; this catches it first."""
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail(f"models and migrations differ (exit {exc.code}):\n{out.getvalue()}")
