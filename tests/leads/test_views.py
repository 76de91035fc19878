"""Pages: login required, each role's home shows its own real data, constant queries."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import services
from sla.models import EnforcementRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def as_(user):
        client.force_login(user)
        return client

    return as_


@pytest.mark.parametrize("name,kwargs", [("home", {}), ("lead-list", {}), ("lead-detail", {"lead_id": 1})])
def test_every_page_needs_a_login(client, name, kwargs):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_and_logout(client, org):
    response = client.post(reverse("login"), {"username": "rep", "password": "pass-for-tests-1"})
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_is_refused_with_a_message(client, org):
    response = client.post(reverse("login"), {"username": "rep", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_rep_home_shows_my_queue_with_deadline_and_not_other_reps(login, org, make_mql, make_sql):
    mine = make_mql(first_name="Queued", last_name="Mine", company="Acme Mine")
    make_sql(first_name="Working", last_name="Sql")
    org.rep.membership.is_away = True
    org.rep.membership.save()
    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    theirs = make_mql(first_name="Other", last_name="Persons")
    assert theirs.owner == org.rep2

    html = login(org.rep).get(reverse("home")).content.decode()

    assert "Queued Mine" in html and "Acme Mine" in html
    assert "business time" in html
    assert "Working Sql" in html
    assert "Other Persons" not in html
    assert mine.pk and reverse("lead-detail", args=[mine.pk]) in html


def test_marketer_home_shows_recycled_queue_with_sales_feedback(login, org, make_mql, reasons):
    lead = make_mql(first_name="Bounced", last_name="Back")
    services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection, note="Call their COO")

    html = login(org.marketer).get(reverse("home")).content.decode()

    assert "Bounced Back" in html
    assert reasons.rejection.label in html
    assert "Call their COO" in html


def test_sales_manager_home_shows_team_and_breaches(login, org, make_mql):
    lead = make_mql(first_name="Late", last_name="Response")
    clock = lead.clocks.get()
    from sla.services import sla_enforce

    sla_enforce(now=clock.due_at + timezone.timedelta(minutes=5))
    assert login(org.sales_manager).get(reverse("home")).url == reverse("dashboard")  # their landing page
    html = login(org.sales_manager).get(reverse("work")).content.decode()

    assert "Sales East: the team" in html
    assert org.rep.get_full_name() in html
    assert "Breaches this week" in html and "Late Response" in html


def test_employee_home_shows_referrals(login, org):
    services.lead_create(
        actor=org.employee,
        email="friend@example.com",
        first_name="Fred",
        last_name="Friend",
        source="referral",
        referrer=org.employee,
        via="referral",
    )
    html = login(org.employee).get(reverse("home")).content.decode()
    assert "Leads you referred" in html and "Fred Friend" in html


def test_empty_states_say_what_to_do(login, org):
    html = login(org.rep).get(reverse("home")).content.decode()
    assert "No MQLs are waiting for you" in html
    html = login(org.marketer).get(reverse("home")).content.decode()
    assert "Sales has sent nothing back" in html


def test_footer_proves_the_enforcement_job_runs(login, org):
    html = login(org.rep).get(reverse("home")).content.decode()
    assert "SLA enforcement has not run yet" in html
    EnforcementRun.objects.create(started_at=timezone.now(), finished_at=timezone.now(), warned=2, breached=1)
    html = login(org.rep).get(reverse("home")).content.decode()
    assert "SLA enforcement last ran" in html and "2 warnings, 1 breach)" in html


def test_lead_list_filters_and_searches(login, org, make_lead, make_mql):
    make_lead(first_name="Alpha", company="Zeta Corp")
    make_mql(first_name="Bravo", company="Yotta Ltd")
    client = login(org.rep2)
    html = client.get(reverse("lead-list"), {"stage": "mql"}).content.decode()
    assert "Bravo" in html and "Alpha" not in html
    html = client.get(reverse("lead-list"), {"q": "zeta"}).content.decode()
    assert "Alpha" in html and "Bravo" not in html


def test_lead_detail_shows_timeline_of_both_merged_leads(login, org, make_lead, reasons):
    survivor = make_lead(first_name="Keep", email="keep@example.com")
    other = make_lead(first_name="Gone", email="gone@example.com")
    services.lead_merge(survivor_id=survivor.pk, other_id=other.pk, actor=org.marketer)
    html = login(org.other_rep).get(reverse("lead-detail", args=[survivor.pk])).content.decode()
    assert "Merged" in html and "gone@example.com" in html
    assert html.count("<strong>Created</strong>") == 2


def test_lead_page_reads_engagements_and_clocks_once_for_timeline_and_sections(login, org, make_sql):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lead = make_sql(email="once@example.com")
    services.engagement_log(lead_id=lead.pk, actor=org.marketer, type="event_attended", title="June seminar")
    client = login(org.sales_manager)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert sum('FROM "leads_engagement"' in sql for sql in reads) == 1
    assert sum('FROM "sla_clock"' in sql for sql in reads) == 1
    # Both places still show them: the timeline and the page's own sections.
    assert "Event attended: June seminar</td>" in html  # the engagements section
    assert "June seminar (+" in html  # the timeline
    assert "<td>Respond to the MQL</td>" in html and "<td>Follow up the SQL</td>" in html


def _pin_queries(client, url, django_assert_max_num_queries, bound):
    with django_assert_max_num_queries(bound):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("rows", [3, 30])
def test_pages_run_a_constant_number_of_queries(
    login, org, make_mql, make_sql, rows, django_assert_max_num_queries
):
    for n in range(rows):
        make_mql(email=f"q{n}@example.com")
        make_sql(email=f"s{n}@example.com")
    lead = make_sql(email="detail@example.com")
    for _ in range(rows // 3):
        services.touch_log(lead_id=lead.pk, actor=org.rep, kind="call", outcome="connected")
    _pin_queries(login(org.rep), reverse("home"), django_assert_max_num_queries, 16)
    _pin_queries(login(org.sales_manager), reverse("work"), django_assert_max_num_queries, 17)
    _pin_queries(login(org.marketer), reverse("home"), django_assert_max_num_queries, 15)
    _pin_queries(login(org.rep), reverse("lead-list"), django_assert_max_num_queries, 14)
    _pin_queries(login(org.rep), reverse("lead-detail", args=[lead.pk]), django_assert_max_num_queries, 20)
    _pin_queries(login(org.marketer), reverse("my-handoffs"), django_assert_max_num_queries, 10)
    _pin_queries(login(org.rep), reverse("inbox"), django_assert_max_num_queries, 10)
