"""Every sales action as a POST: allowed for the owner and their manager, refused with a
readable error and nothing changed for everyone else, a missing reason or a stale version."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db


def post(user, url, data=None):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(url, data or {}, format="json")


def body(reasons, name, org):
    today = timezone.localdate().isoformat()
    return {
        "accept": {"note": "Looks good"},
        "reject": {"reason": reasons.rejection.pk, "note": "Student"},
        "win": {"amount": "9600.00", "closed_on": today},
        "lose": {"reason": reasons.loss_recycle.pk},
        "disqualify": {"reason": reasons.disqualification.pk},
        "reassign": {"owner": org.rep2.pk},
        "touches": {"kind": "call", "outcome": "connected"},
    }[name]


CASES = [
    ("accept", Stage.MQL, Stage.SQL),
    ("reject", Stage.MQL, Stage.LEAD),
    ("win", Stage.SQL, Stage.CUSTOMER),
    ("lose", Stage.SQL, Stage.LEAD),
    ("disqualify", Stage.SQL, Stage.DISQUALIFIED),
    ("reassign", Stage.SQL, Stage.SQL),
    ("touches", Stage.SQL, Stage.SQL),
]


@pytest.fixture
def lead_in(make_mql, make_sql):
    return lambda stage: make_mql() if stage == Stage.MQL else make_sql()


ALLOWED = [
    (actor, *case)
    for case in CASES
    for actor in ("rep", "sales_manager")
    if not (case[0] == "reassign" and actor == "rep")
]


@pytest.mark.parametrize("actor,name,stage,to_stage", ALLOWED)
def test_owner_and_manager_may_act(org, reasons, lead_in, name, stage, to_stage, actor):
    lead = lead_in(stage)
    response = post(getattr(org, actor), f"/api/leads/{lead.pk}/{name}/", body(reasons, name, org))
    assert response.status_code in (200, 201), response.json()
    fresh = Lead.objects.get(pk=lead.pk)
    assert fresh.stage == to_stage
    if name == "touches":
        assert response.json()["kind"] == "call" and fresh.touches.count() == 1
    else:
        assert response.json()["stage"] == to_stage and response.json()["version"] == lead.version + 1


@pytest.mark.parametrize("actor", ["marketer", "rep2", "other_rep", "other_manager", "employee"])
@pytest.mark.parametrize("name,stage,to_stage", CASES)
def test_everyone_else_is_refused_and_nothing_changes(org, reasons, lead_in, name, stage, to_stage, actor):
    lead = lead_in(stage)
    events = LeadEvent.objects.filter(lead=lead).count()
    response = post(getattr(org, actor), f"/api/leads/{lead.pk}/{name}/", body(reasons, name, org))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden" and "only" in error["message"]
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.stage, fresh.version, fresh.owner_id) == (lead.stage, lead.version, lead.owner_id)
    assert LeadEvent.objects.filter(lead=lead).count() == events
    assert fresh.touches.count() == 0


def test_rep_cannot_reassign(org, reasons, make_sql):
    lead = make_sql()
    assert post(org.rep, f"/api/leads/{lead.pk}/reassign/", {"owner": org.rep2.pk}).status_code == 403


@pytest.mark.parametrize("name", ["reject", "lose", "disqualify"])
def test_missing_reason_is_a_field_error(org, make_mql, make_sql, name):
    lead = make_mql() if name == "reject" else make_sql()
    response = post(org.rep, f"/api/leads/{lead.pk}/{name}/", {})
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert Lead.objects.get(pk=lead.pk).stage == lead.stage


def test_wrong_kind_of_reason_is_refused(org, reasons, make_mql):
    lead = make_mql()
    response = post(org.rep, f"/api/leads/{lead.pk}/reject/", {"reason": reasons.loss_recycle.pk})
    assert response.status_code == 422 and "reason" in response.json()["error"]["fields"]


def test_stale_version_is_a_conflict(org, make_mql):
    lead = make_mql()
    services.lead_update(lead_id=lead.pk, actor=org.marketer, phone="+1 555 0100")
    response = post(org.rep, f"/api/leads/{lead.pk}/accept/", {"version": lead.version})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "stale_version" and error["current_version"] == lead.version + 1
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_acting_twice_is_a_conflict_with_a_message(org, make_mql):
    lead = make_mql()
    assert post(org.rep, f"/api/leads/{lead.pk}/accept/").status_code == 200
    response = post(org.sales_manager, f"/api/leads/{lead.pk}/accept/")
    assert response.status_code == 409 and "it is SQL" in response.json()["error"]["message"]
    assert LeadEvent.objects.filter(lead=lead, type=EventType.ACCEPTED).count() == 1


def test_bad_amount_is_refused(org, make_sql):
    lead = make_sql()
    response = post(org.rep, f"/api/leads/{lead.pk}/win/", {"amount": "-5", "closed_on": "2026-11-01"})
    assert response.status_code == 400 and "amount" in response.json()["error"]["fields"]


def test_inbox_read_and_read_all(org, make_mql, reasons):
    lead = make_mql()
    from leads.event_notifications import notifications_for_event

    notifications_for_event(LeadEvent.objects.get(lead=lead, type="qualified").pk)
    client = APIClient()
    client.force_authenticate(org.rep)
    rows = client.get("/api/notifications/", {"unread": "true"}).json()["results"]
    assert [r["kind"] for r in rows] == [NotificationKind.MQL_ASSIGNED]
    assert client.post(f"/api/notifications/{rows[0]['id']}/read/").json()["read_at"]
    assert client.get("/api/notifications/", {"unread": "true"}).json()["count"] == 0
    other = APIClient()
    other.force_authenticate(org.rep2)
    assert other.post(f"/api/notifications/{rows[0]['id']}/read/").status_code == 404
    assert Notification.objects.filter(recipient=org.rep, read_at__isnull=True).count() == 0


def test_my_handoffs_say_what_became_of_each(org, reasons, make_mql, make_sql):
    waiting = make_mql(first_name="Waiting")
    rejected = make_mql(first_name="Rejected")
    services.lead_reject(lead_id=rejected.pk, actor=org.rep, reason=reasons.rejection, note="No budget yet")
    won = make_sql(first_name="Won")
    services.lead_win(lead_id=won.pk, actor=org.rep, amount=1200, closed_on=timezone.localdate())
    client = APIClient()
    client.force_authenticate(org.marketer)
    rows = {r["lead"]: r for r in client.get("/api/handoffs/").json()["results"]}
    assert rows[waiting.pk]["outcome"] == "waiting"
    assert rows[rejected.pk]["outcome"] == "rejected"
    assert (
        rows[rejected.pk]["reason"] == reasons.rejection.label
        and rows[rejected.pk]["note"] == "No budget yet"
    )
    assert rows[won.pk]["outcome"] == "won" and rows[won.pk]["amount"] == "1200.00"
    assert client.get("/api/handoffs/", {"week": "2020-01-06"}).json()["count"] == 0
    assert client.get("/api/handoffs/", {"week": "nonsense"}).status_code == 400
