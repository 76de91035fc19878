"""New leads prepared ahead (`leads_prepare`, what an import's reader thread does) are
written exactly as the same items given straight to `leads_create_many`, and an import
hands the interpreter between threads often only while it runs."""

from __future__ import annotations

import sys

import pytest
from django.db import connection

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.agreement import scoring
from smarketing.agreement.models import HandoffGate, ScoringDefinition
from smarketing.core.errors import ActionError
from smarketing.intake import run as intake_run
from smarketing.org.models import Campaign, Source

COMPARED = (
    *services.PROFILE_FIELDS,
    "source",
    "campaign_id",
    "stage",
    "owner_id",
    "score",
    "score_receipt",
    "scored_version",
    "created_by_id",
    "recycle_count",
    "version",
)


def _items(prefix: str, campaign) -> list[dict]:
    return [
        {
            "email": f"{prefix}.vp@Acme.io",
            "source": Source.WEBINAR,
            "campaign": campaign,
            "origin": {"import_job": 7, "import_row": 2},
            "profile": {
                "first_name": "Vera",
                "last_name": "Tab\there",
                "job_title": "VP Sales",
                "company_size": 450,
                "country": "DE",
                "company": 'Back\\slash "GmbH"',
            },
        },
        {
            "email": f"{prefix}.bare@acme.io",
            "source": Source.OTHER,
            "campaign": None,
            "origin": {},
            "profile": {},
        },
        {
            "email": f"{prefix}.cfo@acme.io",
            "source": Source.EVENT,
            "campaign": None,
            "origin": {"import_job": 7, "import_row": 4},
            "profile": {"job_title": "CFO", "company_size": 1200, "country": "US", "phone": "+1 555\nnext"},
        },
    ]


def _written(ids: list[int]) -> list[tuple]:
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=ids)}
    events = {e.lead_id: e for e in LeadEvent.objects.filter(lead__in=ids, type=EventType.CREATED)}
    return [
        (
            leads[i].email.split(".", 1)[1],
            *(getattr(leads[i], name) for name in COMPARED),
            events[i].actor_id,
            events[i].to_stage,
            events[i].data,
        )
        for i in ids
    ]


def test_prepared_leads_are_written_as_the_items_would_be(org, default_rules):
    campaign = Campaign.objects.create(name="June seminar")
    scorer = scoring.Scorer.load()
    straight = services.leads_create_many(
        actor=org.marketer, leads=_items("a", campaign), via="import", scorer=scorer
    )
    new = services.leads_prepare(_items("b", campaign), via="import", scorer=scorer)
    assert len(new) == 3 and (new.lines is not None) is (connection.vendor == "postgresql")
    prepared = services.leads_create_many(actor=org.marketer, leads=new, via="import", scorer=scorer)
    assert _written(prepared) == _written(straight)
    first = Lead.objects.get(pk=prepared[0])
    # What the rows hold, not only that both paths agree.
    assert (first.email, first.last_name, first.company) == (
        "b.vp@acme.io",
        "Tab\there",
        'Back\\slash "GmbH"',
    )
    assert (first.stage, first.campaign_id, first.created_by_id) == (Stage.LEAD, campaign.pk, org.marketer.pk)
    assert first.score == scorer.score(first, [])[0] > 0
    assert Lead.objects.get(pk=prepared[2]).phone == "+1 555\nnext"
    event = LeadEvent.objects.get(lead_id=prepared[0])
    assert event.data == {
        "source": "webinar",
        "campaign": campaign.pk,
        "referrer": None,
        "via": "import",
        "import_job": 7,
        "import_row": 2,
    }


def test_only_the_leads_kept_are_written_in_order(org, default_rules):
    scorer = scoring.Scorer.load()
    new = services.leads_prepare(_items("c", None), via="import", scorer=scorer).only([True, False, True])
    ids = services.leads_create_many(actor=org.marketer, leads=new, via="import", scorer=scorer)
    assert [Lead.objects.get(pk=i).email for i in ids] == ["c.vp@acme.io", "c.cfo@acme.io"]
    assert not Lead.objects.filter(email="c.bare@acme.io").exists()
    assert LeadEvent.objects.filter(lead__in=ids, type=EventType.CREATED).count() == 2


def test_prepared_leads_due_a_hand_off_are_handed_off_once_written(
    org, default_rules, django_capture_on_commit_callbacks
):
    ScoringDefinition.objects.update(auto_qualify=True, threshold=30)
    HandoffGate.current()
    HandoffGate.objects.update(min_engagements=0, required_fields=[])
    scorer = scoring.Scorer.load()
    new = services.leads_prepare(_items("d", None), via="import", scorer=scorer)
    assert new.due == [s >= 30 for s in (row["score"] for row in new.rows)] and any(new.due)
    with django_capture_on_commit_callbacks(execute=True):
        ids = services.leads_create_many(actor=org.marketer, leads=new, via="import", scorer=scorer)
    stages = [Lead.objects.get(pk=i).stage for i in ids]
    assert stages == [Stage.MQL if due else Stage.LEAD for due in new.due]


def test_preparing_refuses_an_unknown_source_or_a_field_outside_the_profile(default_rules):
    scorer = scoring.Scorer.load()
    with pytest.raises(ActionError, match="not a known source"):
        services.leads_prepare([{"email": "x@acme.io", "source": "pigeon"}], via="import", scorer=scorer)
    with pytest.raises(ActionError, match=r"Unknown field\(s\): stage"):
        services.leads_prepare(
            [{"email": "x@acme.io", "source": Source.OTHER, "profile": {"stage": "customer"}}],
            via="import",
            scorer=scorer,
        )


def test_an_import_hands_over_between_threads_often_only_while_it_runs(org, settings, tmp_path, monkeypatch):
    from tests.intake.test_imports import run, upload

    before = sys.getswitchinterval()
    during = []
    real = intake_run._run_chunk

    def watched(*args, **kwargs):
        during.append(sys.getswitchinterval())
        return real(*args, **kwargs)

    monkeypatch.setattr(intake_run, "_run_chunk", watched)
    job = run(upload(org.marketer, "Email\nann@acme.io\nbob@acme.io\n"))
    assert job.created_count == 2
    assert during == [pytest.approx(min(before, intake_run.READ_AHEAD_SWITCH))]
    assert sys.getswitchinterval() == before
