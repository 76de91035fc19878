"""One style for money, numbers and dates (smarketing/core/formats.py), the settings that
choose the currency and the locale, and the check that refuses unknown ones."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.checks import run_checks
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone

from smarketing.core import formats


def test_money_has_the_currency_symbol_and_grouping_and_cents_only_when_there_are_some():
    assert formats.money(Decimal("60000.00")) == "€60,000"
    assert formats.money(Decimal("60000.50")) == "€60,000.50"
    assert formats.money("1234567.8") == "€1,234,567.80"
    assert formats.money(Decimal("0.05")) == "€0.05"  # never rounded away
    assert formats.money(0) == "€0"


@override_settings(SMARKETING_CURRENCY="USD")
def test_money_in_the_organisations_currency():
    assert formats.money(Decimal("60000.00")) == "$60,000"
    assert formats.money(Decimal("12500.25")) == "$12,500.25"


@override_settings(SMARKETING_CURRENCY="EUR", SMARKETING_LOCALE="de-DE")
def test_the_locale_decides_separators_and_where_the_symbol_goes():
    assert formats.money(Decimal("60000.50")) == "60.000,50\xa0€"
    assert formats.number(12500) == "12.500"
    assert formats.percent(0.255) == "25,5 %"


def test_a_locale_can_be_passed_for_one_call():
    assert formats.money(Decimal("1500"), "GBP", locale="en-GB") == "£1,500"
    assert formats.day(dt.date(2026, 12, 3), locale="de") == "Do. 03 Dez. 2026"


def test_numbers_and_percentages():
    assert formats.number(12500) == "12,500"
    assert formats.number(-1234567) == "-1,234,567"
    assert formats.number(Decimal("1234.5")) == "1,234.5"
    assert formats.number(2.0, places=1) == "2.0"
    assert formats.percent(0.255) == "25.5 %"
    assert formats.percent(0.5) == "50 %"
    assert formats.percent(Decimal("0.12345")) == "12.3 %"
    assert formats.percent(1.5) == "150 %"


def test_a_day_and_a_moment_in_the_products_style_and_the_viewers_zone():
    assert formats.day(dt.date(2026, 12, 3)) == "Thu 03 Dec 2026"
    late = dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.UTC)
    with timezone.override(ZoneInfo("Europe/Berlin")):
        assert formats.moment(late) == "Fri 04 Dec 2026 00:30"
        assert formats.day(late) == "Fri 04 Dec 2026"
    with timezone.override(ZoneInfo("America/New_York")):
        assert formats.moment(late) == "Thu 03 Dec 2026 18:30"
    assert formats.day(dt.date(2026, 9, 7)) == "Mon 07 Sep 2026"  # "Sep", as the deadline tag and the picker


def test_template_filters_and_empty_values():
    template = Template(
        "{% load formats %}{{ a|money }}|{{ n|number }}|{{ r|percent }}|{{ d|day }}|{{ t|moment }}|{{ none|money|default:'—' }}"
    )
    with timezone.override(ZoneInfo("Europe/Berlin")):
        html = template.render(
            Context(
                {
                    "a": Decimal("60000.00"),
                    "n": 1234,
                    "r": 0.1,
                    "d": dt.date(2026, 12, 3),
                    "t": dt.datetime(2026, 12, 3, 13, 5, tzinfo=dt.UTC),
                    "none": None,
                }
            )
        )
    assert html == "€60,000|1,234|10 %|Thu 03 Dec 2026|Thu 03 Dec 2026 14:05|—"


@pytest.mark.parametrize(
    ("settings_", "expected"),
    [
        ({"SMARKETING_CURRENCY": "EUR", "SMARKETING_LOCALE": "en"}, set()),
        ({"SMARKETING_CURRENCY": "USD", "SMARKETING_LOCALE": "en-GB"}, set()),
        ({"SMARKETING_CURRENCY": "eur", "SMARKETING_LOCALE": "en"}, {"core.E001"}),
        ({"SMARKETING_CURRENCY": "EURO", "SMARKETING_LOCALE": "en"}, {"core.E001"}),
        ({"SMARKETING_CURRENCY": "EUR", "SMARKETING_LOCALE": "xx-QQ"}, {"core.E002"}),
    ],
)
def test_an_unknown_currency_or_locale_stops_the_app_with_a_clear_message(settings_, expected):
    with override_settings(**settings_):
        errors = [e for e in run_checks() if e.id.startswith("core.")]
    assert {e.id for e in errors} == expected
    for error in errors:
        assert error.msg.startswith(("SMARKETING_CURRENCY: ", "SMARKETING_LOCALE: "))
        assert (
            repr(settings_["SMARKETING_CURRENCY" if error.id == "core.E001" else "SMARKETING_LOCALE"])
            in error.msg
        )


def test_the_win_on_the_lead_page_reads_in_the_one_style(client, org):
    from leads.models import Lead, Stage
    from tests.factories import LeadFactory

    lead = LeadFactory()
    Lead.objects.filter(pk=lead.pk).update(
        stage=Stage.CUSTOMER, owner=org.rep, deal_amount=Decimal("60000.00"), closed_on=dt.date(2026, 12, 3)
    )
    client.force_login(org.rep)
    html = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "€60,000 on Thu 03 Dec 2026" in html
    assert "60000.00" not in html
