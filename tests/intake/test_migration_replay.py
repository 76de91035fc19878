"""The migration import, black box (docs/migration.md, issue 27): a HubSpot contacts export
and a Salesforce leads report, with ~2.5 % bad rows of every kind, imported through the API
by a manager; everything it made is held against tests/intake/migration_oracle.py, written
from the spec alone.

Per file: the job's counts; each refused row by number, with a message that names the
problem; every lead's stage and owner (and, for a sample, through the API, with its source,
amount and history: types, dates, the reason, `data.migrated`); no SLA clock in the past and
one running clock per open MQL and SQL; the weekly dashboard of the last 12 weeks (stages
entered, responses and outcomes, the rates), the revenue won per week and the closed loop by
source — read from the dashboard's API; then a second import of the same file creates and
changes nothing. Also: an .xlsx export, and a marketer refused.

Each file has 10,000 rows, as the issue's acceptance asks (about 12 s each on SQLite,
45–60 s on PostgreSQL); SMARKETING_QUICK_TESTS=1 runs 1,500-row files instead.

What the API is assumed to look like is in the helpers just below: adjust them there.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead, LeadEvent
from sla.models import Clock
from smarketing.intake.models import ImportJob
from smarketing.org.models import Source
from smarketing.org.roles import Role
from tests.conftest import make_org
from tests.factories import MembershipFactory, UserFactory
from tests.intake import migration_oracle as oracle
from tests.intake.migration_files import (
    Person,
    csv_bytes,
    hubspot_contacts,
    salesforce_leads,
    xlsx_bytes,
)

SEED = 27
ROWS = 1500 if os.environ.get("SMARKETING_QUICK_TESTS") == "1" else 10_000
TZ = "Europe/Berlin"  # settings.SMARKETING_TIME_ZONE's default; the test settings keep it


# --- the API, as this test assumes it ----------------------------------------------------------


def client_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def upload(api: APIClient, name: str, content: bytes, *, kind: str = "migration"):
    """POST /api/imports/ (multipart): the file and the kind of import."""
    return api.post(
        "/api/imports/", {"file": SimpleUploadedFile(name, content), "kind": kind}, format="multipart"
    )


def assert_migration_job(body: dict, *, system: str) -> None:
    """The answer to the upload: a migration job waiting for its mapping, the Email column
    mapped, the system recognised from the headers (if the job says which)."""
    assert body.get("kind") == "migration", (
        f"the upload did not make a migration job (`kind=migration` not accepted?): kind={body.get('kind')!r}"
    )
    assert body["status"] == "mapping", body["status"]
    assert body["mapping"].get("Email") == "email", body["mapping"]
    if "system" in body:
        assert str(body["system"]).casefold() == system, body["system"]


def assert_values_preview(body: dict, values: set[str]) -> None:
    """The preview lists every distinct value of the stage, status, owner, source and reason
    columns (with what it becomes): each of `values` appears in it, ignoring case."""
    assert "values" in body, f"no `values` preview in the upload's answer: keys {sorted(body)}"
    shown = json.dumps(body["values"], ensure_ascii=False).casefold()
    missing = sorted(v for v in values if v.casefold() not in shown)
    assert not missing, f"values not in the preview: {missing}"


def previewed_owners(body: dict) -> dict[str, int | None]:
    """What the preview says each owner value found becomes: a user's id, or None."""
    return {item["value"]: item["maps_to"] for item in body["values"]["owner"]}


def previewed_rows(body: dict) -> dict[int, tuple[str, str | None]]:
    """The preview of the first rows: row number -> (outcome, the stage it would end in)."""
    outcome = {"create": oracle.CREATED, "skip": oracle.SKIPPED, "fail": oracle.FAILED}
    return {
        row["row_number"]: (outcome[row["outcome"]], row.get("stage") or None)
        for row in body["preview"]["rows"]
    }


def start(api: APIClient, job_id: int, capture):
    """POST /api/imports/{id}/start/; the queued task runs (eagerly) once the request commits."""
    with capture(execute=True):
        return api.post(f"/api/imports/{job_id}/start/")


