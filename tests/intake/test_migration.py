"""The migration import through its services: each row becomes the path its lead took
(docs/migration.md), checked against the transition table, back-dated and marked as
migrated; open MQLs and SQLs get their clocks at go-live; a re-import changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leads.models import EventType, Lead, LeadEvent, Stage
from sla import services as sla_services
from sla.models import Clock, Obligation
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.core.errors import ActionError
from smarketing.intake import imports, migration
from smarketing.intake import run as intake_run
from smarketing.intake.models import ImportJob, ImportStatus, RowOutcome
from tests.factories import LeadFactory

BERLIN = ZoneInfo("Europe/Berlin")

HUBSPOT = (
    "Record ID,First Name,Last Name,Email,Company Name,Job Title,Lifecycle Stage,Lead Status,Contact owner,"
    "Create Date,Became a Marketing Qualified Lead Date,Became a Sales Qualified Lead Date,"
    "Became a Customer Date,Original Source,Original Source Drill-Down 1,Amount,Close Date,Closed Lost Reason\n"
)


def row(
    email,
    stage="Lead",
    status="",
    owner="",
    created="2026-09-01 10:00",
    mql="",
    sql="",
    customer="",
    source="Organic Search",
    amount="",
    close="",
    loss="",
    rid="1",
):
    return (
        f"{rid},Ann,Archer,{email},Acme,VP Sales,{stage},{status},{owner},{created},{mql},{sql},{customer},"
        f"{source},google,{amount},{close},{loss}\n"
    )


def upload(actor, text, name="hubspot-contacts.csv"):
    return imports.import_upload(
        actor=actor, uploaded=SimpleUploadedFile(name, text.encode()), kind="migration"
    )


def run(job, actor=None):
    imports.import_start(actor=actor or job.created_by, job_id=job.pk)
    return intake_run.import_run(job_id=job.pk)


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@pytest.fixture
def people(org):
    org.rep.first_name, org.rep.last_name, org.rep.email = "Dana", "Sales", "dana@example.com"
    org.rep.save()
    org.rep2.first_name, org.rep2.last_name, org.rep2.email = "Rob", "Rep", "rob@example.com"
    org.rep2.save()
    return org


def test_each_lifecycle_stage_becomes_its_path_back_dated_and_marked(people):
    org = people
    text = HUBSPOT + "".join(
        [
            row("lead@x.io", rid="11"),
            row("mql@x.io", "Marketing Qualified Lead", owner="Dana Sales", mql="2026-09-02 09:00", rid="12"),
            row(
                "sql@x.io",
                "Sales Qualified Lead",
                owner="dana@example.com",
                mql="2026-09-02 09:00",
                sql="2026-09-03 11:00",
                rid="13",
            ),
            row(
                "won@x.io",
                "Customer",
                owner="Rob Rep",
                mql="2026-09-02 09:00",
                sql="2026-09-03 11:00",
                customer="2026-10-05 16:00",
                amount="12500.50",
                rid="14",
            ),
            row(
                "lost@x.io",
                "Opportunity",
                owner="Rob Rep",
                mql="2026-09-02",
                sql="2026-09-03",
                close="2026-10-01",
                loss="Price",
                rid="15",
            ),
            row("dq@x.io", "Lead", "Unqualified", created="2026-09-04 08:00", rid="16"),
        ]
    )
    job = upload(org.sales_manager, text)
    assert job.system == "hubspot"
    assert job.mapping["Lifecycle Stage"] == "lifecycle_stage" and job.mapping["Contact owner"] == "owner"
    assert job.mapping["Became a Customer Date"] == "customer_at" and job.mapping["Amount"] == "deal_amount"
    job = run(job)
    assert job.status == ImportStatus.DONE, job.error
    assert (job.created_count, job.failed_count, job.skipped_count) == (6, 0, 0), list(
        job.rows.values_list("row_number", "message")
    )

    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert {e: lead.stage for e, lead in leads.items()} == {
        "lead@x.io": Stage.LEAD,
        "mql@x.io": Stage.MQL,
        "sql@x.io": Stage.SQL,
        "won@x.io": Stage.CUSTOMER,
        "lost@x.io": Stage.LEAD,  # "Price" recycles
        "dq@x.io": Stage.DISQUALIFIED,
    }
    assert leads["mql@x.io"].owner == org.rep and leads["sql@x.io"].owner == org.rep
    assert leads["won@x.io"].owner == org.rep2
    assert leads["won@x.io"].deal_amount == Decimal("12500.50")
    assert leads["won@x.io"].closed_on == dt.date(2026, 10, 5)
    assert leads["lost@x.io"].owner is None and leads["lost@x.io"].recycle_count == 1
    assert leads["lead@x.io"].created_at == at("2026-09-01 10:00")
    assert leads["sql@x.io"].stage_entered_at == at("2026-09-03 11:00")

    won = list(LeadEvent.objects.filter(lead=leads["won@x.io"]).order_by("occurred_at", "id"))
    assert [(e.type, e.from_stage, e.to_stage, e.occurred_at) for e in won] == [
        (EventType.CREATED, "", Stage.LEAD, at("2026-09-01 10:00")),
        (EventType.QUALIFIED, Stage.LEAD, Stage.MQL, at("2026-09-02 09:00")),
        (EventType.ACCEPTED, Stage.MQL, Stage.SQL, at("2026-09-03 11:00")),
        (EventType.WON, Stage.SQL, Stage.CUSTOMER, at("2026-10-05 16:00")),
    ]
    assert all(e.actor == org.sales_manager for e in won)
    assert {e.data["migrated"]["row"] for e in won} == {5}
    assert won[0].data["migrated"] == {"system": "hubspot", "import_job": job.pk, "row": 5}
    assert won[0].data["source_detail"] == "google" and won[0].data["external_id"] == "14"
    assert won[2].stage_since == at("2026-09-02 09:00")  # it left MQL, entered at the hand-off
    assert won[3].data == {
        "amount": "12500.50",
        "closed_on": "2026-10-05",
        "migrated": won[0].data["migrated"],
    }
    lost = LeadEvent.objects.get(lead=leads["lost@x.io"], type=EventType.LOST)
    assert lost.reason.label == "Price" and lost.to_stage == Stage.LEAD
    dq = LeadEvent.objects.get(lead=leads["dq@x.io"], type=EventType.DISQUALIFIED)
    assert dq.from_stage == Stage.LEAD and dq.reason.kind == ReasonKind.DISQUALIFICATION

    # No clock in the past: the open MQL and SQL have theirs from go-live, nothing else has one.
    clocks = {c.lead.email: c for c in Clock.objects.filter(measured_only=False).select_related("lead")}
    assert set(clocks) == {"mql@x.io", "sql@x.io"}
    # The responses the file dates at both ends are measured (speed to lead), met when accepted.
    measured = Clock.objects.filter(measured_only=True).select_related("lead")
    assert {c.lead.email for c in measured} <= {"sql@x.io", "won@x.io", "lost@x.io"}
    for clock in measured:
        accepted = LeadEvent.objects.get(lead=clock.lead, type=EventType.ACCEPTED).occurred_at
        qualified = LeadEvent.objects.get(lead=clock.lead, type=EventType.QUALIFIED).occurred_at
        assert (clock.started_at, clock.met_at, clock.breached_at) == (qualified, accepted, None)
    assert clocks["mql@x.io"].obligation == Obligation.RESPONSE
    assert clocks["sql@x.io"].obligation == Obligation.FOLLOW_UP
    assert {c.started_at for c in clocks.values()} == {job.started_at}
    assert all(c.owner == org.rep for c in clocks.values())


def test_a_missing_step_takes_the_next_known_date_else_the_previous(people):
    text = HUBSPOT + "".join(
        [
            # A customer with only its create and customer dates.
            row("c@x.io", "Customer", owner="Dana Sales", customer="2026-10-05 16:00", amount="900"),
            # An MQL with only its create date: handed off when it was created.
            row("m@x.io", "Marketing Qualified Lead", owner="Dana Sales", created="2026-09-07 08:30"),
            # No date at all: at go-live.
            row("n@x.io", "Sales Qualified Lead", owner="Dana Sales", created=""),
        ]
    )
    job = run(upload(people.marketing_manager, text))
    assert job.created_count == 3, list(job.rows.values_list("message", flat=True))
    dates = {
        lead.email: [e.occurred_at for e in lead.events.order_by("occurred_at", "id")]
        for lead in Lead.objects.all()
    }
    assert dates["c@x.io"] == [at("2026-09-01 10:00")] + [at("2026-10-05 16:00")] * 3
    assert dates["m@x.io"] == [at("2026-09-07 08:30")] * 2
    assert dates["n@x.io"] == [job.started_at] * 3


@pytest.mark.parametrize(
    "cells,message",
    [
        (
            {
                "stage": "Sales Qualified Lead",
                "owner": "Dana Sales",
                "mql": "2026-09-05",
                "sql": "2026-09-03",
            },
            "before it was qualified on 2026-09-05",
        ),
        ({"stage": "Marketing Qualified Lead", "owner": "Nobody Here"}, "matches no user"),
        ({"stage": "Marketing Qualified Lead", "owner": ""}, "No owner"),
        ({"stage": "Prospect of doom"}, "Unknown lifecycle stage"),
        ({"stage": "Customer", "owner": "Dana Sales", "amount": "-5"}, "negative"),
        ({"created": "2099-01-01"}, "in the future"),
        ({"created": "03/04/2026"}, "ambiguous"),
        ({"stage": "Customer", "status": "Unqualified", "owner": "Dana Sales"}, "Cannot disqualify"),
    ],
)
def test_a_bad_row_is_refused_with_its_reason_and_the_rest_imports(people, cells, message):
    text = HUBSPOT + row("good@x.io") + row("bad@x.io", **cells)
    job = run(upload(people.sales_manager, text))
    assert (job.created_count, job.failed_count) == (1, 1)
    failed = job.rows.get(outcome=RowOutcome.FAILED)
    assert failed.row_number == 3 and message in failed.message, failed.message
    assert not Lead.objects.filter(email="bad@x.io").exists()
    assert list(Lead.objects.values_list("email", flat=True)) == ["good@x.io"]


def test_an_owner_matching_no_one_goes_to_the_fallback_and_a_left_rep_keeps_closed_deals(people):
    org = people
    org.rep2.is_active = False
    org.rep2.save()
    text = HUBSPOT + "".join(
        [
            row("open@x.io", "Marketing Qualified Lead", owner="Gone Person"),
            row("left@x.io", "Sales Qualified Lead", owner="Rob Rep"),  # open: needs an active rep
            row("closed@x.io", "Customer", owner="Rob Rep", amount="10"),  # closed: keeps him
        ]
    )
    job = upload(org.sales_manager, text)
    with pytest.raises(ActionError, match="not an active sales rep"):
        imports.import_configure(actor=org.sales_manager, job_id=job.pk, fallback_owner=org.rep2.pk)
    imports.import_configure(actor=org.sales_manager, job_id=job.pk, fallback_owner=org.rep.pk)
    job = run(job)
    assert job.created_count == 3
    owners = dict(Lead.objects.values_list("email", "owner"))
    assert owners == {"open@x.io": org.rep.pk, "left@x.io": org.rep.pk, "closed@x.io": org.rep2.pk}


def test_value_maps_the_manager_changes_are_applied(people):
    org = people
    reason = Reason.objects.get(kind=ReasonKind.LOSS, code="competitor")
    text = HUBSPOT + "".join(
        [
            row("a@x.io", "Warm", owner="Dana Sales"),
            row("b@x.io", "Opportunity", owner="the big boss", loss="Went with Acme"),
            row("c@x.io", source="Carrier pigeon"),
        ]
    )
    job = upload(org.sales_manager, text)
    found = migration.values_found(job)
    assert {f.value: f.label for f in found["stage"]}["Warm"].startswith("Unknown lifecycle stage")
    assert {f.value: f.maps_to for f in found["owner"]}["Dana Sales"] == org.rep.pk
    with pytest.raises(ActionError, match="not something it can map to"):
        imports.import_configure(
            actor=org.sales_manager, job_id=job.pk, value_maps={"stage": {"Warm": "hot"}}
        )
    imports.import_configure(
        actor=org.sales_manager,
        job_id=job.pk,
        value_maps={
            "stage": {"Warm": "mql"},
            "owner": {"the big boss": org.rep.pk},
            "loss_reason": {"Went with Acme": reason.pk},
            "source": {"Carrier pigeon": "event"},
        },
    )
    job = run(job)
    assert job.created_count == 3, list(job.rows.values_list("message", flat=True))
    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert leads["a@x.io"].stage == Stage.MQL
    lost = LeadEvent.objects.get(lead=leads["b@x.io"], type=EventType.LOST)
    assert lost.reason == reason and lost.data["owner"] == org.rep.pk
    assert leads["c@x.io"].source == "event"


def test_reimporting_the_file_changes_nothing(people):
    existing = LeadFactory(email="here@x.io", company="")
    text = HUBSPOT + row("here@x.io", "Customer", owner="Dana Sales", amount="5") + row("new@x.io")
    first = run(upload(people.sales_manager, text))
    assert (first.created_count, first.skipped_count) == (1, 1)
    existing.refresh_from_db()
    assert existing.stage == Stage.LEAD and existing.company == ""  # never rewritten
    before = (Lead.objects.count(), LeadEvent.objects.count(), Clock.objects.count())
    again = run(upload(people.sales_manager, text))
    assert (again.created_count, again.skipped_count, again.failed_count) == (0, 2, 0)
    assert (Lead.objects.count(), LeadEvent.objects.count(), Clock.objects.count()) == before
    assert "does not change leads" in again.rows.first().message


def test_only_managers_migrate(people):
    with pytest.raises(ActionError, match="Only managers"):
        upload(people.marketer, HUBSPOT + row("a@x.io"))
    with pytest.raises(ActionError, match="Only managers"):
        upload(people.rep, HUBSPOT + row("a@x.io"))
    job = upload(people.admin, HUBSPOT + row("a@x.io"))
    with pytest.raises(ActionError, match="Only managers"):
        imports.import_start(actor=people.marketer, job_id=job.pk)
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.MAPPING


SALESFORCE = (
    "Lead ID,First Name,Last Name,Email,Company,Title,Lead Status,Lead Source,Lead Owner,Created Date,"
    "Converted,Converted Date,Stage,Amount,Close Date,Loss Reason\n"
)


def test_salesforce_converted_leads_and_their_opportunities(people):
    rows = [
        "00Q1,Al,A,won@s.io,Acme,CTO,Closed - Converted,Web,Dana Sales,2026-09-01T08:00:00.000+0000,true,"
        "2026-09-10T09:00:00.000+0000,Closed Won,48000,2026-10-20,",
        "00Q2,Bo,B,lost@s.io,Acme,CTO,Closed - Converted,Trade Show,Dana Sales,2026-09-01T08:00:00.000+0000,1,"
        "2026-09-10T09:00:00.000+0000,Closed Lost,,2026-10-21,Not a fit after discovery",
        "00Q3,Cy,C,open@s.io,Acme,CTO,Closed - Converted,Web,Dana Sales,2026-09-01T08:00:00.000+0000,true,"
        "2026-09-10T09:00:00.000+0000,Negotiation/Review,9000,,",
        "00Q4,Di,D,waiting@s.io,Acme,CTO,Open - Not Contacted,Advertisement,Dana Sales,2026-09-02T08:00:00.000+0000,"
        "false,,,,,",
        "00Q5,Ed,E,dead@s.io,Acme,CTO,Closed - Not Converted,Purchased List,,2026-09-02T08:00:00.000+0000,false,,,,,",
        "00Q6,Fi,F,new@s.io,Acme,CTO,Open,Phone Inquiry,,2026-09-02T08:00:00.000+0000,false,,,,,",
    ]
    job = upload(people.sales_manager, SALESFORCE + "\n".join(rows) + "\n", name="sf-leads.csv")
    assert job.system == "salesforce" and job.mapping["Stage"] == "deal_stage"
    assert job.mapping["Converted Date"] == "sql_at" and job.mapping["Lead Owner"] == "owner"
    job = run(job)
    assert job.created_count == 6, list(job.rows.values_list("message", flat=True))
    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert {e: lead.stage for e, lead in leads.items()} == {
        "won@s.io": Stage.CUSTOMER,
        "lost@s.io": Stage.DISQUALIFIED,  # "Not a fit after discovery" disqualifies
        "open@s.io": Stage.SQL,
        "waiting@s.io": Stage.MQL,
        "dead@s.io": Stage.DISQUALIFIED,
        "new@s.io": Stage.LEAD,
    }
    assert leads["won@s.io"].deal_amount == Decimal("48000.00")
    assert leads["won@s.io"].closed_on == dt.date(2026, 10, 20)
    assert leads["won@s.io"].created_at == dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)
    accepted = LeadEvent.objects.get(lead=leads["won@s.io"], type=EventType.ACCEPTED)
    assert accepted.occurred_at == dt.datetime(2026, 9, 10, 9, tzinfo=dt.UTC)
    assert leads["won@s.io"].source == "website" and leads["waiting@s.io"].source == "paid_search"
    # The open MQL waits for its response from go-live; the open SQL for its follow-up.
    assert set(Clock.objects.values_list("lead__email", "obligation")) == {
        ("open@s.io", Obligation.FOLLOW_UP),
        ("waiting@s.io", Obligation.RESPONSE),
    }


def test_many_clocks_at_once_equal_the_one_at_a_time_starts(people):
    """`clocks_start_many` is the fast path of `clock_start_response`/`_follow_up`."""
    org = people
    leads = []
    for owner in (org.rep, org.other_rep):
        for score in (5, 80):
            lead = LeadFactory()
            lead.owner, lead.score = owner, score  # what the policies read; not saved
            leads.append(lead)
    started = timezone.now().replace(microsecond=0)
    count = sla_services.clocks_start_many(
        [(Obligation.RESPONSE, lead, lead.owner) for lead in leads]
        + [(Obligation.FOLLOW_UP, lead, lead.owner) for lead in leads],
        started_at=started,
    )
    fields = (
        "obligation",
        "lead_id",
        "owner_id",
        "policy_id",
        "started_at",
        "due_at",
        "warn_at",
        "warn_percents",
    )
    bulk = sorted(tuple(getattr(c, f) for f in fields) for c in Clock.objects.all())
    assert count == len(bulk) == 2 * len(leads)
    Clock.objects.all().delete()
    one = [
        sla_services.clock_start_response(lead=lead, owner=lead.owner, started_at=started) for lead in leads
    ]
    one += [
        sla_services.clock_start_follow_up(lead=lead, owner=lead.owner, started_at=started) for lead in leads
    ]
    assert bulk == sorted(tuple(getattr(c, f) for f in fields) for c in one)


# --- the API ------------------------------------------------------------------------------------


def test_the_api_uploads_shows_values_changes_maps_and_starts(
    client, people, django_capture_on_commit_callbacks
):
    org = people
    text = (
        HUBSPOT
        + row("a@x.io", "Warm", owner="Dana Sales")
        + row("b@x.io", "Customer", owner="Dana", amount="7")
    )
    client.force_login(org.marketer)
    refused = client.post(
        "/api/imports/", {"file": SimpleUploadedFile("h.csv", text.encode()), "kind": "migration"}
    )
    assert refused.status_code == 403 and "Only managers" in refused.json()["error"]["message"]
    assert not ImportJob.objects.exists()

    client.force_login(org.sales_manager)
    created = client.post(
        "/api/imports/", {"file": SimpleUploadedFile("h.csv", text.encode()), "kind": "migration"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["system"], body["status"]) == ("migration", "hubspot", "mapping")
    assert body["mapping"]["Lifecycle Stage"] == "lifecycle_stage"
    assert "customer_at" in body["fields_available"] and "stage" not in body["fields_available"]
    stages = {v["value"]: v for v in body["values"]["stage"]}
    assert stages["Customer"]["maps_to"] == "customer" and stages["Warm"]["maps_to"] is None
    owners = {v["value"]: v["maps_to"] for v in body["values"]["owner"]}
    assert owners == {"Dana Sales": org.rep.pk, "Dana": None}
    preview = {r["row_number"]: r for r in body["preview"]["rows"]}
    assert preview[2]["outcome"] == "fail" and "Unknown lifecycle stage" in preview[2]["message"]
    assert preview[3]["outcome"] == "fail" and "matches no user" in preview[3]["message"]

    job_id = body["id"]
    bad = client.patch(
        f"/api/imports/{job_id}/",
        {"value_maps": {"stage": {"Warm": "boiling"}}},
        content_type="application/json",
    )
    assert bad.status_code == 422 and "boiling" in bad.json()["error"]["message"]
    assert ImportJob.objects.get(pk=job_id).value_maps == {}
    changed = client.patch(
        f"/api/imports/{job_id}/",
        {"value_maps": {"stage": {"Warm": "mql"}, "owner": {"Dana": org.rep.pk}}},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    rows = {r["row_number"]: r for r in changed.json()["preview"]["rows"]}
    assert (rows[2]["outcome"], rows[2]["stage"]) == ("create", "mql")
    assert [s["transition"] for s in rows[3]["steps"]] == ["create", "qualify", "accept", "win"]
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/api/imports/{job_id}/start/")
    assert started.status_code == 202
    done = client.get(f"/api/imports/{job_id}/").json()
    assert (done["status"], done["created_count"], done["failed_count"]) == ("done", 2, 0)
    assert dict(Lead.objects.values_list("email", "stage")) == {"a@x.io": "mql", "b@x.io": "customer"}
    # A marketer is refused the job and its rows, and does not see it listed.
    client.force_login(org.marketer)
    refused = client.get(f"/api/imports/{job_id}/rows/")
    assert refused.status_code == 403 and "Only managers" in refused.json()["error"]["message"]
    assert client.get("/api/imports/").json()["results"] == []


def test_the_lead_page_says_each_step_was_migrated(client, people):
    text = HUBSPOT + row(
        "won@x.io", "Customer", owner="Dana Sales", amount="300", customer="2026-10-05 16:00"
    )
    job = run(upload(people.sales_manager, text))
    lead = Lead.objects.get(email="won@x.io")
    client.force_login(people.rep)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert page.count(f"migrated from HubSpot (row 2 of import {job.pk})") == 4  # created … won
    assert "No SLA clock" in page  # nothing ran in the past


def test_a_frozen_week_stays_frozen_and_lists_the_migrated_difference(people):
    """The week of 2026-09-07 ran in Smarketing (one lead created) and was frozen; a
    migration then brings two leads created and one handed off in it."""
    from reports import dashboard, snapshots
    from reports.models import WeekSnapshot

    week = dt.date(2026, 9, 7)
    with time_machine.travel(at("2026-09-08 10:00"), tick=False):
        LeadFactory(email="ran-here@x.io")
    snapshots.freeze_finished_weeks(now=at("2026-09-15 00:30"))
    frozen = WeekSnapshot.objects.get(week_start=week).figures
    text = HUBSPOT + "".join(
        [
            row("m1@x.io", created="2026-09-08 11:00"),
            row(
                "m2@x.io",
                "Marketing Qualified Lead",
                owner="Dana Sales",
                created="2026-09-09",
                mql="2026-09-10",
            ),
        ]
    )
    run(upload(people.sales_manager, text))
    assert WeekSnapshot.objects.get(week_start=week).figures == frozen
    scope = dashboard.scope_for(week, week)
    rows = snapshots.late_data_table(scope, dashboard.build(scope)).rows
    late = {(r["figure"].rsplit(" · ", 1)[-1], r["frozen"], r["now"]) for r in rows if r["week"] == week}
    assert ("Lead", 1, 3) in late and ("MQL", 0, 1) in late, late


def test_a_day_only_step_on_the_day_of_the_step_before_follows_it(people):
    """Salesforce's Converted Date is a day: converted the day it came in is in order."""
    row_text = (
        "00Q9,Al,A,sameday@s.io,Acme,CTO,Closed - Converted,Web,Dana Sales,2026-09-01T08:00:00.000+0000,true,"
        "2026-09-01,Closed Won,100,2026-09-01,\n"
    )
    job = run(upload(people.sales_manager, SALESFORCE + row_text, name="sf.csv"))
    assert job.created_count == 1, list(job.rows.values_list("message", flat=True))
    events = LeadEvent.objects.filter(lead__email="sameday@s.io").order_by("occurred_at", "id")
    assert [e.occurred_at for e in events] == [dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)] * 4


