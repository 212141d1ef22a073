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


# --- monitoring: Prometheus and Grafana -----------------------------------------------------

GRAFANA = REPO / "monitoring" / "grafana"


def bind_mounts(service: dict) -> dict[str, Path]:
    """A service's bind mounts of repository paths: {target in the container: source here}."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[target] = REPO / source
    return found


def test_grafana_and_prometheus_are_the_monitoring_profile(services):
    monitoring = {name for name, service in services.items()
                  if "monitoring" in service.get("profiles", [])}
    assert monitoring == {"prometheus", "grafana"}
    # Everything else starts without the profile; the two only with it.
    assert all(not service.get("profiles") for name, service in services.items()
               if name not in monitoring)
    grafana = services["grafana"]
    image, _, tag = grafana["image"].partition(":")
    assert image == "grafana/grafana" and tag and tag != "latest"
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]
    assert "prometheus" in grafana["depends_on"]


@pytest.mark.parametrize("name", ["prometheus", "grafana"])
def test_monitoring_mounts_are_files_in_the_repository(services, name):
    mounts = bind_mounts(services[name])
    assert mounts
    for source in mounts.values():
        assert source.exists(), f"{name} mounts {source}, which is not in the repository"
    assert all(volume.endswith(":ro") for volume in services[name]["volumes"]
               if volume.startswith("./"))


def test_grafana_provisions_the_prometheus_service_and_the_dashboard(services):
    grafana = services["grafana"]
    mounts = bind_mounts(grafana)
    for kind in ("datasources", "dashboards"):
        assert mounts[f"/etc/grafana/provisioning/{kind}"] == GRAFANA / "provisioning" / kind
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
                            .read_text())["datasources"]
    assert [(s["type"], s["url"]) for s in source] == [
        ("prometheus", "http://prometheus:9090")]
    assert "127.0.0.1:9090:9090" in services["prometheus"]["ports"]  # the port it listens on
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "oms.yml")
                              .read_text())["providers"][0]
    dashboards = provider["options"]["path"]
    assert mounts[dashboards] == GRAFANA / "dashboards"
    assert list((GRAFANA / "dashboards").glob("*.json"))
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards + "/")
    assert (GRAFANA / "dashboards" / home.removeprefix(dashboards + "/")).is_file()


def test_grafana_has_no_default_password_and_lets_anonymous_users_only_view(services):
    grafana = services["grafana"]
    environment = grafana["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-}"
    assert (environment["GF_AUTH_ANONYMOUS_ENABLED"], environment["GF_AUTH_ANONYMOUS_ORG_ROLE"]) \
        == ("true", "Viewer")
    assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"
    # Unset, the entrypoint makes a random password (never Grafana's default "admin").
    script = grafana["entrypoint"][-1]
    assert "/dev/urandom" in script and script.rstrip().endswith("exec /run.sh")
    # Every $ in it is the shell's ($$ in compose); a single one compose would fill in itself.
    assert "$" not in script.replace("$$", "")
    # Its database is in memory, so that password applies at every start.
    assert grafana["tmpfs"] == ["/var/lib/grafana"]
