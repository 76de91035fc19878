"""`field__any=Values(…)` (smarketing.core.lookups): the same rows as `field__in`, whatever the
values hold, on PostgreSQL (one array literal) and elsewhere (an IN list); and
`array_literal`, which sends a column of values as one parameter."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection

from leads.models import Lead
from smarketing.core.lookups import Values, array_literal
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_any_finds_what_in_finds_for_ids_and_awkward_text():
    awkward = ['a"b@x.io', "c\\d@x.io", "e,f@x.io", "g{h}@x.io", "i j@x.io", "plain@x.io"]
    leads = [LeadFactory() for _ in awkward]
    for lead, email in zip(leads, awkward, strict=True):  # past the email check: any text
        Lead.objects.filter(pk=lead.pk).update(email=email)
    LeadFactory(email="other@x.io")
    asked = [*awkward, "nobody@x.io", "plain@x.io"]
    assert (
        set(Lead.objects.filter(email__any=Values(asked)).values_list("email", flat=True))
        == set(Lead.objects.filter(email__in=asked).values_list("email", flat=True))
        == set(awkward)
    )
    ids = [lead.pk for lead in leads[:3]] + [10**12]
    assert sorted(Lead.objects.filter(pk__any=Values(ids)).values_list("pk", flat=True)) == ids[:3]


def test_any_of_no_values_is_nothing_and_combines():
    LeadFactory(email="one@x.io")
    assert not Lead.objects.filter(pk__any=Values([])).exists()
    assert Lead.objects.exclude(pk__any=Values([])).count() == 1
    assert Lead.objects.filter(pk__any=Values([])) | Lead.objects.filter(email="one@x.io")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="array literals are PostgreSQL's")
def test_array_literal_reads_back_as_the_same_values_in_order():
    texts = ['a"b', "c\\d", "e,f", "g{h}", "i j", "", "NULL", "null", "é ✓", "line\nbreak", None]
    ints = [3, None, -1, 2**40]
    when = dt.datetime(2026, 11, 30, 9, 15, 30, 123456, tzinfo=dt.UTC)
    times = [when, None, when.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::bigint[], %s::timestamptz[]",
            [array_literal(texts), array_literal(ints), array_literal(times)],
        )
        got_texts, got_ints, got_times = cursor.fetchone()
    assert got_texts == texts  # the strings "NULL" and "null" stay strings; None is NULL
    assert got_ints == ints
    assert got_times == [when, None, when]
