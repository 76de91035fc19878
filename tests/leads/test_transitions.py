"""The stage machine: every allowed transition, every refusal, one event each."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from leads.stages import TRANSITIONS
from sla.models import Clock, Obligation
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.core.errors import ActionError

pytestmark = pytest.mark.django_db


# --- building leads in each stage, through the services -------------------------------------


@pytest.fixture
def in_stage(org, make_lead, make_mql, make_sql, reasons):
    def build(stage: str) -> Lead:
        if stage == Stage.LEAD:
            return make_lead()
        if stage == Stage.MQL:
            return make_mql()
        if stage == Stage.SQL:
            return make_sql()
        if stage == Stage.CUSTOMER:
            lead = make_sql()
            return services.lead_win(
                lead_id=lead.pk, actor=org.rep, amount=10, closed_on=timezone.localdate()
            )
        lead = make_lead()
        return services.lead_disqualify(lead_id=lead.pk, actor=org.marketer, reason=reasons.disqualification)

    return build


def call(name: str, lead: Lead, actor, org, reasons, **extra):
    """Run transition `name` on `lead` as `actor` with valid arguments."""
    common = {"lead_id": lead.pk, "actor": actor, **extra}
    if name == "qualify":
        return services.lead_qualify(note="Budget confirmed" if lead.recycle_count else "", **common)
    if name == "accept":
        return services.lead_accept(**common)
    if name == "reject":
        return services.lead_reject(reason=reasons.rejection, note="Wrong contact", **common)
    if name == "win":
        return services.lead_win(amount="1200.50", closed_on=timezone.localdate(), **common)
    if name == "lose":
        return services.lead_lose(reason=reasons.loss_recycle, **common)
    if name == "lose_disqualify":
        return services.lead_lose(reason=reasons.loss_disqualify, **common)
    if name == "disqualify":
        return services.lead_disqualify(reason=reasons.disqualification, **common)
    if name == "reopen":
        return services.lead_reopen(**common)
    if name == "reassign":
        return services.lead_reassign(new_owner=org.rep2, **common)
    raise AssertionError(name)


def snapshot(lead: Lead):
    lead = Lead.objects.get(pk=lead.pk)
    clocks = list(Clock.objects.filter(lead=lead).order_by("id").values())
    return model_to_dict(lead), LeadEvent.objects.filter(lead=lead).count(), clocks


# --- allowed ---------------------------------------------------------------------------------

ALLOWED = [
    # name, from stage, actor, to stage, event type, needs reason
    ("qualify", Stage.LEAD, "marketer", Stage.MQL, EventType.QUALIFIED, False),
    ("accept", Stage.MQL, "rep", Stage.SQL, EventType.ACCEPTED, False),
    ("reject", Stage.MQL, "rep", Stage.LEAD, EventType.REJECTED, True),
    ("win", Stage.SQL, "rep", Stage.CUSTOMER, EventType.WON, False),
    ("lose", Stage.SQL, "rep", Stage.LEAD, EventType.LOST, True),
    ("lose_disqualify", Stage.SQL, "rep", Stage.DISQUALIFIED, EventType.LOST, True),
    ("disqualify", Stage.LEAD, "marketer", Stage.DISQUALIFIED, EventType.DISQUALIFIED, True),
    ("disqualify", Stage.MQL, "rep", Stage.DISQUALIFIED, EventType.DISQUALIFIED, True),
    ("disqualify", Stage.SQL, "rep", Stage.DISQUALIFIED, EventType.DISQUALIFIED, True),
    ("reopen", Stage.DISQUALIFIED, "marketer", Stage.LEAD, EventType.REOPENED, False),
    ("reassign", Stage.MQL, "sales_manager", Stage.MQL, EventType.REASSIGNED, False),
    ("reassign", Stage.SQL, "sales_manager", Stage.SQL, EventType.REASSIGNED, False),
]


# Made only by SLA enforcement (no person may): tested in tests/sla/test_policies.py.
SYSTEM_ONLY = {"return"}


def test_the_table_covers_every_transition():
    covered = {row[0].replace("_disqualify", "") for row in ALLOWED}
    assert covered == set(TRANSITIONS) - SYSTEM_ONLY
    for name, stage, *_ in ALLOWED:
        assert stage in TRANSITIONS[name.replace("_disqualify", "")].sources


@pytest.mark.parametrize(
    "name,stage,actor,to_stage,event_type,has_reason", ALLOWED, ids=[f"{r[0]}-from-{r[1]}" for r in ALLOWED]
)
def test_allowed_transition_moves_the_stage_and_writes_exactly_one_event(
    org, reasons, in_stage, name, stage, actor, to_stage, event_type, has_reason
):
    # Given a lead in the source stage
    lead = in_stage(stage)
    before_events = LeadEvent.objects.filter(lead=lead).count()
    before = Lead.objects.get(pk=lead.pk)
    user = getattr(org, actor)

    # When the right person applies the transition
    later = timezone.now() + dt.timedelta(minutes=5)
    import time_machine

    with time_machine.travel(later, tick=False):
        result = call(name, lead, user, org, reasons)

    # Then the stage moved, the version went up by one, and exactly one event says so
    after = Lead.objects.get(pk=lead.pk)
    assert result.stage == after.stage == to_stage
    assert after.version == before.version + 1
    events = LeadEvent.objects.filter(lead=lead).order_by("id")
    assert events.count() == before_events + 1
    event = events.last()
    assert (event.type, event.from_stage, event.to_stage, event.actor) == (event_type, stage, to_stage, user)
    assert (event.reason is not None) == has_reason
    if to_stage != stage:
        assert after.stage_entered_at == later
    else:
        assert after.stage_entered_at == before.stage_entered_at

    # and the side effects are those of DESIGN.md
    running = Clock.objects.running().filter(lead=lead)
    if name == "qualify":
        assert after.owner == org.rep and after.qualified_by == org.marketer
        assert running.get().obligation == Obligation.RESPONSE
        assert event.data["routing_rule"] == "round robin"
    elif name == "accept":
        assert running.get().obligation == Obligation.FOLLOW_UP
        assert Clock.objects.get(lead=lead, obligation=Obligation.RESPONSE).met_at == later
    elif name == "reject":
        assert after.recycle_count == before.recycle_count + 1 and after.owner is None
        assert event.note == "Wrong contact" and not running.exists()
    elif name == "win":
        assert str(after.deal_amount) == "1200.50" and after.closed_on == timezone.localdate()
        assert not running.exists()
    elif name == "lose":
        assert after.recycle_count == before.recycle_count + 1 and after.owner is None
        assert not running.exists()
    elif name in ("disqualify", "lose_disqualify"):
        assert not running.exists()
    elif name == "reassign":
        assert after.owner == org.rep2
        assert all(c.owner == org.rep2 for c in running)
        assert event.data["from_owner"] == org.rep.pk


# --- refused by stage ------------------------------------------------------------------------

WRONG_STAGE = [
    (name, stage)
    for name, transition in TRANSITIONS.items()
    for stage in Stage.values
    if stage not in transition.sources and name not in SYSTEM_ONLY
]


@pytest.mark.parametrize("name,stage", WRONG_STAGE, ids=[f"{n}-from-{s}" for n, s in WRONG_STAGE])
def test_transition_from_a_wrong_stage_is_refused_and_changes_nothing(org, reasons, in_stage, name, stage):
    lead = in_stage(stage)
    before = snapshot(lead)
    # An admin may do anything a person may: what refuses here is the stage.
    with pytest.raises(ActionError) as refused:
        call(name, lead, org.admin, org, reasons)
    assert refused.value.code == ActionError.WRONG_STAGE
    assert "Cannot" in refused.value.message
    assert snapshot(lead) == before


# --- refused by person -------------------------------------------------------------------------

SALES_ACTIONS = [
    ("accept", Stage.MQL),
    ("reject", Stage.MQL),
    ("win", Stage.SQL),
    ("lose", Stage.SQL),
    ("disqualify", Stage.SQL),
    ("disqualify", Stage.MQL),
    ("reassign", Stage.SQL),
]
NOT_ALLOWED_ON_REPS_LEAD = ["marketer", "marketing_manager", "rep2", "other_rep", "other_manager", "employee"]


@pytest.mark.parametrize("actor", NOT_ALLOWED_ON_REPS_LEAD)
@pytest.mark.parametrize("name,stage", SALES_ACTIONS)
def test_only_the_owner_their_manager_or_admin_act_on_a_reps_lead(org, reasons, in_stage, name, stage, actor):
    lead = in_stage(stage)
    before = snapshot(lead)
    with pytest.raises(ActionError) as refused:
        call(name, lead, getattr(org, actor), org, reasons)
    assert refused.value.code == ActionError.FORBIDDEN
    assert snapshot(lead) == before


@pytest.mark.parametrize("actor", ["sales_manager", "admin"])
@pytest.mark.parametrize("name,stage", SALES_ACTIONS)
def test_the_owners_manager_and_admin_may_act(org, reasons, in_stage, name, stage, actor):
    lead = in_stage(stage)
    call(name, lead, getattr(org, actor), org, reasons)
    assert LeadEvent.objects.filter(lead=lead, actor=getattr(org, actor)).count() == 1


def test_rep_cannot_reassign_even_their_own_lead(org, reasons, in_stage):
    lead = in_stage(Stage.SQL)
    with pytest.raises(ActionError) as refused:
        call("reassign", lead, org.rep, org, reasons)
    assert refused.value.code == ActionError.FORBIDDEN


@pytest.mark.parametrize("actor", ["rep", "employee", "sales_manager"])
@pytest.mark.parametrize("name,stage", [("qualify", Stage.LEAD), ("disqualify", Stage.LEAD)])
def test_marketing_owns_a_lead_until_hand_off(org, reasons, in_stage, name, stage, actor):
    lead = in_stage(stage)
    before = snapshot(lead)
    with pytest.raises(ActionError) as refused:
        call(name, lead, getattr(org, actor), org, reasons)
    assert refused.value.code == ActionError.FORBIDDEN
    assert snapshot(lead) == before


@pytest.mark.parametrize("actor", ["rep", "employee"])
def test_reopen_and_merge_are_for_marketing_or_managers(org, reasons, in_stage, make_lead, actor):
    lead = in_stage(Stage.DISQUALIFIED)
    with pytest.raises(ActionError) as refused:
        call("reopen", lead, getattr(org, actor), org, reasons)
    assert refused.value.code == ActionError.FORBIDDEN
    other = make_lead()
    with pytest.raises(ActionError) as refused:
        services.lead_merge(survivor_id=lead.pk, other_id=other.pk, actor=getattr(org, actor))
    assert refused.value.code == ActionError.FORBIDDEN
    assert Lead.objects.get(pk=other.pk).merged_into is None


def test_an_employee_may_only_refer(org):
    with pytest.raises(ActionError) as refused:
        services.lead_create(actor=org.employee, email="x@example.com")
    assert refused.value.code == ActionError.FORBIDDEN
    lead = services.lead_create(
        actor=org.employee,
        email="friend@example.com",
        source="referral",
        referrer=org.employee,
        via="referral",
    )
    assert lead.referrer == org.employee
    assert LeadEvent.objects.get(lead=lead).data["via"] == "referral"


# --- refused by reason, version and gate -----------------------------------------------------------


@pytest.mark.parametrize(
    "name,stage,kind",
    [
        ("reject", Stage.MQL, ReasonKind.REJECTION),
        ("lose", Stage.SQL, ReasonKind.LOSS),
        ("disqualify", Stage.LEAD, ReasonKind.DISQUALIFICATION),
    ],
)
def test_missing_wrong_kind_or_retired_reason_is_refused(org, reasons, in_stage, name, stage, kind):
    lead = in_stage(stage)
    before = snapshot(lead)
    actor = org.marketer if stage == Stage.LEAD else org.rep
    fn = {"reject": services.lead_reject, "lose": services.lead_lose, "disqualify": services.lead_disqualify}[
        name
    ]
    wrong_kind = Reason.objects.exclude(kind=kind).first()
    retired = Reason.objects.filter(kind=kind).first()
    retired.is_active = False
    retired.save()
    for reason, code in [
        (None, "reason_required"),
        (wrong_kind, "invalid"),
        (retired, "invalid"),
        (999999, "invalid"),
    ]:
        with pytest.raises(ActionError) as refused:
            fn(lead_id=lead.pk, actor=actor, reason=reason)
        assert refused.value.code == code
        assert "reason" in refused.value.fields
        assert snapshot(lead) == before


@pytest.mark.parametrize(
    "name,stage,actor",
    [
        ("accept", Stage.MQL, "rep"),
        ("qualify", Stage.LEAD, "marketer"),
        ("win", Stage.SQL, "rep"),
        ("reopen", Stage.DISQUALIFIED, "marketer"),
    ],
)
def test_stale_version_is_refused_and_changes_nothing(org, reasons, in_stage, name, stage, actor):
    lead = in_stage(stage)
    stale = lead.version
    services.lead_update(lead_id=lead.pk, actor=org.admin, phone="+49 30 1234567")  # someone else edits
    before = snapshot(lead)
    with pytest.raises(ActionError) as refused:
        call(name, lead, getattr(org, actor), org, reasons, expected_version=stale)
    assert refused.value.code == ActionError.STALE_VERSION
    assert "Reload" in refused.value.message
    assert snapshot(lead) == before


def test_hand_off_gate_lists_what_is_missing(org):
    lead = services.lead_create(actor=org.marketer, email="bare@example.com", first_name="Bare")
    with pytest.raises(ActionError) as refused:
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    message = refused.value.message
    assert "last name" in message and "company" in message and "job title" in message
    assert "at least 1 engagement" in message
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD


def test_requalifying_a_recycled_lead_needs_a_note(org, reasons, make_mql):
    lead = make_mql()
    services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection)
    with pytest.raises(ActionError) as refused:
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    assert refused.value.fields == {"note": [refused.value.message]}
    lead = services.lead_qualify(lead_id=lead.pk, actor=org.marketer, note="New budget holder")
    assert lead.stage == Stage.MQL and lead.recycle_count == 1


def test_win_validates_amount_and_date(org, make_sql):
    lead = make_sql()
    before = snapshot(lead)
    for amount, closed_on, field in [
        ("-1", timezone.localdate(), "amount"),
        ("abc", timezone.localdate(), "amount"),
        ("", timezone.localdate(), "amount"),
        ("10", None, "closed_on"),
        ("10", timezone.localdate() + dt.timedelta(days=10), "closed_on"),
    ]:
        with pytest.raises(ActionError) as refused:
            services.lead_win(lead_id=lead.pk, actor=org.rep, amount=amount, closed_on=closed_on)
        assert field in refused.value.fields
    assert snapshot(lead) == before


# --- create, edit, merge ------------------------------------------------------------------------


def test_create_records_first_touch_and_refuses_a_normalised_duplicate(org):
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    lead = services.lead_create(
        actor=org.marketer, email=" Ann@Example.COM ", source="webinar", campaign=campaign
    )
    assert lead.email == "ann@example.com"
    event = LeadEvent.objects.get(lead=lead)
    assert event.type == EventType.CREATED and event.data["campaign"] == campaign.pk
    assert event.data["source"] == "webinar"
    with pytest.raises(ActionError) as refused:
        services.lead_create(actor=org.marketer, email="ann@example.com")
    assert refused.value.code == ActionError.DUPLICATE
    assert refused.value.data["existing_id"] == lead.pk
    assert Lead.objects.count() == 1


def test_create_refuses_bad_input_with_field_messages(org):
    with pytest.raises(ActionError) as refused:
        services.lead_create(actor=org.marketer, email="not-an-email", country="Germany")
    assert {"email", "country"} <= set(refused.value.fields)
    assert Lead.objects.count() == 0


def test_profile_edit_is_audited_with_old_and_new_values(org, make_lead):
    lead = make_lead(job_title="Analyst")
    services.lead_update(lead_id=lead.pk, actor=org.marketer, job_title="VP Sales")
    event = LeadEvent.objects.get(lead=lead, type=EventType.UPDATED)
    assert event.data == {"changes": {"job_title": ["Analyst", "VP Sales"]}}
    # an edit that changes nothing writes nothing
    services.lead_update(lead_id=lead.pk, actor=org.marketer, job_title="VP Sales")
    assert LeadEvent.objects.filter(lead=lead, type=EventType.UPDATED).count() == 1


def test_merge_keeps_both_histories_and_leaves_a_pointer(org, reasons, make_lead, make_sql):
    survivor = make_lead(email="keep@example.com", phone="")
    other = make_lead(email="dupe@example.com", phone="+44 20 7946 0000")
    merged = services.lead_merge(survivor_id=survivor.pk, other_id=other.pk, actor=org.marketer)
    other.refresh_from_db()
    assert other.merged_into == merged
    assert merged.phone == "+44 20 7946 0000"
    assert merged.engagements.count() == 2
    assert LeadEvent.objects.get(lead=merged, type=EventType.MERGED).data["other"] == other.pk
    assert LeadEvent.objects.get(lead=other, type=EventType.MERGED_INTO).data["survivor"] == merged.pk
    with pytest.raises(ActionError) as refused:
        services.lead_qualify(lead_id=other.pk, actor=org.marketer)
    assert "merged into" in refused.value.message
    customer = make_sql()
    services.lead_win(lead_id=customer.pk, actor=org.rep, amount=5, closed_on=timezone.localdate())
    with pytest.raises(ActionError):
        services.lead_merge(survivor_id=merged.pk, other_id=customer.pk, actor=org.marketing_manager)


def test_touch_needs_an_sql_and_its_owner(org, make_mql, make_sql):
    mql = make_mql()
    with pytest.raises(ActionError) as refused:
        services.touch_log(lead_id=mql.pk, actor=org.rep, kind="call", outcome="connected")
    assert refused.value.code == ActionError.WRONG_STAGE
    sql = make_sql()
    with pytest.raises(ActionError) as refused:
        services.touch_log(lead_id=sql.pk, actor=org.rep2, kind="call", outcome="connected")
    assert refused.value.code == ActionError.FORBIDDEN
    touch = services.touch_log(lead_id=sql.pk, actor=org.rep, kind="call", outcome="connected")
    assert touch.lead == sql and sql.touches.count() == 1


def test_engagement_is_idempotent_by_external_id(org, make_lead):
    lead = make_lead()
    first, created = services.engagement_log(
        lead_id=lead.pk, actor=None, type="pricing_page", origin="web", external_id="abc"
    )
    again, created_again = services.engagement_log(
        lead_id=lead.pk, actor=None, type="pricing_page", origin="web", external_id="abc"
    )
    assert created and not created_again and first.pk == again.pk
    with pytest.raises(ActionError):
        services.engagement_log(lead_id=lead.pk, actor=org.rep, type="pricing_page")


def test_events_are_immutable(org, make_lead):
    from leads.models import ImmutableError

    event = LeadEvent.objects.filter(lead=make_lead()).first()
    event.note = "rewritten"
    with pytest.raises(ImmutableError):
        event.save()
    with pytest.raises(ImmutableError):
        LeadEvent.objects.filter(pk=event.pk).update(note="x")
    with pytest.raises(ImmutableError):
        LeadEvent.objects.filter(pk=event.pk).delete()


# --- the table drives the services ---------------------------------------------------------------


def test_the_stages_a_transition_starts_from_come_from_the_table(org, reasons, in_stage, monkeypatch):
    # Given a table in which a lead is won straight from MQL (and no longer from SQL)
    win = TRANSITIONS["win"]
    monkeypatch.setitem(TRANSITIONS, "win", dataclasses.replace(win, sources=frozenset({Stage.MQL})))
    mql, sql = in_stage(Stage.MQL), in_stage(Stage.SQL)

    # When the rep wins both, then the MQL is won and the SQL refused by its stage
    won = services.lead_win(lead_id=mql.pk, actor=org.rep, amount=10, closed_on=timezone.localdate())
    assert won.stage == Stage.CUSTOMER
    assert LeadEvent.objects.filter(lead=mql).last().from_stage == Stage.MQL
    with pytest.raises(ActionError) as refused:
        services.lead_win(lead_id=sql.pk, actor=org.rep, amount=10, closed_on=timezone.localdate())
    assert refused.value.code == ActionError.WRONG_STAGE
    assert "only a lead in MQL can be won" in refused.value.message


def test_where_a_transition_goes_and_what_it_writes_come_from_the_table(org, reasons, in_stage, monkeypatch):
    # Given a table in which a rejection puts the lead out of the funnel, as a disqualification
    reject = TRANSITIONS["reject"]
    monkeypatch.setitem(
        TRANSITIONS,
        "reject",
        dataclasses.replace(reject, targets=frozenset({Stage.DISQUALIFIED}), event=EventType.DISQUALIFIED),
    )
    lead = in_stage(Stage.MQL)

    services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection)

    assert Lead.objects.get(pk=lead.pk).stage == Stage.DISQUALIFIED
    event = LeadEvent.objects.filter(lead=lead).last()
    assert (event.type, event.from_stage, event.to_stage) == (
        EventType.DISQUALIFIED,
        Stage.MQL,
        Stage.DISQUALIFIED,
    )


def test_who_may_act_comes_from_the_table_for_the_service_and_the_page(org, reasons, in_stage, monkeypatch):
    from leads.stages import actions_for
    from smarketing.org.roles import Role, has_role

    # Given a table in which only managers reopen
    reopen = TRANSITIONS["reopen"]
    monkeypatch.setitem(
        TRANSITIONS,
        "reopen",
        dataclasses.replace(
            reopen, who=lambda user, lead: has_role(user, Role.MANAGER), who_words="a manager"
        ),
    )
    lead = in_stage(Stage.DISQUALIFIED)

    # Then the page no longer offers a marketer to reopen, and the service refuses them
    assert "reopen" not in actions_for(org.marketer, lead)
    assert "reopen" in actions_for(org.marketing_manager, lead)
    with pytest.raises(ActionError) as refused:
        services.lead_reopen(lead_id=lead.pk, actor=org.marketer)
    assert refused.value.code == ActionError.FORBIDDEN
    assert refused.value.message == "You cannot reopen this lead: only a manager can."
    assert services.lead_reopen(lead_id=lead.pk, actor=org.marketing_manager).stage == Stage.LEAD


def test_the_system_acts_only_where_the_table_lets_it(org, reasons, in_stage):
    # Automatic hand-off and SLA escalation are the system's; an answer to an MQL is not.
    lead = in_stage(Stage.MQL)
    with pytest.raises(ActionError) as refused:
        services.lead_accept(lead_id=lead.pk, actor=None)
    assert refused.value.code == ActionError.FORBIDDEN
    assert TRANSITIONS["qualify"].system and TRANSITIONS["reassign"].system
    assert TRANSITIONS["return"].who is None  # SLA enforcement only: no person may


def test_the_page_offers_exactly_what_the_table_allows(org, in_stage):
    """`actions_for` is the table read for a page: every transition it offers, the service
    accepts from that person (checked here without moving the lead), and vice versa."""
    from leads.stages import actions_for, check_stage, check_who

    people = [
        org.marketer,
        org.rep,
        org.rep2,
        org.sales_manager,
        org.marketing_manager,
        org.employee,
        org.admin,
    ]
    for stage in Stage.values:
        lead = in_stage(stage)
        for person in people:
            offered = actions_for(person, lead)
            for name, transition in TRANSITIONS.items():
                try:
                    check_stage(transition, lead.stage)
                    check_who(transition, person, lead)
                    allowed = True
                except ActionError:
                    allowed = False
                assert (name in offered) == allowed, (name, stage, person)
