"""The admin: every model listed, stage read-only, profile edits audited."""

from __future__ import annotations

import pytest

from leads.models import EventType, Lead, LeadEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, org):
    org.admin.is_staff = True
    org.admin.is_superuser = True
    org.admin.save()
    client.force_login(org.admin)
    return client


def _registered() -> list[str]:
    """Every model the admin shows, by its app (docs/architecture.md)."""
    from django.contrib import admin

    return sorted(f"{m._meta.app_label}/{m._meta.model_name}" for m in admin.site._registry)


@pytest.mark.parametrize("path", _registered())
def test_changelists_render(admin_client, make_mql, path):
    make_mql()
    assert admin_client.get(f"/admin/{path}/").status_code == 200


def test_every_app_keeps_its_models_in_the_admin():
    paths = _registered()
    for expected in (
        "leads/lead",
        "org/team",
        "org/campaign",
        "agreement/reason",
        "notifications/notification",
    ):
        assert expected in paths
    assert "sla/clock" in paths


def test_profile_edit_goes_through_the_service_and_stage_stays(admin_client, make_mql):
    lead = make_mql(job_title="Old title")
    page = admin_client.get(f"/admin/leads/lead/{lead.pk}/change/")
    assert page.status_code == 200
    form = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": "",
        "company": lead.company,
        "job_title": "New title",
        "company_size": 250,
        "country": "DE",
        "website": "",
        "stage": "customer",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(f"/admin/leads/lead/{lead.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    lead.refresh_from_db()
    assert lead.job_title == "New title"
    assert lead.stage == "mql"
    update = LeadEvent.objects.get(lead=lead, type=EventType.UPDATED)
    assert update.actor.username == "admin"
    assert update.data["changes"]["job_title"] == ["Old title", "New title"]


def test_events_cannot_be_changed_or_deleted(admin_client, make_mql):
    lead = make_mql()
    event = LeadEvent.objects.filter(lead=lead).first()
    assert admin_client.post(f"/admin/leads/leadevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LeadEvent.objects.filter(pk=event.pk).exists()
    assert Lead.objects.filter(pk=lead.pk).exists()
