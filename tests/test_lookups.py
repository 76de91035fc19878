"""`field__any=Values(…)` (smarketing.lookups): the same rows as `field__in`, whatever the
values hold, on PostgreSQL (one array literal) and elsewhere (an IN list)."""

from __future__ import annotations

import pytest

from leads.models import Lead
from smarketing.lookups import Values
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
