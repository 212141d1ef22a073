"""`docker compose up` runs what `./oms run` runs (Docker is not needed to check it): every
Procfile process is a compose service, venues are reached over FIX 4.4 through the `fix`
service and the exchange's FIX acceptor, and the image holds every package they import."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from honcho.environ import parse_procfile

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def procfile() -> dict[str, str]:
    return dict(parse_procfile((REPO / "Procfile").read_text()).processes)


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def python_modules(command: str) -> set[str]:
    """The top-level packages a command runs: `python -m X`, `celery -A X`, `gunicorn X.wsgi`."""
    found = set(re.findall(r"(?:python -m|celery -A|gunicorn)\s+([A-Za-z_][\w.]*)", command))
    return {name.split(".")[0] for name in found}


def own_apps() -> set[str]:
    """The top-level packages of INSTALLED_APPS that live in this repository."""
    tops = {app.split(".")[0] for app in settings.INSTALLED_APPS}
    return {top for top in tops if (REPO / top / "__init__.py").exists()}


def dockerfile_copied() -> set[str]:
    copied = set()
    for line in (REPO / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"]:
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            copied |= {source.rstrip("/") for source in sources}
    return copied


def test_every_procfile_process_has_a_compose_service(services):
    missing = set(procfile()) - set(services)
    assert not missing, f"Procfile processes without a docker compose service: {missing}"


@pytest.mark.parametrize("name", sorted(procfile()))
def test_each_service_runs_what_the_procfile_runs(services, name):
    assert python_modules(command_text(services[name])) == python_modules(procfile()[name])


def test_the_fix_service_holds_venue_sessions_against_the_exchange(compose, services):
    assert command_text(services["fix"]) == "python -m omsproject.fixholder"
    app_env = compose["x-app"]["environment"]
    exchange = services["exchange"]
    exchange_env = exchange["environment"]
    # A new venue points at the exchange service's FIX acceptor, as one of its clients.
    assert app_env["OMS_FIX_HOST"] == "exchange"
    assert str(app_env["OMS_FIX_PORT"]) == str(exchange_env["EXCHANGE_FIX_PORT"])
    sender = app_env.get("OMS_SENDER_COMP_ID", "OMS")
    assert sender in exchange_env["EXCHANGE_CLIENTS"].split(",")
    # The exchange keeps its FIX state (sequence numbers, stored answers) in a volume.
    state_dir = exchange_env["EXCHANGE_STATE_DIR"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in exchange["volumes"]}
    assert mounted.get(state_dir) in compose["volumes"]
    assert services["fix"]["depends_on"]["exchange"]["condition"] == "service_healthy"


def test_nothing_reads_the_old_http_exchange_url(compose, services):
    environments = [compose["x-app"]["environment"]] + [
        s.get("environment") or {} for s in services.values()]
    assert not [env for env in environments if "OMS_EXCHANGE_URL" in env]
    assert not hasattr(settings, "OMS_EXCHANGE_URL")


def test_the_image_copies_every_app_and_every_process_module():
    copied = dockerfile_copied()
    needed = own_apps() | {"omsproject", "exchange"}
    for command in procfile().values():
        needed |= {m for m in python_modules(command) if (REPO / m).is_dir()}
    assert needed <= copied, f"the Dockerfile does not copy {needed - copied}"


def test_the_package_list_includes_every_app():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    listed = {pattern.rstrip("*") for pattern in patterns}
    missing = (own_apps() | {"omsproject", "exchange"}) - listed
    assert not missing, f"pyproject's package list lacks {missing}"


# --- no default secrets ---------------------------------------------------------------------

SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|BASIC_AUTH|TOKEN|API_KEY|CREDENTIALS")
# ${NAME:-default} / ${NAME-default}: a value compose uses when NAME is unset.
DEFAULTED = re.compile(r"\$\{(\w+):?-([^}]*)\}")
# ${NAME:?message} / ${NAME?message}: compose refuses to start when NAME is unset.
REQUIRED = re.compile(r"\$\{(\w+):?\?[^}]*\}")


def service_environments(compose) -> dict[str, dict]:
    found = {"x-app": compose["x-app"].get("environment", {})}
    found.update({name: service.get("environment") or {}
                  for name, service in compose["services"].items()})
    return found


def test_compose_gives_no_secret_a_default(compose):
    """With DEBUG off the app refuses to start without SECRET_KEY; a default in compose would
    get around that, and every install would share it."""
    defaults = {
        (where, name, default)
        for where, environment in service_environments(compose).items()
        for name, value in environment.items() if SECRET_NAME.search(name)
        for _, default in DEFAULTED.findall(str(value)) if default
    }
    assert defaults == set()


def test_compose_requires_the_secret_key_and_flower_credentials(compose):
    app = compose["x-app"]["environment"]
    assert REQUIRED.fullmatch(app["SECRET_KEY"]), app["SECRET_KEY"]
    assert REQUIRED.fullmatch(app["FLOWER_BASIC_AUTH"]), app["FLOWER_BASIC_AUTH"]
    assert app["DEBUG"] == "${DEBUG:-false}"  # so the app's own refusal applies too
    # Every service that runs the app gets them through the x-app anchor.
    for name in ("web", "worker", "dispatcher", "beat", "fix", "flower", "live"):
        assert compose["services"][name]["environment"]["SECRET_KEY"] == app["SECRET_KEY"]


def _default(value: str) -> str:
    """The default of a compose interpolation "${NAME:-default}"."""
    found = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    assert found, value
    return found.group(1)


def test_compose_serves_the_three_demo_venues_as_oms_run_does(compose, services):
    from omsproject import demo_venues

    app = compose["x-app"]["environment"]
    exchange = services["exchange"]["environment"]
    assert _default(app["OMS_DEMO_VENUES"]) == demo_venues.oms_demo_venues()
    assert _default(exchange["EXCHANGE_VENUES"]).split(",") == list(demo_venues.DEMO_VENUES)
    assert _default(exchange["EXCHANGE_VENUE_CONFIG"]) == demo_venues.exchange_venue_config()
