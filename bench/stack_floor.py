"""The floor in the bench stack (bench/floor/): its own database on the same PostgreSQL
server (`<database>_floor`, dropped and made afresh), migrated, a user with a token, and
gunicorn on a port of its own with exactly the OMS web's settings (Stack._gunicorn). A part
of bench/stack.py's Stack, which runs the processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.stack_venues import StackError

REPO = Path(__file__).resolve().parent.parent


class StackFloor:
    """Needs the Stack's pg, database, floor_port, _gunicorn and env."""

    @property
    def floor_database(self) -> str:
        return f"{self.database}_floor"

    @property
    def floor_database_url(self) -> str:
        return f"{self.pg}/{self.floor_database}"

    def floor_env(self) -> dict[str, str]:
        return {"DJANGO_SETTINGS_MODULE": "bench.floor.settings",
                "DATABASE_URL": self.floor_database_url}

    def floor_database_drop(self) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.floor_database}" WITH (FORCE)')

    def floor_start(self) -> None:
        """A fresh database, migrated, a token (`floor_token`); then the web."""
        import psycopg

        self.floor_database_drop()
        with psycopg.connect(f"{self.pg}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.floor_database}"')
        # Its own process: this one's Django is set up with the OMS's settings.
        done = subprocess.run([sys.executable, "-m", "bench.floor", "setup"], cwd=REPO,
                              env={**self.env(), **self.floor_env()}, capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            raise StackError(f"the floor's setup failed:\n{done.stderr[-3000:]}")
        self.floor_token = done.stdout.strip().splitlines()[-1]
        self._gunicorn("floor", "bench.floor.wsgi", self.floor_port, **self.floor_env())
        self._wait_http(f"{self.floor_url}/api/v1/orders", "floor")

    def floor_truncate(self) -> None:
        """Empty the floor's tables (between scenarios, as the suite empties ours)."""
        import psycopg

        with psycopg.connect(self.floor_database_url, autocommit=True) as conn:
            conn.execute("TRUNCATE floor_venuerequest, floor_orderevent, floor_order")
