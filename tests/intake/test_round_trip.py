"""Take your data with you: an organisation's lead export imports into a fresh one and
gives the same leads, stages and dashboard figures (docs/migration.md, "From one
Smarketing to another").

The organisation is the demo's: weeks of hand-offs, answers, reassignments, SLA breaches,
wins and losses made through the real services, plus a reopened lead and a merge. It is
exported as a manager would (`/leads/export.csv`), its leads and everything that hangs on
them are deleted — what is left is a fresh installation with the same team and agreement
— and the file is migrated back through the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from reports import dashboard, rollups
from reports.commitments import commitments_close_weeks
from reports.models import CommitmentWeek, WeekSnapshot
from sla.models import Clock, EnforcementRun
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.core.weeks import org_tz
from smarketing.notifications.models import Notification
from tests.intake.test_migration_replay import client_for, finished, row_results, start, upload

pytestmark = pytest.mark.django_db

NOW = dt.datetime.fromisoformat("2026-11-18T15:30:00+01:00")
WEEKS = 6


def seeded():
    """The demo organisation through the real services, then a lead reopened, one
    reassigned and two merged — each step a round trip must carry."""
    call_command(
        "seed_demo",
        *("--leads", "260", "--weeks", str(WEEKS), "--seed", "5", "--now", NOW.isoformat(), "--no-logins"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    User = get_user_model()
    manager = User.objects.get(username="manager.sales")
    marketer = User.objects.get(username="manager.marketing")
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        out = Lead.objects.live().filter(stage=Stage.DISQUALIFIED).order_by("pk").first()
        services.lead_reopen(lead_id=out.pk, actor=marketer)
        waiting = Lead.objects.live().filter(stage=Stage.MQL).order_by("pk").first()
        rep = User.objects.filter(membership__team__kind="sales", is_active=True).exclude(pk=waiting.owner_id)
        services.lead_reassign(lead_id=waiting.pk, actor=manager, new_owner=rep.order_by("pk").first())
        pair = list(Lead.objects.live().filter(stage=Stage.LEAD).order_by("pk")[:2])
        services.lead_merge(survivor_id=pair[0].pk, other_id=pair[1].pk, actor=marketer)
    return marketer


def leads_now() -> dict[str, tuple]:
    """Every live lead by email: what a round trip must keep."""
    return {
        row[0]: row[1:]
        for row in Lead.objects.live().values_list(
            "email",
            "stage",
            "owner__email",
            "source",
            "campaign__name",
            "created_at",
            "stage_entered_at",
            "qualified_at",
            "recycle_count",
            "deal_amount",
            "closed_on",
            "referrer__email",
            "qualified_by__email",
            "first_name",
            "last_name",
            "company",
        )
    }


def steps_now() -> dict[str, list[tuple]]:
    """Every live lead's moves, by email: type, when, from, to, reason, who."""
    moves: dict[str, list[tuple]] = {}
    for email, *step in (
        LeadEvent.objects.filter(lead__merged_into__isnull=True)
        .exclude(type__in=[EventType.UPDATED, EventType.NOTED, EventType.SNOOZED, EventType.MERGED])
        .order_by("lead_id", "occurred_at", "id")
        .values_list(
            "lead__email", "type", "occurred_at", "from_stage", "to_stage", "reason__code", "actor__email"
        )
    ):
        if step[0] == EventType.CREATED:
            step[-1] = None  # a migration creates: the manager who runs it (checked below)
        moves.setdefault(email, []).append(tuple(step))
    return moves


def figures() -> dict[str, dict]:
    """Every table of the dashboard over the seeded weeks, as the API and CSV carry them
    (the drill-down links name lead ids, which a new installation gives anew), the finished
    weeks of marketing's commitment recorded as the weekly job records them — the day each
    was recorded aside, which is the installation's own."""
    commitments_close_weeks()
    monday = NOW.astimezone(org_tz()).date() - dt.timedelta(days=NOW.astimezone(org_tz()).weekday())
    scope = dashboard.scope_for(monday - dt.timedelta(weeks=WEEKS + 1), monday, {})
    tables = {
        slug: {key: value for key, value in dashboard.table_data(table, scope).items() if key != "links"}
        for slug, table in dashboard.build(scope).items()
    }
    for row in tables["commitment"]["rows"]:
        row.pop("recorded")
    return tables


