"""The admin: an order's page shows its fills and its execution-report log; reports, fills
and positions are read-only; instruments are edited there."""

import pytest
from django.urls import reverse

from executions.models import ExecutionReport, Fill, Instrument, Position
from tests.executions.conftest import D, live_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def filled(trader, in_process_venue):
    venue = in_process_venue
    order, cl = live_order(venue, trader)
    trade = venue.book.fill(cl, D("4"), D("150.5"), liquidity="1", commission=D("0.04"))
    venue.deliver([trade])
    return order, trade


def test_the_order_page_shows_its_fills_and_its_reports(admin_client, filled):
    order, trade = filled

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count(trade[17]) >= 2  # the fill and the report behind it
    formsets = {f.formset.prefix: f for f in page.context["inline_admin_formsets"]}
    assert {"fills", "execution_reports"} <= set(formsets)
    for prefix in ("fills", "execution_reports"):
        inline = formsets[prefix]
        assert not inline.has_add_permission and not inline.has_change_permission
        assert not inline.formset.can_delete
    assert len(formsets["fills"].formset.forms) == 1
    assert len(formsets["execution_reports"].formset.forms) == 2  # the ack, the trade


@pytest.mark.parametrize("model", [ExecutionReport, Fill, Position])
def test_reports_fills_and_positions_are_read_only(admin_client, filled, model):
    row = model.objects.first()
    meta = model._meta
    changelist = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk])

    assert changelist.status_code == 200
    assert admin_client.get(change).status_code == 200  # a view, without a save button
    admin_client.post(change, {"net_quantity": "999", "last_quantity": "999", "flag": "x"})
    assert admin_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code == 403
    fresh = model.objects.get(pk=row.pk)
    assert [getattr(fresh, f.name) for f in meta.fields] == [
        getattr(row, f.name) for f in meta.fields]


def test_the_position_page_shows_its_mark_and_unrealized_pnl(admin_client, filled):
    page = admin_client.get(reverse("admin:executions_position_changelist"))

    assert page.status_code == 200
    assert "4.000000" in page.content.decode() or ">4<" in page.content.decode()


def test_an_operator_sets_an_instruments_price_decimals(admin_client):
    response = admin_client.post(reverse("admin:executions_instrument_add"),
                                 {"symbol": "AAPL", "price_decimals": "2"})

    assert response.status_code == 302
    assert Instrument.objects.get(symbol="AAPL").price_decimals == 2
    too_fine = admin_client.post(reverse("admin:executions_instrument_add"),
                                 {"symbol": "MSFT", "price_decimals": "9"})
    assert too_fine.status_code == 200 and not Instrument.objects.filter(symbol="MSFT")
