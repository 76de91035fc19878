"""Least privilege (issue 20, class 7): contact details and amounts only where the work
needs them, merges of a lead sales owns only by its side, manager-only writes refused
before their body is read, and a Content-Security-Policy in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from smarketing.core.errors import ActionError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def won(org, make_sql):
    lead = make_sql(email="buyer@acme.io", phone="+49 30 777")
    return services.lead_win(
        lead_id=lead.pk, actor=org.rep, amount="12345.00", closed_on=timezone.localdate()
    )


@pytest.fixture
def referred(org):
    return services.lead_create(
        actor=org.employee,
        email="friend@acme.io",
        phone="+49 30 111",
        source="referral",
        referrer=org.employee,
        via="referral",
    )


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_employee_reads_where_a_lead_is_but_not_its_contact_details_or_amount(org, won, referred):
    api = api_as(org.employee)
    shown = api.get(f"/api/leads/{won.pk}/").json()
    assert (shown["stage"], shown["owner"]["id"]) == ("customer", org.rep.pk)  # the closed loop
    assert (shown["email"], shown["phone"], shown["deal_amount"]) == (None, None, None)
    listed = {row["id"]: row for row in api.get("/api/leads/").json()["results"]}
    assert listed[won.pk]["email"] is None
    # Their own referral: its details are theirs to see.
    assert listed[referred.pk]["email"] == "friend@acme.io"
    assert api.get(f"/api/leads/{referred.pk}/").json()["phone"] == "+49 30 111"
    # The won event's amount is not in the history either.
    events = api.get(f"/api/leads/{won.pk}/events/").json()
    assert all("amount" not in event["data"] for event in events)
    # Marketing and sales see everything.
    assert api_as(org.marketer).get(f"/api/leads/{won.pk}/").json()["deal_amount"] == "12345.00"
    assert any("amount" in e["data"] for e in api_as(org.rep).get(f"/api/leads/{won.pk}/events/").json())


def test_the_pages_keep_the_same_boundary(client, org, won, referred):
    client.force_login(org.employee)
    page = client.get(f"/leads/{won.pk}/").content.decode()
    assert "buyer@acme.io" not in page and "+49 30 777" not in page and "12345" not in page
    assert "Shown to marketing and sales" in page
    listing = client.get("/leads/").content.decode()
    assert "buyer@acme.io" not in listing and "friend@acme.io" in listing
    client.force_login(org.marketer)
    assert "buyer@acme.io" in client.get(f"/leads/{won.pk}/").content.decode()


@pytest.mark.parametrize(
    "path", ["/api/sla/clocks/", "/api/recycled/", "/api/handoffs/", "/recycled/", "/handoffs/"]
)
def test_an_employee_has_no_work_queue(client, org, path):
    client.force_login(org.employee)
    assert client.get(path).status_code == 403


def test_a_merge_that_touches_a_lead_sales_owns_needs_its_side(org, won, make_lead):
    duplicate = make_lead(email="buyer.two@acme.io")
    # A marketer may not merge into the rep's customer (it would change what sales owns).
    with pytest.raises(ActionError) as refused:
        services.lead_merge(survivor_id=won.pk, other_id=duplicate.pk, actor=org.marketer)
    assert refused.value.code == ActionError.FORBIDDEN
    assert "its rep or their manager, while sales owns it" in refused.value.message
    refused_api = api_as(org.marketer).post(
        f"/api/leads/{won.pk}/merge/", {"other": duplicate.pk}, format="json"
    )
    assert refused_api.status_code == 403
    # The rep's manager may: they act for the owner and are a manager for marketing's lead.
    merged = services.lead_merge(survivor_id=won.pk, other_id=duplicate.pk, actor=org.sales_manager)
    assert merged.pk == won.pk
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == won.pk


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("put", "/api/scoring/", {"threshold": "not a number", "rules": "x"}),
        ("post", "/api/reasons/", {"kind": "nonsense"}),
        ("put", "/api/handoff-gate/", {"required_fields": 3}),
        ("post", "/api/routing/rules/", {}),
        ("post", "/api/agreement/versions/2/confirm/", {"x": [1]}),
        ("put", "/api/sla/commitments/1/", {"min_mqls": "lots"}),
        ("post", "/api/agreement/goal/", {"target": "-"}),
    ],
)
def test_manager_only_writes_refuse_before_reading_the_body(org, method, path, body):
    answer = getattr(api_as(org.rep), method)(path, body, format="json")
    assert answer.status_code == 403, answer.content
    assert answer.json()["error"]["code"] == "forbidden"


def test_a_teams_calendar_is_refused_to_other_managers_before_its_body_is_read(org):
    answer = api_as(org.other_manager).put(
        f"/api/calendars/{org.sales.pk}/", {"hours": "garbage"}, format="json"
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == f"Only the manager of {org.sales} can change its calendar."


# --- the Content-Security-Policy ----------------------------------------------------------------


def test_production_sends_a_policy_with_no_inline_script_and_pages_need_none(
    client, org, settings, monkeypatch
):
    import importlib

    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 50)
    policy = importlib.import_module("smarketing.settings.production").CONTENT_SECURITY_POLICY
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    )
    settings.CONTENT_SECURITY_POLICY = policy
    client.force_login(org.marketer)
    for path in ["/", "/leads/", "/agreement/", "/inbox/", "/api/docs/"]:
        response = client.get(path)
        assert response["Content-Security-Policy"] == policy, path
        html = response.content.decode()
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=", html)
        assert inline == [], (path, inline)


def test_no_template_has_inline_script_style_or_handler():
    found = []
    for path in (ROOT / "templates").rglob("*.html"):
        html = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", path.read_text(), flags=re.S)
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=", html):
            found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert found == []