def fresh_installation() -> None:
    """Delete every lead and what hangs on it; the team, campaigns and agreement stay."""
    Notification.objects.all().delete()
    Clock.objects.all().delete()
    EnforcementRun.objects.all().delete()
    WeekSnapshot.objects.all().delete()
    CommitmentWeek.objects.all().delete()
    LeadEvent._base_manager.all()._raw_delete(using=connection.alias)
    Lead.objects.update(merged_into=None)
    for model in Lead._meta.related_objects:
        if model.related_model not in (LeadEvent, Clock, Lead) and model.on_delete.__name__ != "SET_NULL":
            model.related_model._base_manager.all()._raw_delete(using=connection.alias)
    Lead.objects.all().delete()
    if rollups.supported():
        rollups.rebuild()


def test_an_export_moves_an_organisation_into_a_fresh_one(django_capture_on_commit_callbacks):
    with time_machine.travel(NOW + dt.timedelta(minutes=2), tick=False):
        manager = seeded()
        kinds = set(LeadEvent.objects.values_list("type", flat=True))
        assert {
            "qualified",
            "accepted",
            "rejected",
            "won",
            "lost",
            "disqualified",
            "reopened",
            "reassigned",
        } <= kinds
        assert Clock.objects.filter(breached_at__isnull=False).exists(), "the demo breaches some clocks"
        leads, moves, before = leads_now(), steps_now(), figures()

        browser = Client()
        browser.force_login(manager)
        response = browser.get("/leads/export.csv")
        assert response.status_code == 200
        content = b"".join(response.streaming_content)
        exported = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
        assert len(exported) == len(leads)

        fresh_installation()
        assert not Lead.objects.exists() and not Clock.objects.exists()

    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        api = client_for(manager)
        made = upload(api, "smarketing-leads.csv", content)
        assert made.status_code == 201, made.content
        body = made.json()
        assert body["system"] == "smarketing" and body["mapping"]["History"] == "history"
        assert body["mapping"]["Owner email"] == "owner" and "Stage" not in body["mapping"]
        assert start(api, body["id"], django_capture_on_commit_callbacks).status_code == 202
        job = finished(api, body["id"])
        assert (job["created_count"], job["failed_count"], job["skipped_count"]) == (len(leads), 0, 0), (
            row_results(api, job["id"])
        )

        now = leads_now()
        changed = {
            e: [(b, a) for b, a in zip(leads[e], now.get(e, ()), strict=False) if a != b] for e in leads
        }
        assert now == leads, {e: c for e, c in changed.items() if c}
        assert steps_now() == moves
        after = figures()
        differing = {slug for slug in before if before[slug] != after[slug]}
        assert not differing, {
            slug: [
                {key: (b[key], a.get(key)) for key in b if a.get(key) != b[key]}
                for b, a in zip(before[slug]["rows"], after[slug]["rows"], strict=False)
                if a != b
            ]
            for slug in differing
        }
        assert sum(len(t["rows"]) for t in after.values()) > 50, "the dashboard has figures to compare"

        # Every step came back marked as migrated from Smarketing, by whom it was made there
        # (compared above); the created events by the manager who ran the migration.
        marks = LeadEvent.objects.values_list("data__migrated__system", "data__migrated__import_job")
        assert set(marks) == {("smarketing", body["id"])}
        assert set(LeadEvent.objects.filter(type="created").values_list("actor", flat=True)) == {manager.pk}
        # No clock runs in the past: the open MQLs and SQLs wait from go-live.
        running = Clock.objects.running()
        assert running.count() == Lead.objects.filter(stage__in=[Stage.MQL, Stage.SQL]).count()
        assert {c.started_at for c in running} == {job_started(job)}


