"""services.lead_create's write: the lead and its `created` event, all or nothing, as
`save()` writes them (on PostgreSQL in one statement, smarketing.core.rows.insert_pair)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import signals
from django.test.utils import CaptureQueriesContext

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.agreement import scoring
from smarketing.core.errors import ActionError
from smarketing.org.models import Source
from tests.factories import CampaignFactory

PROFILE = {
    "first_name": "Ann",
    "last_name": "Lee",
    "phone": "+49 30 5550101",
    "company": "Acme GmbH",
    "job_title": "VP Sales",
    "company_size": 250,
    "country": "de",
    "website": "https://acme.example",
}
SKIP = {"id", "email", "lead_id", "created_at", "updated_at", "stage_entered_at", "scored_at", "occurred_at"}


def stored(model, pk) -> dict:
    return {k: v for k, v in model.objects.filter(pk=pk).values().get().items() if k not in SKIP}


def saved_by_the_orm():
    """A pre-save receiver: `save()` must send it, so lead_create saves with the ORM."""

    def receiver(**kwargs):
        pass

    signals.pre_save.connect(receiver, sender=Lead, weak=False)
    return receiver


@pytest.mark.django_db
def test_a_create_writes_what_save_writes(org, default_rules):
    campaign = CampaignFactory()
    first = services.lead_create(
        actor=org.marketer, email=" Ann@Acme.example ", source=Source.EVENT, campaign=campaign, **PROFILE
    )
    receiver = saved_by_the_orm()
    try:
        second = services.lead_create(
            actor=org.marketer, email="ann2@acme.example", source=Source.EVENT, campaign=campaign, **PROFILE
        )
    finally:
        signals.pre_save.disconnect(receiver, sender=Lead)
    assert stored(Lead, first.pk) == stored(Lead, second.pk)
    row = Lead.objects.get(pk=first.pk)
    assert (row.email, row.country, row.stage, row.campaign, row.created_by) == (
        "ann@acme.example",
        "DE",
        Stage.LEAD,
        campaign,
        org.marketer,
    )
    assert row.score == first.score > 0 and row.score_receipt == first.score_receipt
    # The instance returned is the row as stored (the API answers with it).
    assert (first.updated_at, first.created_at, first._state.adding) == (
        row.updated_at,
        row.created_at,
        False,
    )
    events = [LeadEvent.objects.get(lead_id=lead.pk) for lead in (first, second)]
    assert stored(LeadEvent, events[0].pk) == stored(LeadEvent, events[1].pk)
    assert (events[0].type, events[0].actor, events[0].to_stage, events[0].data) == (
        EventType.CREATED,
        org.marketer,
        Stage.LEAD,
        {"source": Source.EVENT, "campaign": campaign.pk, "referrer": None, "via": "manual"},
    )


@pytest.mark.django_db
def test_a_duplicate_inside_a_transaction_leaves_it_usable(org, default_rules):
    services.lead_create(actor=org.marketer, email="ann@acme.example")
    with transaction.atomic():
        with pytest.raises(ActionError) as refused:
            services.lead_create(actor=org.marketer, email="ANN@acme.example", **PROFILE)
        assert refused.value.code == ActionError.DUPLICATE
        assert Lead.objects.count() == LeadEvent.objects.count() == 1  # the transaction goes on


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_one_statement_writes_both_or_neither(org, default_rules, require_postgres):
    scorer = scoring.Scorer.load()
    with CaptureQueriesContext(connection) as queries:
        lead = services.lead_create(actor=None, email="ann@acme.example", scorer=scorer, **PROFILE)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["WITH"]  # no BEGIN, no COMMIT
    assert LeadEvent.objects.get().lead_id == lead.pk and lead.created_by is None
    with pytest.raises(ActionError):
        services.lead_create(actor=None, email="Ann@Acme.example", scorer=scorer)
    assert Lead.objects.count() == LeadEvent.objects.count() == 1
