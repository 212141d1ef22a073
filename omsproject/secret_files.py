"""Secrets generated once per machine into files under var/ (never committed)."""

import os
from collections.abc import Callable
from pathlib import Path


def secret_file_value(path: Path, *, generate: Callable[[], str]) -> str:
    """The secret stored in `path`, generated (mode 0600) the first time it is asked for.

    O_EXCL makes two processes that race on first use agree on one value: the loser reads
    the winner's file instead of overwriting it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    value = generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = path.read_text().strip()
        if stored:
            return stored
        path.write_text(value + "\n")  # an empty file is a crash mid-write: fill it in
        path.chmod(0o600)
        return value
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value
