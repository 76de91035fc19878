"""Scoring: the receipt, re-scoring when the definition changes, decay, auto-qualify,
and who may change the definition."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from leads import scoring as lead_scoring
from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.agreement import scoring
from smarketing.agreement.models import AgreementChange, ScoringDefinition, ScoringRule
from smarketing.core.errors import ActionError
from smarketing.org.models import EngagementType
from tests.factories import LeadFactory


def lines(lead: Lead) -> dict[str, int]:
    return {line["label"]: line["points"] for line in lead.score_receipt}


def test_receipt_lists_each_rule_and_adds_up(org, default_rules):
    lead = LeadFactory(
        job_title="VP Marketing", company_size=450, country="DE", phone="", email="ann@acme.io"
    )
    services.engagement_log(
        lead_id=lead.pk, actor=org.marketer, type=EngagementType.WEBINAR_ATTENDED, title="Q3"
    )
    services.engagement_log(lead_id=lead.pk, actor=org.marketer, type=EngagementType.PRICING_PAGE)
    lead.refresh_from_db()
    assert lines(lead) == {
        "Senior title (VP, Director, Head of)": 15,
        "Company of 200 people or more": 15,
        "Target market": 5,
        "Webinar attended": 20,
        "Pricing page visit": 10,
    }
    assert lead.score == 65 == sum(lines(lead).values())
    assert lead.scored_version == default_rules.version
    # The engagement shows what it was worth.
    assert sorted(lead.engagements.values_list("points", flat=True)) == [10, 20]


def test_negative_fit_and_is_set(org, default_rules):
    lead = LeadFactory(
        email="bob@gmail.com", phone="+49 30 1234", job_title="Intern", company_size=5, country="BR"
    )
    lead = lead_scoring.lead_rescore(lead_id=lead.pk)
    assert lines(lead) == {"Free-mail address": -10, "Phone number given": 5}
    assert lead.score == -5


def test_rule_change_is_audited_and_rescores_every_lead(
    org, default_rules, django_capture_on_commit_callbacks
):
    leads = [
        LeadFactory(job_title="Head of Sales", company_size=10, country="BR", phone="") for _ in range(3)
    ]
    for lead in leads:
        lead_scoring.lead_rescore(lead_id=lead.pk)
    rule = ScoringRule.objects.get(label__startswith="Senior title")
    with django_capture_on_commit_callbacks(execute=True):
        scoring.scoring_rule_save(actor=org.marketing_manager, rule_id=rule.pk, points=25)
    definition = ScoringDefinition.current()
    assert definition.version == default_rules.version + 1
    for lead in leads:
        lead.refresh_from_db()
        assert lead.score == 25
        assert lead.scored_version == definition.version
    change = AgreementChange.objects.get()
    assert change.actor == org.marketing_manager
    assert change.before["points"] == 15 and change.after["points"] == 25
    assert "Senior title" in change.summary


def test_rescore_works_in_bounded_batches(org, default_rules):
    for _ in range(5):
        LeadFactory(company_size=300)
    ScoringDefinition.objects.update(version=default_rules.version + 1)
    assert lead_scoring.leads_rescore_batch(version=default_rules.version + 1, batch_size=2) == 2
    assert Lead.objects.filter(scored_version=default_rules.version + 1).count() == 2
    assert lead_scoring.leads_rescore_batch(version=default_rules.version + 1, batch_size=10) == 3
    assert lead_scoring.leads_rescore_batch(version=default_rules.version + 1, batch_size=10) == 0
    # An older version's job stops as soon as the definition moved on.
    assert lead_scoring.leads_rescore_batch(version=default_rules.version, batch_size=10) == 0


def test_decay_halves_engagement_points_per_half_life(org, default_rules):
    ScoringDefinition.objects.update(decay_half_life_days=30)
    lead = LeadFactory(job_title="", company_size=None, country="", email="x@acme.io")
    services.engagement_log(
        lead_id=lead.pk,
        actor=org.marketer,
        type=EngagementType.DEMO_REQUEST,
        occurred_at=timezone.now() - dt.timedelta(days=30),
    )
    lead.refresh_from_db()
    (line,) = lead.score_receipt
    assert line["points"] == 15 and line["before_decay"] == 30
    # A day later the periodic catch-up finds it out of date and re-scores it.
    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        assert lead_scoring.rescore_start_if_needed() == 1
        lead.refresh_from_db()
    assert lead.score == 7  # 30 × 0.5^(61/30) = 7.3


def test_auto_qualify_at_threshold_records_the_definition_version(
    org, default_rules, django_capture_on_commit_callbacks
):
    ScoringDefinition.objects.update(auto_qualify=True, threshold=40)
    lead = LeadFactory(job_title="VP Sales", company_size=20, country="US")
    with django_capture_on_commit_callbacks(execute=True):
        services.engagement_log(lead_id=lead.pk, actor=org.marketer, type=EngagementType.EMAIL_CLICK)
    lead.refresh_from_db()
    assert lead.stage == Stage.LEAD  # 15 + 5 + 3 = 23, below 40
    with django_capture_on_commit_callbacks(execute=True):
        services.engagement_log(lead_id=lead.pk, actor=org.marketer, type=EngagementType.DEMO_REQUEST)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL and lead.owner == org.rep and lead.qualified_by is None
    event = LeadEvent.objects.get(lead=lead, type=EventType.QUALIFIED)
    assert event.actor is None
    assert event.data["automatic"] is True
    assert event.data["score"] == 53
    assert event.data["scoring_version"] == default_rules.version
    assert {line["label"] for line in event.data["score_receipt"]} >= {"Demo request", "Email click"}


def test_auto_qualify_skips_recycled_leads_and_unmet_gate(
    org, default_rules, django_capture_on_commit_callbacks
):
    ScoringDefinition.objects.update(auto_qualify=True, threshold=10)
    no_company = LeadFactory(company="")
    with django_capture_on_commit_callbacks(execute=True):
        services.engagement_log(lead_id=no_company.pk, actor=org.marketer, type=EngagementType.DEMO_REQUEST)
    no_company.refresh_from_db()
    assert no_company.stage == Stage.LEAD  # the gate wants a company
    recycled = LeadFactory()
    Lead.objects.filter(pk=recycled.pk).update(recycle_count=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.engagement_log(lead_id=recycled.pk, actor=org.marketer, type=EngagementType.DEMO_REQUEST)
    recycled.refresh_from_db()
    assert recycled.stage == Stage.LEAD and recycled.score >= 10


@pytest.mark.parametrize("who", ["marketer", "rep", "employee"])
def test_only_managers_change_the_definition(org, default_rules, who):
    before = list(ScoringRule.objects.values_list("id", "points"))
    with pytest.raises(ActionError) as refused:
        scoring.scoring_rule_save(actor=getattr(org, who), rule_id=before[0][0], points=99)
    assert refused.value.code == ActionError.FORBIDDEN
    with pytest.raises(ActionError):
        scoring.scoring_definition_update(
            actor=getattr(org, who), threshold=1, auto_qualify=True, decay_half_life_days=None
        )
    assert list(ScoringRule.objects.values_list("id", "points")) == before
    assert ScoringDefinition.current().version == default_rules.version
    assert not AgreementChange.objects.exists()


@pytest.mark.parametrize(
    "values, field",
    [
        (
            {
                "kind": "fit",
                "label": "Big",
                "field": "company_size",
                "operator": "gte",
                "value": "lots",
                "points": 5,
            },
            "value",
        ),
        (
            {
                "kind": "fit",
                "label": "T",
                "field": "job_title",
                "operator": "contains",
                "value": "",
                "points": 5,
            },
            "value",
        ),
        (
            {
                "kind": "fit",
                "label": "",
                "field": "job_title",
                "operator": "contains",
                "value": "VP",
                "points": 5,
            },
            "label",
        ),
        ({"kind": "engagement", "label": "W", "engagement_type": "", "points": 5}, "__all__"),
        (
            {"kind": "engagement", "label": "W", "engagement_type": "webinar_attended", "points": 5000},
            "__all__",
        ),
    ],
)
def test_bad_rules_are_refused_with_the_field(org, default_rules, values, field):
    count = ScoringRule.objects.count()
    with pytest.raises(ActionError) as refused:
        scoring.scoring_rule_save(actor=org.sales_manager, **values)
    assert field in refused.value.fields
    assert ScoringRule.objects.count() == count
    assert ScoringDefinition.current().version == default_rules.version


@pytest.mark.parametrize(
    "title, c_level",
    [
        ("CTO", True),
        ("Acting CFO, EMEA", True),
        ("Chief Revenue Officer", True),
        ("Director of Operations", False),  # "cto" inside "Director" is not a CTO
        ("Project Coordinator", False),  # nor is "coo" inside "Coordinator"
        ("Micro-services Lead", False),
    ],
)
def test_contains_matches_whole_words(org, default_rules, title, c_level):
    lead = lead_scoring.lead_rescore(lead_id=LeadFactory(job_title=title, company_size=5, country="BR").pk)
    assert ("C-level title" in {line["label"] for line in lead.score_receipt}) is c_level


# --- loading the definition ------------------------------------------------------------------


def _as_orm_reads_it():
    """What Scorer.load read before it had SQL of its own: the definition and the active
    rules through the ORM, in the models' order."""
    definition = ScoringDefinition.current()
    rules = list(ScoringRule.objects.filter(is_active=True))
    return definition, rules


