"""The load generator against a live Django server: it sends what it says, on schedule, and
reports what happened. About the load generator, not dispatch: the venue is in-process and
no dispatcher runs, so orders stay QUEUED (a queued order is modified and cancelled in place).
"""

import json

import pytest
from rest_framework.authtoken.models import Token

from bench import loadgen
from orders.models import Order, OrderStatus
from sessions.services import session_update
from tests.factories import OperatorFactory
from venues.services import venue_get_or_create_default

pytestmark = pytest.mark.django_db(transaction=True)

RATE, DURATION = 40, 1.5


@pytest.fixture
def operator_token(transactional_db, monkeypatch, settings):
    # Celery messages are only nudges; nothing consumes them here, so send none.
    monkeypatch.setattr("orders.services.dispatch_nudge", lambda **kwargs: None, raising=False)
    # No venue publishes a market here: with no notional cap a MARKET order needs no price.
    settings.OMS_MAX_ORDER_NOTIONAL = None
    venue_get_or_create_default()
    session_update(venue_code=settings.OMS_DEFAULT_VENUE, actor="tests", override="OPEN")
    operator = OperatorFactory(username="bench-operator")
    return Token.objects.create(user=operator).key


def test_open_loop_sends_on_schedule_and_reports(live_server, operator_token):
    report = loadgen.run(
        url=live_server.url, token=operator_token, rate=RATE, duration=DURATION,
        modify_fraction=0.1, cancel_fraction=0.1, concurrency=8, accounts=20, symbols=30,
        seed=7, timeout=5,
    )
    print("\n" + report.text())

    # Sent on schedule, all answered 2xx.
    assert report.mode == "open" and report.offered_rate == RATE
    assert report.requests == RATE * DURATION
    assert report.error_count == 0, report.error_samples
    assert report.errors == {}
    assert abs(report.achieved_rate - RATE) <= 0.2 * RATE, report.achieved_rate
    assert report.completed == report.requests
    assert report.by_kind["create"] > 0 and report.by_kind["modify"] + report.by_kind[
        "cancel"] > 0
    assert sum(report.by_kind.values()) == report.requests
    assert sum(report.status_codes["all"].values()) == report.requests
    assert set(report.status_codes["create"]) == {"201"}

    # Every 201'd order exists, with the run's clientOrderIds; cancels took effect.
    ids = report.created_order_ids
    assert len(ids) == report.status_codes["create"]["201"]
    orders = Order.objects.filter(pk__in=ids)
    assert orders.count() == len(ids)
    assert all(o.client_order_id.startswith(report.run_id + "-") for o in orders)
    assert orders.filter(status=OrderStatus.CANCELED).count() == report.by_kind["cancel"]
    assert len({o.account_id for o in orders}) > 1 and len({o.symbol for o in orders}) > 1

    # Latency summaries are present and ordered.
    for kind in ("create", "modify", "cancel"):
        s = report.latency_ms[kind]
        assert s["count"] == report.by_kind[kind]
        if s["count"]:
            assert 0 < s["p50"] <= s["p90"] <= s["p99"] <= s["p999"] <= s["max"] < 5000
    assert len(report.create_latencies_ms) == report.by_kind["create"]
    assert sum(row["requests"] for row in report.timeline) == report.requests

    data = json.loads(json.dumps(report.to_dict()))
    for key in ("offered_rate", "achieved_rate", "status_codes", "errors", "latency_ms"):
        assert key in data
    assert "created_order_ids" not in data


def test_max_mode_is_closed_loop(live_server, operator_token):
    report = loadgen.run(url=live_server.url, token=operator_token, max_mode=True,
                         duration=0.5, concurrency=2, modify_fraction=0, cancel_fraction=0)
    assert report.mode == "max" and report.offered_rate is None
    assert report.error_count == 0, report.error_samples
    assert report.requests > 0 and report.max_in_flight <= 2
    assert Order.objects.filter(pk__in=report.created_order_ids).count() == report.completed


def test_batch_mode_sends_batches_and_counts_their_orders(live_server, operator_token):
    report = loadgen.run(url=live_server.url, token=operator_token, max_mode=True, batch=20,
                         duration=0.5, concurrency=2, modify_fraction=0.1, cancel_fraction=0)
    print("\n" + report.text())

    assert report.error_count == 0, report.error_samples
    assert set(report.status_codes["create"]) == {"200"}
    assert report.orders_accepted == 20 * report.by_kind["create"]
    assert len(report.created_order_ids) == report.orders_accepted
    assert Order.objects.filter(pk__in=report.created_order_ids).count() == report.orders_accepted


@pytest.mark.parametrize("argv", [
    ["--rate", "0"],
    ["--rate", "10", "--batch", "501"],
    ["--rate", "10", "--duration", "-1"],
    ["--rate", "10", "--modify", "0.6", "--cancel", "0.6"],
    ["--rate", "10", "--max"],
    [],
])
def test_bad_arguments_exit_non_zero(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = loadgen.main(["--url", "http://127.0.0.1:1", "--token", "t", *argv])
        raise SystemExit(code)
    assert exit_info.value.code == 2


def test_an_unreachable_server_is_reported_not_raised(capsys):
    code = loadgen.main(["--url", "http://127.0.0.1:9", "--token", "t", "--rate", "20",
                         "--duration", "0.2", "--quiet", "--timeout", "2"])
    assert code == 0
    out = capsys.readouterr().out
    assert "connection" in out