def finished(api: APIClient, job_id: int) -> dict:
    """GET /api/imports/{id}/ until the job is done (Celery runs eagerly: at once)."""
    for _ in range(20):
        body = api.get(f"/api/imports/{job_id}/").json()
        if body["status"] in ("done", "failed"):
            assert body["status"] == "done", f"the import stopped: {body.get('error')}"
            return body
    pytest.fail(f"import {job_id} is still {body['status']}")


def job_counts(body: dict) -> dict[str, int]:
    return {
        oracle.CREATED: body["created_count"],
        oracle.SKIPPED: body["skipped_count"],
        oracle.FAILED: body["failed_count"],
    }


def job_window(body: dict) -> tuple[dt.datetime, dt.datetime]:
    assert body["started_at"] and body["finished_at"], "the job does not say when it ran"
    return dt.datetime.fromisoformat(body["started_at"]), dt.datetime.fromisoformat(body["finished_at"])


def row_results(api: APIClient, job_id: int) -> dict[int, tuple[str, str]]:
    """Row number -> (outcome, message) of every refused or skipped row, all pages."""
    found: dict[int, tuple[str, str]] = {}
    url = f"/api/imports/{job_id}/rows/"
    while url:
        page = api.get(url).json()
        for row in page["results"]:
            found[row["row_number"]] = (row["outcome"], row["message"])
        url = page.get("next")
    return found


def migrated_mark(event: dict) -> dict | None:
    return event["data"].get("migrated")


def assert_migrated_mark(mark, *, system: str, job_id: int, row: int) -> None:
    """`data.migrated`: the system, the import and the file row."""
    assert isinstance(mark, dict), f"no data.migrated: {mark!r}"
    values = list(mark.values())
    assert job_id in values or str(job_id) in values, f"the import is not named: {mark}"
    assert row in values or str(row) in values, f"the row {row} is not named: {mark}"
    assert system in json.dumps(mark).casefold(), f"the system is not named: {mark}"


def weekly_table(api: APIClient, first: dt.date, last: dt.date) -> list[dict]:
    response = api.get("/api/reports/dashboard/weekly/", {"week": first, "week_to": last})
    assert response.status_code == 200, response.content
    return response.json()["rows"]


def attribution_table(api: APIClient, first: dt.date, last: dt.date) -> dict[str, dict]:
    response = api.get("/api/reports/dashboard/attribution-source/", {"week": first, "week_to": last})
    assert response.status_code == 200, response.content
    return {row["name"]: row for row in response.json()["rows"]}


def revenue_won(api: APIClient, monday: dt.date) -> Decimal:
    """The weekly table has no revenue column: the won cell's drill-down (the lead list of the
    leads won in the week), summed."""
    total = Decimal("0.00")
    url, params = "/api/leads/", {"outcome": "won", "week": monday.isoformat()}
    while url:
        page = api.get(url, params).json()
        total += sum(Decimal(lead["deal_amount"] or "0") for lead in page["results"])
        url, params = page.get("next"), None
    return total


# --- the organisation ----------------------------------------------------------------------------

NAMES = {  # deterministic names: the files name owners by full name or email
    "rep": ("Dana", "Sales"),
    "rep2": ("Ravi", "Patel"),
    "other_rep": ("Lena", "Fischer"),
    "sales_manager": ("Sam", "Keller"),
    "marketing_manager": ("Mara", "Lindqvist"),
    "other_manager": ("Omar", "Haddad"),
    "marketer": ("Mia", "Wolff"),
    "marketer2": ("Nils", "Berg"),
    "employee": ("Tim", "Technik"),
    "admin": ("Ada", "Admin"),
}


