"""Quiet logs (README, "The two commands"): idle, the processes log nothing at INFO; a logon,
an order and its fills each get a line. Measured on `./oms run`: 270 lines in an idle minute
before, 0 after (the README says how)."""

import io
import logging
import logging.config
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.conf import settings
from honcho.environ import parse_procfile

from orders.services import OrderTerms, order_create
from sessions.services.holder import session_record_logon
from venues.services import venue_put

REPO = Path(__file__).resolve().parents[1]
ROUTINE = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


@pytest.fixture
def stack_logging(settings):
    """The processes' logging (settings.LOGGING, as Django and Celery apply it), into a buffer."""
    out = io.StringIO()
    config = {**settings.LOGGING, "handlers": {"console": {
        "class": "logging.StreamHandler", "formatter": "plain", "stream": out}}}
    logging.config.dictConfig(config)
    yield out
    logging.config.dictConfig(settings.LOGGING)


def idle_minute() -> None:
    """What beat and a worker log in an idle minute: a reconcile each second and a sweep each
    two, each sent, received and succeeded (the loggers and messages Celery 5 uses)."""
    for second in range(60):
        for task in ["sessions.reconcile"] + (["dispatch.sweep"] if second % 2 else []):
            logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)",
                                                  task.replace(".", "-"), task)
            logging.getLogger("celery.worker.strategy").info("Task %s[%s] received", task, second)
            logging.getLogger("celery.app.trace").info(
                "Task %s[%s] succeeded in %ss: %s", task, second, 0.01, None)


def test_an_idle_minute_logs_nothing_at_info(stack_logging):
    idle_minute()

    assert stack_logging.getvalue() == ""


def test_routine_lines_show_at_debug_and_failures_always(stack_logging, settings):
    logging.getLogger("celery.app.trace").error("Task dispatch.drain[1] raised unexpected")
    assert "raised unexpected" in stack_logging.getvalue()
    assert all(settings.LOGGING["loggers"][name]["level"] == "WARNING" for name in ROUTINE)


@pytest.mark.django_db
def test_a_logon_an_order_and_its_status_changes_are_logged_once(
        stack_logging, trader, django_capture_on_commit_callbacks):
    venue_put(code="XLOG", actor="tests")
    session_record_logon(venue_code="XLOG")
    terms = OrderTerms(symbol="AAPL", side="BUY", order_type="LIMIT", quantity=Decimal("10"),
                       limit_price=Decimal("190.5"), stop_price=None, time_in_force="DAY")
    with django_capture_on_commit_callbacks(execute=True):
        order, created = order_create(user=trader, account_code="ACC-1",
                                      client_order_id="log-1", terms=terms, venue_code="XLOG")
    with django_capture_on_commit_callbacks(execute=True):  # the same order again: no line
        order_create(user=trader, account_code="ACC-1", client_order_id="log-1", terms=terms,
                     venue_code="XLOG")

    lines = stack_logging.getvalue().splitlines()
    assert created
    assert [line for line in lines if "venue XLOG logged on" in line]
    accepted = [line for line in lines if f"order {order.pk} accepted" in line]
    assert len(accepted) == 1
    assert "ACC-1 BUY 10 AAPL LIMIT limit 190.5 DAY at XLOG" in accepted[0]
    assert " INFO orders " in accepted[0]


def test_the_procfile_web_writes_no_access_log():
    processes = dict(parse_procfile((REPO / "Procfile").read_text()).processes)
    assert "--access-logfile" not in processes["web"]
    assert "--no-access-log" in processes["live"]


@pytest.mark.parametrize("level, quiet", [("INFO", True), ("DEBUG", False)])
def test_a_real_beat_sends_quietly_at_info(level, quiet, tmp_path):
    """A real `celery beat` for a few seconds (it sends a reconcile every second): at INFO
    not one line per send; at DEBUG they show, so the beat did run."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "omsproject.test_settings",
           "LOG_LEVEL": level, "REDIS_URL": settings.REDIS_URL, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "beat.log"
    with log.open("w") as out:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "omsproject", "beat", "--loglevel", "INFO",
             "-s", str(tmp_path / "schedule")],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while "LocalTime" not in log.read_text() and time.monotonic() < deadline:
                assert beat.poll() is None, log.read_text()
                time.sleep(0.2)
            time.sleep(4)
        finally:
            beat.terminate()
            beat.wait(timeout=10)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # the reconciles it sent
    sends = log.read_text().count("Sending due task")
    assert (sends == 0) if quiet else (sends >= 3), log.read_text()[-3000:]
