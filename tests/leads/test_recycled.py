"""Marketing's recycled queue: what sales sent back, why, and re-qualifying with a note."""

from __future__ import annotations

import pytest

from leads import services
from leads.models import Stage
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.core.errors import ActionError


@pytest.fixture
def sent_back(org, make_mql, reasons):
    lead = make_mql(first_name="Rita", last_name="Returned")
    services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection, note="No budget until Q3")
    other_reason = Reason.objects.filter(kind=ReasonKind.REJECTION).exclude(pk=reasons.rejection.pk).first()
    second = make_mql(first_name="Otto", last_name="Other")
    services.lead_reject(lead_id=second.pk, actor=org.rep, reason=other_reason, note="")
    return lead, second, other_reason


def test_queue_shows_reason_note_and_filters(client, org, reasons, sent_back):
    lead, second, other_reason = sent_back
    client.force_login(org.marketer)
    page = client.get("/recycled/").content.decode()
    assert "Rita Returned" in page and "No budget until Q3" in page and reasons.rejection.label in page
    assert "Otto Other" in page
    filtered = client.get("/recycled/", {"reason": other_reason.pk}).content.decode()
    assert "Otto Other" in filtered and "Rita Returned" not in filtered


def test_requalify_needs_a_note(client, org, sent_back):
    lead, _, _ = sent_back
    lead.refresh_from_db()
    client.force_login(org.marketer)
    response = client.post(f"/leads/{lead.pk}/act/qualify/", {"version": lead.version, "note": ""})
    assert response.status_code == 400
    assert "say what changed in a note" in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage == Stage.LEAD
    response = client.post(
        f"/leads/{lead.pk}/act/qualify/", {"version": lead.version, "note": "Budget approved"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL and lead.recycle_count == 1


@pytest.mark.parametrize("rows", [2, 12])
def test_queue_query_count_is_constant(client, org, make_mql, reasons, rows, django_assert_max_num_queries):
    for n in range(rows):
        lead = make_mql(email=f"r{n}@example.com")
        services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection)
    client.force_login(org.marketer)
    with django_assert_max_num_queries(10):
        page = client.get("/recycled/").content.decode()
    assert sum(f"r{n}@example.com" in page for n in range(rows)) == rows


def test_reject_without_reason_is_refused(org, make_mql):
    lead = make_mql()
    with pytest.raises(ActionError):
        services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=None)


def test_recycled_api(org, reasons, sent_back):
    from rest_framework.test import APIClient

    lead, second, other_reason = sent_back
    api = APIClient()
    api.force_authenticate(org.marketer)
    rows = api.get("/api/recycled/").json()["results"]
    mine = next(r for r in rows if r["id"] == lead.pk)
    assert (mine["feedback_type"], mine["feedback_reason"], mine["feedback_note"], mine["feedback_by"]) == (
        "rejected",
        reasons.rejection.label,
        "No budget until Q3",
        "rep",
    )
    only = api.get("/api/recycled/", {"reason": other_reason.pk}).json()["results"]
    assert [r["id"] for r in only] == [second.pk]
    assert api.get("/api/recycled/", {"reason": "x"}).status_code == 400