@pytest.fixture
def crm(product_setup):
    """The organisation (every role, two sales teams), people with fixed names, a rep who
    left (inactive: owned closed deals only), and the owners the files may name."""
    org = make_org(only_rep_routed=False)
    for attr, (first, last) in NAMES.items():
        user = getattr(org, attr)
        user.first_name, user.last_name = first, last
        user.save()
    org.former = UserFactory(
        username="tbecker", first_name="Tom", last_name="Becker", is_active=False, roles=[Role.SALES_REP]
    )
    MembershipFactory(team=org.sales, user=org.former)

    def person(user, *, rep: bool) -> Person:
        return Person(user.first_name, user.last_name, user.email, is_active=user.is_active, is_sales_rep=rep)

    org.owners = [
        person(org.rep, rep=True),
        person(org.rep2, rep=True),
        person(org.other_rep, rep=True),
        person(org.former, rep=True),
        person(org.sales_manager, rep=False),
        person(org.marketer, rep=False),
    ]
    org.users_by_email = {u.email.casefold(): u for u in (*[getattr(org, a) for a in NAMES], org.former)}
    # A marketing manager imports the HubSpot file, a sales manager the Salesforce one.
    org.importer = {oracle.HUBSPOT: org.marketing_manager, oracle.SALESFORCE: org.sales_manager}
    return org


def user_for(crm, value: str) -> int | None:
    """The user an owner cell names (by email or full name, ignoring case), or None."""
    wanted = value.strip().casefold()
    for user in crm.users_by_email.values():
        if wanted in (user.email.casefold(), f"{user.first_name} {user.last_name}".casefold()):
            return user.pk
    return None


GENERATE = {oracle.HUBSPOT: hubspot_contacts, oracle.SALESFORCE: salesforce_leads}
FILE_NAME = {oracle.HUBSPOT: "contacts-export.csv", oracle.SALESFORCE: "leads-report.csv"}
PREVIEWED = {  # columns whose distinct values the mapping page shows
    oracle.HUBSPOT: [
        "Lifecycle Stage",
        "Lead Status",
        "Contact owner",
        "Original Source",
        "Closed Lost Reason",
    ],
    oracle.SALESFORCE: ["Lead Status", "Stage", "Lead Owner", "Lead Source", "Loss Reason"],
}


def distinct(header: list[str], rows: list[list[str]], columns: list[str]) -> set[str]:
    return {row[header.index(c)].strip() for row in rows for c in columns if row[header.index(c)].strip()}


def migrate(api, name: str, content: bytes, capture, *, system: str, values: set[str], check=None) -> dict:
    """Upload, check the answer (`check(body)` too), start, and wait for the end; returns
    the finished job."""
    made = upload(api, name, content)
    assert made.status_code == 201, made.content
    body = made.json()
    assert_migration_job(body, system=system)
    assert_values_preview(body, values)
    if check is not None:
        check(body)
    started = start(api, body["id"], capture)
    assert started.status_code == 202, started.content
    return finished(api, body["id"])


# --- the acceptance test -----------------------------------------------------------------------