def _loaded(scorer):
    return (
        [(f.attname, getattr(scorer.definition, f.attname)) for f in ScoringDefinition._meta.concrete_fields],
        [r.pk for r in scorer.fit_rules],
        {kind: rule.pk for kind, rule in scorer.engagement_rules.items()},
    )


def test_the_scorer_is_read_in_one_query_with_the_models_values(
    org, default_rules, django_assert_num_queries
):
    ScoringRule.objects.filter(label__startswith="Target").update(is_active=False)
    # A second rule for a type: the first in the models' order counts.
    first_webinar = ScoringRule.objects.filter(engagement_type=EngagementType.WEBINAR_ATTENDED).get()
    ScoringRule.objects.create(
        kind="engagement",
        label="Webinar again",
        engagement_type=EngagementType.WEBINAR_ATTENDED,
        points=99,
        position=first_webinar.position + 1,
    )
    with django_assert_num_queries(1):
        scorer = scoring.Scorer.load()
    definition, rules = _as_orm_reads_it()
    assert _loaded(scorer) == (
        [(f.attname, getattr(definition, f.attname)) for f in ScoringDefinition._meta.concrete_fields],
        [r.pk for r in rules if r.kind == "fit"],
        {r.engagement_type: r.pk for r in reversed(rules) if r.kind == "engagement"},  # first wins
    )
    assert scorer.engagement_points(EngagementType.WEBINAR_ATTENDED) == first_webinar.points
    assert "Target market" not in {r.label for r in scorer.fit_rules}
    assert scorer.definition.updated_at == definition.updated_at  # a datetime on every database


