"""python -m bench.floor setup: migrate the floor's database (DATABASE_URL) and give a user
a token; prints the token's key, alone on the last line."""

import os
import sys


def main(argv: list[str]) -> int:
    if argv != ["setup"]:
        print("usage: python -m bench.floor setup", file=sys.stderr)
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", "--noinput", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="floor-bench")
    print(Token.objects.get_or_create(user=user)[0].key)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