def test_an_open_opportunitys_expected_close_date_in_the_future_is_not_read(people):
    row_text = (
        "00Q8,Al,A,open@s.io,Acme,CTO,Closed - Converted,Web,Dana Sales,2026-09-01T08:00:00.000+0000,true,"
        "2026-09-02,Negotiation/Review,5000,2099-03-31,\n"
    )
    job = run(upload(people.sales_manager, SALESFORCE + row_text, name="sf.csv"))
    assert job.created_count == 1, list(job.rows.values_list("message", flat=True))
    lead = Lead.objects.get(email="open@s.io")
    assert (lead.stage, lead.closed_on, lead.deal_amount) == (Stage.SQL, None, None)


def test_the_mapping_page_changes_values_and_starts(client, people, django_capture_on_commit_callbacks):
    org = people
    text = (
        HUBSPOT
        + row("a@x.io", "Warm", owner="Dana Sales")
        + row("b@x.io", "Customer", owner="Dana", amount="7")
    )
    client.force_login(org.marketing_manager)
    response = client.post("/migrations/", {"file": SimpleUploadedFile("h.csv", text.encode())})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "2. What each value becomes" in page and "Unknown lifecycle stage" in page
    form = {f"map-{i}": job.mapping.get(h, "") for i, h in enumerate(job.headers)}
    # Every value as the page lists it, left as shown: "Warm" and "Dana" are not mapped.
    found = migration.values_found(job)
    for kind, values in found.items():
        for i, value in enumerate(values):
            form[f"vv-{kind}-{i}"] = value.value
            form[f"vm-{kind}-{i}"] = "" if value.maps_to is None else str(value.maps_to)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/mapping/", {**form, "start": "1"})
    job.refresh_from_db()
    assert (job.status, job.value_maps, job.created_count, job.failed_count) == ("done", {}, 0, 2)

    # Again, mapping the two values on the page.
    response = client.post("/migrations/", {"file": SimpleUploadedFile("h.csv", text.encode())})
    job = ImportJob.objects.latest("pk")
    stages = [v.value for v in found["stage"]]
    owners = [v.value for v in found["owner"]]
    form[f"vm-stage-{stages.index('Warm')}"] = "mql"
    form[f"vm-owner-{owners.index('Dana')}"] = str(org.rep.pk)
    client.post(f"/imports/{job.pk}/mapping/", form)
    job.refresh_from_db()
    assert job.value_maps == {"stage": {"Warm": "mql"}, "owner": {"Dana": org.rep.pk}}
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "(changed)" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/mapping/", {**form, "start": "1"})
    job.refresh_from_db()
    assert (job.status, job.created_count, job.failed_count) == ("done", 2, 0)
    assert dict(Lead.objects.values_list("email", "stage")) == {"a@x.io": "mql", "b@x.io": "customer"}