@pytest.mark.parametrize("system", [oracle.HUBSPOT, oracle.SALESFORCE])
def test_a_crm_export_arrives_with_its_history(system, crm, django_capture_on_commit_callbacks):
    size = ROWS
    now = timezone.now()
    export = GENERATE[system](size, seed=SEED, now=now, owners=crm.owners)
    expected = oracle.expected_import(system, export.header, export.rows, people=crm.owners, now=now, tz=TZ)
    # The oracle and the file's own account of its bad rows agree (else fix these files).
    assert {r.row: r.problem for r in expected if r.outcome != oracle.CREATED} == {
        b.row: b.kind for b in export.bad.values()
    }
    content = csv_bytes(export.header, export.rows)
    manager = crm.importer[system]
    api = client_for(manager)
    values = distinct(export.header, export.rows, PREVIEWED[system])

    owner_column = export.header.index("Contact owner" if system == oracle.HUBSPOT else "Lead Owner")
    owners = {row[owner_column].strip() for row in export.rows} - {""}

    def preview_as_expected(results: list[oracle.Expected]):
        """The upload's preview: what each owner value becomes, and each row's outcome and stage."""

        def check(body: dict) -> None:
            found = {value: user for value, user in previewed_owners(body).items() if value in owners}
            assert found == {value: user_for(crm, value) for value in owners}, "owners in the preview"
            shown = previewed_rows(body)
            assert len(shown) >= min(len(results), 500), "the preview shows too few rows"
            wanted = {
                r.row: (r.outcome, r.stage if r.outcome == oracle.CREATED else None)
                for r in results
                if r.row in shown
            }
            assert {n: (o, s if o == oracle.CREATED else None) for n, (o, s) in shown.items()} == wanted

        return check

    job = migrate(
        api,
        FILE_NAME[system],
        content,
        django_capture_on_commit_callbacks,
        system=system,
        values=values,
        check=preview_as_expected(expected),
    )

    # Counts, and each refused or skipped row with a message that names its problem.
    assert job_counts(job) == oracle.counts(expected)
    assert job["updated_count"] == 0
    results = row_results(api, job["id"])
    assert {n: outcome for n, (outcome, _) in results.items()} == {
        b.row: b.outcome for b in export.bad.values()
    }
    unexplained = {
        n: (export.bad[n].kind, message)
        for n, (_, message) in results.items()
        if not any(hint.casefold() in message.casefold() for hint in export.bad[n].hints)
    }
    assert not unexplained, f"messages that do not name the problem: {unexplained}"

    made = oracle.created(expected)
    go_live, _ = job_window(job)
    check_leads(made, crm)
    check_sample_through_the_api(api, made, crm, job=job, system=system, manager=manager)
    check_clocks(made, since=go_live)

    # The dashboard: the last 12 weeks, and the closed loop over them and over every week.
    mondays = oracle.last_mondays(now, TZ)
    shown = check_dashboard(api, made, mondays, go_live=go_live)

    # Import the same file again: nothing is created or changed.
    leads, events, clocks = Lead.objects.count(), LeadEvent.objects.count(), Clock.objects.count()
    known = [r.email for r in made]
    reread = oracle.expected_import(
        system, export.header, export.rows, people=crm.owners, now=now, tz=TZ, existing=known
    )
    again = migrate(
        api,
        FILE_NAME[system],
        content,
        django_capture_on_commit_callbacks,
        system=system,
        values=values,
        check=preview_as_expected(reread),
    )
    tally = oracle.counts(expected)
    assert job_counts(again) == {
        oracle.CREATED: 0,
        oracle.SKIPPED: tally[oracle.CREATED] + tally[oracle.SKIPPED],
        oracle.FAILED: tally[oracle.FAILED],
    }
    assert (Lead.objects.count(), LeadEvent.objects.count(), Clock.objects.count()) == (leads, events, clocks)
    assert check_dashboard(api, made, mondays, go_live=go_live) == shown
    check_leads(made, crm)


def check_leads(made: list[oracle.Expected], crm) -> None:
    """Every created lead: stage, owner, source, recycle count, amount; nothing else created."""
    rows = {
        lead["email"]: lead
        for lead in Lead.objects.values(
            "email", "stage", "owner__email", "source", "recycle_count", "deal_amount", "created_at"
        )
    }
    assert set(rows) == {e.email for e in made}, "the leads are not the file's valid rows"
    assert {email: row["stage"] for email, row in rows.items()} == {e.email: e.stage for e in made}
    owners = {email: (row["owner__email"] or "").casefold() or None for email, row in rows.items()}
    assert owners == {e.email: e.owner for e in made}
    assert {email: row["source"] for email, row in rows.items()} == {e.email: e.source for e in made}
    assert {email: row["recycle_count"] for email, row in rows.items()} == {
        e.email: e.recycle_count for e in made
    }
    customers = {e.email: e.amount for e in made if e.stage == oracle.CUSTOMER}
    assert {email: rows[email]["deal_amount"] for email in customers} == customers
    dated = {e.email: e.created_at for e in made if e.created_at is not None}
    assert {email: rows[email]["created_at"] for email in dated} == dated, "created_at is not the create date"


def sample(made: list[oracle.Expected]) -> list[oracle.Expected]:
    """Three leads of every ending, of the rows without dates, and of paths with dates filled in."""
    picked: dict[str, list[oracle.Expected]] = {}
    for lead in made:
        types = [s.type for s in lead.steps]
        end = lead.stage + ("-lost" if "lost" in types else "")
        if lead.created_at is None:
            end = "no-dates-" + lead.stage
        elif len({s.at for s in lead.steps}) < len(lead.steps) and len(types) > 2:
            end += "-filled"
        picked.setdefault(end, []).append(lead)
    return [lead for group in picked.values() for lead in group[:3]]


