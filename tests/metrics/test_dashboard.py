"""The Grafana dashboard (monitoring/grafana/dashboards/oms.json) cannot drift from /metrics:
every metric its PromQL names, and every label it filters or groups by, is one /metrics
serves with data, here, with orders, fills, positions and sessions present."""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis
import yaml
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from orders.models import Order
from tests.dispatch.conftest import drain
from tests.factories import make_order

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "monitoring" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "oms.json"

# PromQL words that are not metric names.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"(?<![\w:$.])([A-Za-z_:][\w:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)\s*\"(?:[^\"\\]|\\.)*\"")
IDENTIFIER = re.compile(r"(?<![\w:$.])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()")


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(board: dict) -> list[dict]:
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # a collapsed row keeps its panels inside
    return found


def expressions(board: dict) -> list[str]:
    return [target["expr"] for panel in panels(board) for target in panel.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (its functions, keywords, label names,
    strings, durations and numbers left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = GROUPING.sub(" ", text)
    return {name for name in IDENTIFIER.findall(text) if name.lower() not in KEYWORDS}


def labels_used(expr: str) -> set[tuple[str, str]]:
    """(metric, label) for every label matched in a selector."""
    return {(metric, label) for metric, matchers in SELECTOR.findall(expr)
            for label in MATCHER.findall(matchers)}


def grouped_by(expr: str) -> set[str]:
    return {label.strip() for _, labels in GROUPING.findall(expr)
            for label in labels.split(",") if label.strip()}


def test_the_parser_finds_names_and_labels():
    expr = ('histogram_quantile(0.99, sum by (venue, le) (rate(a_bucket{venue=~"$venue", '
            'kind="NEW"}[$__rate_interval]))) + 2 * sum by (venue) (b{state="X"}) or c')
    assert metric_names(expr) == {"a_bucket", "b", "c"}
    assert labels_used(expr) == {("a_bucket", "venue"), ("a_bucket", "kind"), ("b", "state")}
    assert grouped_by(expr) == {"venue", "le"}


def test_the_dashboard_is_a_grafana_dashboard_of_panels_with_queries():
    board = dashboard()
    assert board["uid"] == "oms-overview" and board["title"]
    assert isinstance(board["schemaVersion"], int)
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
                            .read_text())["datasources"][0]
    graphs = [panel for panel in panels(board) if panel["type"] != "row"]
    assert len(graphs) >= 10
    for panel in graphs:
        assert panel["title"] and panel["targets"], panel.get("title")
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["datasource"]["uid"] == source["uid"]
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
    # No two panels overlap on the grid.
    cells = {}
    for panel in panels(board):
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


def test_the_dashboard_shows_what_the_issue_asks_for():
    used = set().union(*(metric_names(expr) for expr in expressions(dashboard())))
    for wanted in (
        "oms_intake_request_duration_seconds_bucket",  # intake
        "oms_intake_request_duration_seconds_count",
        "oms_venue_queue_depth",  # queue depth
        "oms_venue_requests_sent_total", "oms_venue_send_limit",  # sends against the limit
        "oms_fills_total",  # fills
        "oms_position_net_quantity", "oms_position_realized_pnl",  # positions
        "oms_position_unrealized_pnl",
        "oms_venue_session_state", "oms_fix_session_state",  # session state
    ):
        assert wanted in used, wanted


@pytest.fixture
def exposed(trader, trader_api, in_process_venue, limiter_redis, client) -> dict[str, set]:
    """Every sample name /metrics serves with data, with the labels it carries, once orders
    came in through the API, went to the venue, were filled and marked."""
    for n in range(2):
        response = trader_api.post("/api/v1/orders", json.dumps({
            "clientOrderId": f"dash-{n}", "accountId": "ACC-1", "symbol": "AAPL",
            "side": "BUY", "orderType": "LIMIT", "quantity": 10, "limitPrice": "150",
            "timeInForce": "DAY"}), content_type="application/json")
        assert response.status_code == 201, response.content
    make_order(user=trader, account_code="ACC-1", symbol="MSFT", side="SELL")
    drain(in_process_venue)
    first = Order.objects.filter(symbol="AAPL").order_by("id").first()
    request_id = str(first.requests.get(kind="NEW").request_id)
    in_process_venue.deliver([in_process_venue.book.fill(request_id, Decimal("4"),
                                                         Decimal("150"))])
    redis.Redis.from_url(settings.REDIS_URL).hset("oms:md:XMOCK:AAPL", mapping={
        "last": "151.25", "ts": datetime.now(UTC).isoformat()})

    response = client.get("/metrics")
    assert response.status_code == 200
    found: dict[str, set] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


def test_every_metric_and_label_the_dashboard_uses_is_served_by_metrics(exposed):
    board = dashboard()
    missing, wrong_labels = set(), set()
    for expr in expressions(board):
        for name in metric_names(expr):
            if name not in exposed:
                missing.add(name)
        for name, label in labels_used(expr):
            if name in exposed and label not in exposed[name]:
                wrong_labels.add((name, label))
        for label in grouped_by(expr) - {"le"}:
            if not any(label in exposed.get(name, ()) for name in metric_names(expr)):
                wrong_labels.add((expr[:60], label))
    for variable in board["templating"]["list"]:
        name, label = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)",
                                   variable["query"]["query"]).groups()
        if label not in exposed.get(name, ()):
            wrong_labels.add((name, label))
    assert not missing, f"the dashboard uses metrics /metrics does not serve: {missing}"
    assert not wrong_labels, f"labels those metrics do not have: {wrong_labels}"