@pytest.mark.parametrize(
    "changes",
    [
        {"value_maps": {"stage": {"Warm": ["mql"]}}},
        {"value_maps": {"stage": {"Warm": {"a": 1}}}},
        {"value_maps": {"owner": {"Dana": True}}},
        {"value_maps": {"loss_reason": {"x": "1"}}},
        {"value_maps": {"nonsense": {}}},
        {"fallback_owner": "²"},
        {"fallback_owner": "9" * 40},
        {"disqualification_reason": "٣"},
    ],
)
def test_bad_settings_are_refused_with_a_message_and_change_nothing(people, changes):
    job = upload(people.sales_manager, HUBSPOT + row("a@x.io", "Warm"))
    with pytest.raises(ActionError) as refused:
        imports.import_configure(actor=people.sales_manager, job_id=job.pk, **changes)
    assert set(refused.value.fields) & {"value_maps", "fallback_owner", "disqualification_reason"}
    job.refresh_from_db()
    assert (job.value_maps, job.fallback_owner, job.disqualification_reason) == ({}, None, None)


def test_the_api_maps_an_owner_value_to_no_one(client, people):
    """null in the owner map: nobody (the fallback owner, or the row is refused)."""
    job = upload(
        people.sales_manager, HUBSPOT + row("a@x.io", "Marketing Qualified Lead", owner="Dana Sales")
    )
    client.force_login(people.sales_manager)
    response = client.patch(
        f"/api/imports/{job.pk}/",
        {"value_maps": {"owner": {"Dana Sales": None}}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["value_maps"] == {"owner": {"Dana Sales": None}}
    rows = {r["row_number"]: r for r in response.json()["preview"]["rows"]}
    assert rows[2]["outcome"] == "fail" and "pick a fallback owner" in rows[2]["message"]