def check_sample_through_the_api(api, made, crm, *, job: dict, system: str, manager) -> None:
    started_at, finished_at = job_window(job)
    slack = dt.timedelta(seconds=5)
    for expected in sample(made):
        lead_id = Lead.objects.get(email=expected.email).pk
        lead = api.get(f"/api/leads/{lead_id}/").json()
        owner = crm.users_by_email[expected.owner].pk if expected.owner else None
        assert (lead["stage"], (lead["owner"] or {}).get("id"), lead["source"]) == (
            expected.stage,
            owner,
            expected.source,
        ), expected.row
        if expected.stage == oracle.CUSTOMER:
            assert Decimal(lead["deal_amount"]) == expected.amount, expected.row
            if expected.closed_on:
                assert lead["closed_on"] == expected.closed_on.isoformat(), expected.row
        events = api.get(f"/api/leads/{lead_id}/events/").json()
        assert [(e["type"], e["from_stage"], e["to_stage"]) for e in events] == [
            (s.type, s.from_stage, s.to_stage) for s in expected.steps
        ], f"row {expected.row}"
        for event, step in zip(events, expected.steps, strict=True):
            at = dt.datetime.fromisoformat(event["occurred_at"])
            if step.at is None:  # no date in the row: go-live
                assert started_at - slack <= at <= finished_at + slack, (expected.row, step, at)
            else:
                assert at == step.at, (expected.row, step.type, at, step.at)
            assert (event["actor"] or {}).get("id") == manager.pk, (expected.row, step.type)
            assert ((event["reason"] or {}).get("code")) == step.reason, (expected.row, step.type)
            assert_migrated_mark(migrated_mark(event), system=system, job_id=job["id"], row=expected.row)
        created = json.dumps(events[0]["data"], ensure_ascii=False)
        assert expected.external_id in created, f"row {expected.row}: the external id is not kept"
        if expected.source_detail:
            assert expected.source_detail in created, f"row {expected.row}: the source detail is not kept"


def check_clocks(made: list[oracle.Expected], *, since: dt.datetime) -> None:
    """No clock runs in the past: open MQLs and SQLs have one running clock each, started at
    go-live or later; the other leads none; no clock of a migrated lead is breached; the
    responses the files date are measured, and nothing else."""
    ids = dict(Lead.objects.values_list("email", "pk"))
    stage_of = {ids[e.email]: e.stage for e in made}
    running: dict[int, list[str]] = {}
    for lead_id, obligation in Clock.objects.running().values_list("lead_id", "obligation"):
        running.setdefault(lead_id, []).append(obligation)
    wanted = {
        lead_id: ["response" if stage == oracle.MQL else "follow_up"]
        for lead_id, stage in stage_of.items()
        if stage in (oracle.MQL, oracle.SQL)
    }
    assert running == wanted
    obligations = Clock.objects.filter(measured_only=False)
    early = obligations.filter(started_at__lt=since).count()
    breached = Clock.objects.filter(breached_at__isnull=False).count()
    assert (early, breached) == (0, 0), "a clock started before go-live, or one is breached"
    # The past's responses are measured (speed to lead), not obligations: each met at its
    # acceptance, for exactly the leads whose file dates both the hand-off and the answer.
    measured = dict(Clock.objects.filter(measured_only=True).values_list("lead__email", "business_seconds"))
    assert measured == {e.email: e.response_seconds for e in made if e.response_seconds is not None}
    assert not Clock.objects.filter(measured_only=True, met_at__isnull=True).exists()