def test_a_change_made_elsewhere_is_scored_by_the_next_create(org, default_rules):
    """Another process (a manager's change, an admin, a migration) writes the rules and the
    definition without this process hearing of it, not even a version bump: the next load
    reads them all, so no lead is scored with rules that are no longer in force."""
    lead = services.lead_create(actor=org.marketer, email="a@acme.io", job_title="VP Sales")
    assert lines(lead) == {"Senior title (VP, Director, Head of)": 15}
    ScoringRule.objects.filter(label__startswith="Senior title").update(points=40)
    ScoringRule.objects.create(
        kind="fit", label="Has a title", field="job_title", operator="is_set", points=1
    )
    ScoringDefinition.objects.update(auto_qualify=True, threshold=1000)  # same version
    lead = services.lead_create(actor=org.marketer, email="b@acme.io", job_title="VP Sales")
    assert lines(lead) == {"Senior title (VP, Director, Head of)": 40, "Has a title": 1}
    assert scoring.Scorer.load().definition.threshold == 1000
    ScoringRule.objects.all().delete()
    lead = services.lead_create(actor=org.marketer, email="c@acme.io", job_title="VP Sales")
    assert (lead.score, lead.score_receipt) == (0, [])
    assert scoring.Scorer.load().fit_rules == ()


def test_the_first_load_makes_the_definition(db):
    ScoringRule.objects.all().delete()
    ScoringDefinition.objects.all().delete()
    scorer = scoring.Scorer.load()
    assert ScoringDefinition.objects.get().pk == scorer.definition.pk == ScoringDefinition.ONE
    assert (scorer.version, scorer.fit_rules, scorer.engagement_rules) == (1, (), {})


def test_the_scorer_is_kept_only_while_every_row_is_the_same(org, default_rules, django_assert_num_queries):
    """Scorer.load keeps the scorer it made, for the next load that reads exactly the same
    rows. Each load still reads them: a change in another process (no version bump, no
    message to this one) is seen by the next load, as a new process would see it."""
    first = scoring.Scorer.load()
    with django_assert_num_queries(1):
        assert scoring.Scorer.load() is first

    def senior(scorer):
        return next(r.points for r in scorer.fit_rules if r.label.startswith("Senior title"))

    ScoringRule.objects.filter(label__startswith="Senior title").update(points=40)  # "another process"
    changed = scoring.Scorer.load()
    assert changed is not first and (senior(first), senior(changed)) == (15, 40)
    ScoringDefinition.objects.update(threshold=99)  # same version
    assert scoring.Scorer.load().definition.threshold == 99
    ScoringRule.objects.filter(label__startswith="Senior title").update(is_active=False)
    assert "Senior title (VP, Director, Head of)" not in {r.label for r in scoring.Scorer.load().fit_rules}
    kept = scoring.Scorer.load()
    scoring._kept.clear()  # a new process: nothing kept
    fresh = scoring.Scorer.load()
    assert fresh is not kept and _loaded(fresh) == _loaded(kept)
