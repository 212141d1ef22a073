"""Configuration that keeps a deployment safe: the app refuses to start without a secret key
and allowed hosts when DEBUG is off, Flower always has credentials, and no secret sits in the
repository except the clearly marked local-development and test defaults."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from omsproject import stack

REPO = Path(__file__).resolve().parents[2]


def django_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py check` in a child with exactly this environment (plus what Python needs)."""
    base = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "omsproject.settings",
            "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "check"],
        env={**base, **env}, cwd=REPO, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def no_dotenv():
    # settings.py reads BASE_DIR/.env whatever the environment says: a developer's .env
    # would configure what these tests leave out.
    if (REPO / ".env").exists():
        pytest.skip(".env exists in the checkout: it would feed the child its settings")


# --- start-up refusal ------------------------------------------------------------------------------


needs_no_dotenv = pytest.mark.usefixtures("no_dotenv")
GOOD = {"SECRET_KEY": "a-real-secret-" + "x" * 40, "ALLOWED_HOSTS": "oms.example.com"}


@needs_no_dotenv
@pytest.mark.parametrize("missing,message", [
    ("SECRET_KEY", "SECRET_KEY must be set when DEBUG is off."),
    ("ALLOWED_HOSTS", "ALLOWED_HOSTS must be set when DEBUG is off."),
])
@pytest.mark.parametrize("debug", [None, "false", "0", "off"])
def test_with_debug_off_the_app_refuses_to_start_without(missing, message, debug):
    env = {k: v for k, v in GOOD.items() if k != missing}
    if debug is not None:
        env["DEBUG"] = debug

    result = django_check(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr, result.stderr


@needs_no_dotenv
@pytest.mark.parametrize("empty", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_an_empty_value_counts_as_missing(empty):
    result = django_check({**GOOD, empty: ""})

    assert result.returncode != 0
    assert f"{empty} must be set" in result.stderr


@needs_no_dotenv
def test_with_both_set_it_starts():
    result = django_check(GOOD)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@needs_no_dotenv
def test_debug_on_starts_with_local_defaults():
    result = django_check({"DEBUG": "true"})

    assert result.returncode == 0, result.stderr


# --- Flower ------------------------------------------------------------------------------------------


def test_the_procfile_starts_flower_with_basic_auth():
    flower = stack.procfile_processes()["flower"]

    assert re.search(r'--basic-auth="?\$FLOWER_BASIC_AUTH"?', flower), flower
    assert "--address=127.0.0.1" in flower  # and only on loopback


def test_the_launcher_always_gives_flower_credentials(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "VAR_DIR", tmp_path)
    env: dict[str, str] = {}

    stack.flower_auth_apply(env)

    user, _, password = env["FLOWER_BASIC_AUTH"].partition(":")
    assert user and len(password) >= 20
    assert (tmp_path / "flower_password").stat().st_mode & 0o077 == 0  # 0600
    again: dict[str, str] = {}
    stack.flower_auth_apply(again)
    assert again == env  # generated once per machine, then reused
    other = tmp_path / "elsewhere"
    monkeypatch.setattr(stack, "VAR_DIR", other)
    fresh: dict[str, str] = {}
    stack.flower_auth_apply(fresh)
    assert fresh != env  # not a constant: each machine has its own


def test_the_launcher_keeps_configured_flower_credentials(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "VAR_DIR", tmp_path)
    env = {"FLOWER_BASIC_AUTH": "ops:configured"}

    stack.flower_auth_apply(env)

    assert env == {"FLOWER_BASIC_AUTH": "ops:configured"}
    assert not (tmp_path / "flower_password").exists()


def test_the_launcher_generates_a_secret_key_per_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "VAR_DIR", tmp_path)
    monkeypatch.setattr(stack, "BASE_DIR", tmp_path)  # no .env to read
    env: dict[str, str] = {}

    stack.local_env_apply(env)

    assert len(env["SECRET_KEY"]) >= 50
    assert env["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()


# --- no secrets in the repository ------------------------------------------------------------------

_NAME = r"[A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|SECRET_KEY|API_KEY|TOKEN|BASIC_AUTH|CREDENTIALS)"
SECRET_PATTERNS = [
    # name = "literal" / name: 'literal' / name="literal" (keyword argument)
    re.compile(rf"""(?i)\b({_NAME})["']?\s*[=:]\s*["']([^"'\s]+)["']"""),
    # setdefault("NAME", "literal"), {"NAME": "literal"}
    re.compile(rf"""(?i)["']({_NAME})["']\s*[,:]\s*["']([^"'\s]+)["']"""),
    # docker compose default: NAME: ${NAME:-literal}
    re.compile(rf"""(?i)\b({_NAME}):\s*\$\{{\w+:-([^}}]+)\}}"""),
]
# env-file / YAML plain value, commented or not: NAME=literal, NAME: literal (not in code,
# where `password = make_one()` is an assignment from a call).
PLAIN_VALUE = re.compile(rf"""(?i)^\s*#?\s*({_NAME})\s*[=:]\s*([^\s"'${{}}#()]+)\s*(?:#.*)?$""")
CODE_SUFFIXES = (".py",)
SELF = "tests/security/test_config.py"  # it must spell out what it looks for
KEY_MATERIAL = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|xox[bp]-[0-9A-Za-z-]{20,}"
)
# A literal that names itself as a throwaway is a marked default: fine where it stands.
SELF_MARKED = ("insecure", "local-development", "change-me", "test-only", "tests-only")
# Literals that are not self-marked but are not secrets either, each with its reason. Anything
# else the scan finds is a secret that must move to the environment.
ALLOWED = {
    # "# local development only" on its line; the database port is not published.
    ("docker-compose.yml", "POSTGRES_PASSWORD", "oms"),
    ("tests/sessions/conftest.py", "password", "x"),  # users of the throwaway test database
    ("tests/metrics/test_metrics.py", "OMS_METRICS_TOKEN", "s3cret-metrics-token"),  # ditto
    ("tests/metrics/test_metrics.py", "OMS_METRICS_TOKEN", "set"),  # ditto
}


def unexplained(found: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    return {
        hit for hit in found
        if hit not in ALLOWED and not any(mark in hit[2].lower() for mark in SELF_MARKED)
    }


def _repo_files() -> list[str]:
    """Tracked files, and new ones not yet added that git would not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()
    return sorted(path for path in set(listed) if (REPO / path).is_file())


def secrets_found(files: list[str]) -> set[tuple[str, str, str]]:
    found = set()
    for path in files:
        try:
            text = (REPO / path).read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if KEY_MATERIAL.search(line):
                found.add((path, f"line {number}", "key material"))
            patterns = SECRET_PATTERNS
            if not path.endswith(CODE_SUFFIXES):
                patterns = [*patterns, PLAIN_VALUE]
            for pattern in patterns:
                for name, value in pattern.findall(line):
                    found.add((path, name, value))
    return found


def test_no_secret_or_default_password_is_committed():
    assert git_available()
    found = secrets_found([path for path in _repo_files() if path != SELF])

    assert unexplained(found) == set(), "secrets in the repository: move them to the environment"


def test_the_known_marked_defaults_are_seen():
    """The scan does see the defaults it lets through (so a broken pattern cannot pass)."""
    found = secrets_found(["omsproject/settings.py", "omsproject/test_settings.py",
                           ".env.example"])
    assert {
        ("omsproject/settings.py", "SECRET_KEY", "insecure-local-development-only-key"),
        ("omsproject/test_settings.py", "SECRET_KEY", "insecure-test-only-key"),
        (".env.example", "SECRET_KEY", "change-me"),
    } <= found


def test_every_allowed_literal_still_exists():
    """A stale allow-list entry would silently cover a future real secret of that name."""
    for path, name, value in ALLOWED:
        if (REPO / path).exists():
            assert (path, name, value) in secrets_found([path]), (path, name, value)


def test_the_scanner_finds_what_it_is_for(tmp_path):
    """Each pattern catches its kind of leak (the scanner must not rot into a no-op)."""
    leaks = {
        "a.py": 'SECRET_KEY = "k9$Lz0-real"\n',
        "b.py": 'user.set_password("hunter2")\nconnect(password="s3cret")\n',
        "c.py": 'os.environ.setdefault("API_TOKEN", "abcdef123456")\n',
        "d.yml": "  DB_PASSWORD: ${DB_PASSWORD:-prod-pass}\n  REDIS_PASSWORD: plain\n",
        "e.env": "AWS_SECRET=abc\nkey=AKIAABCDEFGHIJKLMNOP\n",
        "f.pem": "-----BEGIN RSA PRIVATE KEY-----\n",
    }
    for name, text in leaks.items():
        (tmp_path / name).write_text(text)
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        found = secrets_found(sorted(leaks))
    finally:
        REPO = saved
    values = {value for _, _, value in found}
    assert {"k9$Lz0-real", "s3cret", "abcdef123456", "prod-pass", "plain", "abc",
            "key material"} <= values, found


def git_available() -> bool:
    return subprocess.run(["git", "rev-parse"], cwd=REPO, capture_output=True).returncode == 0