def check_dashboard(api, made, mondays: list[dt.date], *, go_live: dt.datetime) -> dict:
    """The dashboard's weekly table, revenue won per week, and attribution by source, against
    the oracle; returns what the API showed (to compare after a second import)."""
    first, last = mondays[0], mondays[-1]
    weeks = oracle.weekly_figures(made, mondays, go_live=go_live, tz=TZ)
    rows = weekly_table(api, first, last)
    assert [row["week"] for row in rows] == [m.isoformat() for m in mondays]
    for row, monday in zip(rows, mondays, strict=True):
        wanted = weeks[monday].table_row()
        assert {k: row.get(k) for k in wanted} == wanted, f"week of {monday}"
    revenue = {monday: revenue_won(api, monday) for monday in mondays}
    assert revenue == {monday: weeks[monday].revenue for monday in mondays}
    # Speed to lead of the migrated responses the files date at both ends (hand-off, answer).
    speed = api.get("/api/reports/dashboard/speed/", {"week": first, "week_to": last}).json()["rows"]
    assert [{k: row[k] for k in ("week", "responses", "median_seconds", "p90_seconds")} for row in speed] == [
        weeks[monday].speed_row() for monday in mondays
    ]
    # …which are measurements, not obligations: no SLA figure counts them.
    for by in ("week", "owner", "team"):
        sla = api.get(f"/api/reports/dashboard/sla-{by}/", {"week": first, "week_to": last}).json()
        assert sla["rows"] == [], f"SLA compliance per {by} counts a migrated response"
    if any(e.response_seconds is not None for e in made):  # HubSpot's files date both ends
        assert sum(row["responses"] for row in speed) > 0, "no measured response in the twelve weeks"
    labels = dict(Source.choices)
    shown = {"weekly": rows, "revenue": revenue}
    everything = oracle.last_mondays(go_live, TZ, count=oracle_weeks(made, go_live))[0]
    for since in (first, everything):
        table = attribution_table(api, since, last)
        wanted = {
            labels[source]: {
                "leads": a.leads,
                "mqls": a.mqls,
                "sqls": a.sqls,
                "customers": a.customers,
                "revenue": str(a.revenue.quantize(Decimal("0.01"))),
            }
            for source, a in oracle.attribution_by_source(made, since, last, go_live=go_live, tz=TZ).items()
        }
        assert {
            name: {k: row[k] for k in ("leads", "mqls", "sqls", "customers", "revenue")}
            for name, row in table.items()
        } == wanted, since
        shown[since] = table
    return shown


def oracle_weeks(made: list[oracle.Expected], go_live: dt.datetime) -> int:
    """How many weeks back the first lead was created (so a range holds every lead)."""
    tz = ZoneInfo(TZ)
    oldest = min(oracle.monday_of(e.created_at or go_live, tz) for e in made)
    return (oracle.monday_of(go_live, tz) - oldest).days // 7 + 1


# --- the file as .xlsx, and who may migrate ------------------------------------------------------


def test_an_xlsx_export_imports_as_its_csv_would(crm, django_capture_on_commit_callbacks):
    pytest.importorskip("openpyxl")
    now = timezone.now()
    export = hubspot_contacts(400, seed=SEED + 1, now=now, owners=crm.owners)
    expected = oracle.expected_import(
        oracle.HUBSPOT, export.header, export.rows, people=crm.owners, now=now, tz=TZ
    )
    api = client_for(crm.marketing_manager)
    job = migrate(
        api,
        "contacts-export.xlsx",
        xlsx_bytes(export.header, export.rows),
        django_capture_on_commit_callbacks,
        system=oracle.HUBSPOT,
        values=distinct(export.header, export.rows, ["Lifecycle Stage"]),
    )
    assert job_counts(job) == oracle.counts(expected)
    results = row_results(api, job["id"])
    assert {n: outcome for n, (outcome, _) in results.items()} == {
        b.row: b.outcome for b in export.bad.values()
    }
    check_leads(oracle.created(expected), crm)


def test_only_managers_migrate(crm):
    now = timezone.now()
    export = hubspot_contacts(60, seed=SEED, now=now, owners=crm.owners, bad=False)
    content = csv_bytes(export.header, export.rows)
    for user in (crm.marketer, crm.rep):
        refused = upload(client_for(user), "contacts-export.csv", content)
        assert refused.status_code == 403, (user.username, refused.status_code, refused.content[:300])
    assert not ImportJob.objects.exists()
    assert not Lead.objects.exists()