def job_started(job: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(job["started_at"])


# --- a History cell that is wrong is refused with what is wrong --------------------------------


def _cell(**changes) -> str:
    cell = {"version": 1, "created": "2026-10-05T08:00:00+00:00", "events": [], "clocks": []}
    cell.update(changes)
    return json.dumps(cell)


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("", "The History cell is empty"),
        ("{not json", "not the JSON a Smarketing export writes"),
        (_cell(created="yesterday"), "is not a time"),
        (_cell(created="2026-10-05T08:00:00"), "no offset from UTC"),
        (_cell(created="0001-01-01T00:00:00+05:00"), "not between 1900 and 2200"),
        (_cell(created="2999-01-01T00:00:00+00:00"), "not between 1900 and 2200"),
        (_cell(created="2199-01-01T00:00:00+00:00"), "after the migration"),
        ("[" * 100_000 + "]" * 100_000, "not the JSON a Smarketing export writes"),
        (_cell(events=[{"type": "noted", "at": "2026-10-06T08:00:00+00:00"}]), "is not a move"),
        (_cell(events=[{"type": ["qualified"], "at": "2026-10-06T08:00:00+00:00"}]), "is not a move"),
        (_cell(events="qualified"), "not the JSON a Smarketing export writes"),
        (_cell(clocks=[["response"]]), "is not an SLA clock"),
        (
            _cell(
                clocks=[
                    {
                        "obligation": "response",
                        "owner": "{rep}",
                        "started": "2026-10-06T08:00:00+00:00",
                        "due": "2026-10-05T08:00:00+00:00",
                        "met": "2026-10-06T09:00:00+00:00",
                    }
                ]
            ),
            "due before it started",
        ),
        (
            _cell(
                clocks=[
                    {
                        "obligation": "response",
                        "owner": "{rep}",
                        "started": "2026-10-06T08:00:00+00:00",
                        "due": "2026-10-06T10:00:00+00:00",
                        "met": "2026-10-06T09:00:00+00:00",
                        "business_seconds": True,
                    }
                ]
            ),
            "not a count",
        ),
        (
            _cell(events=[{"type": "accepted", "at": "2026-10-06T08:00:00+00:00"}]),
            "only a lead in MQL can be accepted",
        ),
        (
            _cell(
                events=[
                    {"type": "qualified", "at": "2026-10-06T08:00:00+00:00", "owner": "nobody@example.org"}
                ]
            ),
            "No user here has the email",
        ),
        (
            _cell(events=[{"type": "qualified", "at": "2026-10-04T08:00:00+00:00", "owner": "{rep}"}]),
            "out of order",
        ),
        (
            _cell(
                events=[
                    {"type": "qualified", "at": "2026-10-06T08:00:00+00:00", "owner": "{rep}"},
                    {"type": "rejected", "at": "2026-10-07T08:00:00+00:00", "reason": "no-such-reason"},
                ]
            ),
            "not one of the agreed reasons here",
        ),
        (
            _cell(clocks=[{"obligation": "response", "started": "2026-10-06T08:00:00+00:00"}]),
            "neither met nor breached",
        ),
    ],
)
def test_a_wrong_history_cell_is_refused_with_what_is_wrong(
    org, history, message, django_capture_on_commit_callbacks
):
    header = ["Lead ID", "Email", "Stage", "Owner", "Owner email", "Source", "Created at", "History"]
    row = [
        "7",
        "ada@example.org",
        "lead",
        "",
        "",
        "website",
        "2026-10-05 10:00:00",
        history.replace("{rep}", org.rep.email),
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, row])
    api = client_for(org.marketing_manager)
    made = upload(api, "smarketing-leads.csv", buffer.getvalue().encode())
    assert made.status_code == 201, made.content
    assert start(api, made.json()["id"], django_capture_on_commit_callbacks).status_code == 202
    job = finished(api, made.json()["id"])
    assert (job["created_count"], job["failed_count"]) == (0, 1)
    errors = api.get(f"/api/imports/{job['id']}/rows/").json()
    found = json.dumps(errors)
    assert message in found, found
    assert not Lead.objects.exists()


def test_a_full_path_comes_back_step_by_step(org, django_capture_on_commit_callbacks):
    """Handed off, rejected, handed off again, reassigned, accepted, lost to nurture,
    disqualified, reopened: each step at its time, the lead where the path left it."""
    reject = Reason.objects.active().of_kind(ReasonKind.REJECTION).first()
    recycle = Reason.objects.active().of_kind(ReasonKind.LOSS).filter(loss_outcome="recycle").first()
    out = Reason.objects.active().of_kind(ReasonKind.DISQUALIFICATION).first()

    def at(day: int) -> str:
        return f"2026-10-{day:02d}T09:00:00+00:00"

    events = [
        {
            "type": "qualified",
            "at": at(6),
            "to": "mql",
            "owner": org.rep.email,
            "data": {"scoring_version": "3"},
        },
        {"type": "rejected", "at": at(7), "to": "lead", "reason": reject.code},
        {"type": "qualified", "at": at(8), "to": "mql", "owner": org.rep.email},
        {"type": "reassigned", "at": at(9), "to": "mql", "owner": org.rep2.email},
        {"type": "accepted", "at": at(10), "to": "sql"},
        {"type": "lost", "at": at(12), "to": "lead", "reason": recycle.code},
        {"type": "disqualified", "at": at(13), "to": "disqualified", "reason": out.code},
        {"type": "reopened", "at": at(14), "to": "lead"},
    ]
    clock = {
        "obligation": "response",
        "owner": org.rep2.email,
        "started": at(8),
        "due": at(9),
        "met": at(10),
        "breached": None,
        "business_seconds": 3600,
    }
    header = ["Lead ID", "Email", "Stage", "Source", "Created at", "Referrer email", "History"]
    row = [
        "7",
        "ada@example.org",
        "lead",
        "website",
        "",
        org.employee.email,
        _cell(events=events, clocks=[clock]),
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, row])
    api = client_for(org.marketing_manager)
    made = upload(api, "smarketing-leads.csv", buffer.getvalue().encode())
    assert start(api, made.json()["id"], django_capture_on_commit_callbacks).status_code == 202
    assert finished(api, made.json()["id"])["created_count"] == 1

    lead = Lead.objects.get()
    assert (lead.stage, lead.owner_id, lead.recycle_count, lead.referrer_id) == (
        Stage.LEAD,
        None,
        2,
        org.employee.pk,
    )
    assert lead.stage_entered_at == dt.datetime.fromisoformat(at(14))
    assert lead.qualified_at == dt.datetime.fromisoformat(at(8))
    got = list(
        lead.events.order_by("occurred_at", "id").values_list("type", "from_stage", "to_stage", "reason_id")
    )
    assert got == [
        ("created", "", "lead", None),
        ("qualified", "lead", "mql", None),
        ("rejected", "mql", "lead", reject.pk),
        ("qualified", "lead", "mql", None),
        ("reassigned", "mql", "mql", None),
        ("accepted", "mql", "sql", None),
        ("lost", "sql", "lead", recycle.pk),
        ("disqualified", "lead", "disqualified", out.pk),
        ("reopened", "disqualified", "lead", None),
    ]
    data = {e.type + str(i): e.data for i, e in enumerate(lead.events.order_by("occurred_at", "id"))}
    assert data["qualified1"]["scoring_version"] == "3" and data["qualified1"]["owner"] == org.rep.pk
    assert data["rejected2"]["owner"] == org.rep.pk and data["rejected2"]["recycle_count"] == 1
    assert (data["reassigned4"]["from_owner"], data["reassigned4"]["owner"]) == (org.rep.pk, org.rep2.pk)
    assert data["lost6"]["owner"] == org.rep2.pk
    met = Clock.objects.get()
    assert (met.owner_id, met.business_seconds, met.breached_at) == (org.rep2.pk, 3600, None)
    assert met.met_at == dt.datetime.fromisoformat(at(10))
    assert not Clock.objects.running().exists()
    assert Decimal(0) == (lead.deal_amount or Decimal(0))
