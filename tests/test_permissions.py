"""The permission matrix: every page, endpoint and action × role × ownership, with the
expected outcome (DESIGN.md "Who uses it" and its boundaries, as `leads/roles.py` and the
services enforce them).

One table, `CASES`: a row names a request (method, path, body) and who may make it. Each
row runs once per role:

- anonymous: a page redirects to ``/login/?next=<the path>``, the API answers 401;
- employee (no role), marketer, rep (the owner of every sales lead here), rep2 (same team,
  not the owner), other_rep (another sales team), sales_manager (the owner's manager),
  other_manager (manager of the other sales team), marketing_manager, admin.

Ownership is in the roles: every MQL and SQL here is assigned to ``rep`` (Sales East), so
``rep`` acts on its own lead, ``rep2`` on another rep's, ``other_rep``/``other_manager``
on another team's; one lead belongs to ``other_rep`` to check the other way round.

For every run the test asserts the status code, then:

- allowed: the effect, read back from the database (the stage moved and the event names
  the actor; an agreement edit only *proposed* a change; …) or, for a read, what the page
  or list shows (a list shows exactly the rows this person may see);
- refused (and anonymous): the refusal's words or redirect, and that *nothing changed*:
  a fingerprint of every product table (leads, events, clocks, notifications, agreement
  versions, …) is the same before and after. Reads are held to the same: a GET writes
  nothing.

The organisation is conftest's `org` (the same people, teams and roles) with one of
everything an endpoint acts on. conftest's fixtures are per test; ~1,800 requests need it
built once: it is built per module inside a transaction that is rolled back at the end,
and each test runs in a savepoint of it, so a test costs one request.

`test_every_url_and_method_has_a_row` walks the URL resolver: an endpoint (or an HTTP
method of one) without a row here fails it. Left out: the Django admin (its own staff
permissions, tests/test_admin.py) and the public OpenAPI schema and docs (`EXCLUDED`).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import importlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from rest_framework.authtoken.models import Token

from leads import services
from leads.models import Engagement, EventType, Lead, LeadEvent, Stage, Touch
from reports import commitments
from reports.models import MarketingCommitment
from sla import calendars, policies
from sla.models import CalendarClosure, Clock, SlaPolicy, TeamCalendar
from smarketing.agreement import services as agreement
from smarketing.agreement import versions
from smarketing.agreement.models import (
    AgreementChange,
    AgreementVersion,
    HandoffGate,
    Reason,
    ReasonKind,
    RoutingRule,
    ScoringDefinition,
    ScoringRule,
    VersionStatus,
)
from smarketing.core.weeks import monday_of, org_tz
from smarketing.intake import imports, inbound
from smarketing.intake.models import ImportJob, InboundSource, Referral, ReferralOutcome
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.notifications.services import notify
from smarketing.org.models import Campaign, CampaignChange, EngagementType, Membership, Source, TeamKind
from smarketing.org.roles import Role
from smarketing.privacy.models import PrivacyAudit, RetentionPolicy, RetentionRun
from smarketing.privacy.retention import retention_policy_set
from tests.conftest import LiveApps
from tests.factories import CampaignFactory, LeadFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-for-tests-1"  # tests.factories.UserFactory
METRICS_TOKEN = "metrics-token-for-the-permission-matrix"  # SMARKETING_METRICS_TOKEN here

# --- roles -----------------------------------------------------------------------------------------

ANON = "anonymous"
USERS = (
    "employee",
    "marketer",
    "rep",
    "rep2",
    "other_rep",
    "sales_manager",
    "other_manager",
    "marketing_manager",
    "admin",
)
ROLES = (ANON, *USERS)
WITH_MARKETER2 = (*ROLES, "marketer2")  # lists that differ between two marketers

EVERYONE = frozenset((*USERS, "marketer2"))
NOBODY: frozenset[str] = frozenset()
MARKETING = frozenset({"marketer", "marketer2", "marketing_manager", "admin"})  # roles.is_marketing_side
OWNER_SIDE = frozenset({"rep", "sales_manager", "admin"})  # roles.acts_for_owner on rep's lead
WEST_OWNER_SIDE = frozenset({"other_rep", "other_manager", "admin"})  # … on other_rep's lead
EAST_MANAGER = frozenset({"sales_manager", "admin"})  # manages Sales East (rep's team)
MANAGERS = frozenset({"sales_manager", "other_manager", "marketing_manager", "admin"})  # can_edit_agreement
CONFIRMERS = frozenset({"sales_manager", "other_manager", "marketing_manager"})  # versions.side_of
REPORT_READERS = EVERYONE - {"employee"}  # reports.views.can_read_reports
MERGERS = MARKETING | MANAGERS  # permissions.may_merge on a lead marketing owns
PRODUCT_ROLES = EVERYONE - {"employee"}  # roles.has_product_role: the work queues
OWNERS_MANAGER = frozenset({"sales_manager", "admin"})  # an MQL is merged away by its rep's manager
PROFILE_EDITORS_MQL = MARKETING | OWNER_SIDE  # roles.can_edit_profile while with sales


# --- the organisation, built once per module --------------------------------------------------------

CSV = b"email,first_name,last_name\nperm-import@example.com,Ida,Imported\n"
HUBSPOT_CSV = b"Email,Lifecycle Stage,Contact owner,Create Date\nperm-migrated@example.com,Lead,,2026-01-05\n"
LEAD_NAMES = {
    "plain": "Plainlead",
    "dup": "Dupone",
    "mql": "Mqlowned",
    "sql": "Sqlowned",
    "west": "Westowned",
    "recycled": "Recycledone",
    "disq": "Disqone",
    "history": "Historyone",
}


def _ready_lead(w, key: str, **fields) -> Lead:
    """A lead in stage `lead` that passes the hand-off gate (as conftest's `make_lead`)."""
    lead = LeadFactory(first_name="Perm", last_name=LEAD_NAMES[key], **fields)
    services.engagement_log(
        lead_id=lead.pk,
        actor=w.users["marketer"],
        type=EngagementType.WEBINAR_ATTENDED,
        title="Pipeline webinar",
        points=20,
    )
    return lead


def _build_world() -> SimpleNamespace:
    """conftest's `org` (every role, two sales teams), plus one of everything an endpoint
    acts on: leads in each stage, a proposed agreement version, rules, a policy, closures,
    an import, an inbound source, notifications and tokens; and a session per role."""
    # Roles, reasons, scoring rules and the default SLA policy as the migrations make them
    # (a transactional test elsewhere may have flushed them), as conftest's fixtures do.
    importlib.import_module("leads.migrations.0002_roles_and_reasons").forwards(LiveApps(), None)
    ScoringRule.objects.all().delete()
    importlib.import_module("leads.migrations.0004_default_scoring_definition").forwards(LiveApps(), None)
    importlib.import_module("sla.migrations.0004_default_policy").forwards(LiveApps(), None)
    HandoffGate.current()
    ScoringDefinition.current()

    w = SimpleNamespace(users={}, ids={})
    marketing = TeamFactory(name="Marketing", kind=TeamKind.MARKETING)
    east = TeamFactory(name="Sales East", kind=TeamKind.SALES)
    west = TeamFactory(name="Sales West", kind=TeamKind.SALES)
    w.teams = SimpleNamespace(marketing=marketing, east=east, west=west)

    def person(role_name, username, role, team):
        user = UserFactory(username=username, roles=[role] if role else [])
        if team is not None:
            MembershipFactory(team=team, user=user)
        w.users[role_name] = user

    person("marketer", "marketer", Role.MARKETER, marketing)
    person("marketer2", "marketer2", Role.MARKETER, marketing)
    person("marketing_manager", "mmanager", Role.MANAGER, marketing)
    person("rep", "rep", Role.SALES_REP, east)
    person("rep2", "rep2", Role.SALES_REP, east)
    person("sales_manager", "smanager", Role.MANAGER, east)
    person("other_rep", "otherrep", Role.SALES_REP, west)
    person("other_manager", "omanager", Role.MANAGER, west)
    person("employee", "technician", None, None)
    person("admin", "admin", Role.ADMIN, None)
    for team, manager in ((marketing, "marketing_manager"), (east, "sales_manager"), (west, "other_manager")):
        team.manager = w.users[manager]
        team.save()
    # Only `rep` takes routed MQLs while the leads are made: every sales lead is rep's.
    Membership.objects.filter(user__in=[w.users["rep2"], w.users["other_rep"]]).update(is_away=True)
    u = w.users
    reasons = SimpleNamespace(
        rejection=Reason.objects.active().of_kind(ReasonKind.REJECTION).order_by("position").first(),
        loss=Reason.objects.active().of_kind(ReasonKind.LOSS).filter(loss_outcome="recycle").first(),
        disqualification=Reason.objects.active().of_kind(ReasonKind.DISQUALIFICATION).first(),
    )
    w.reasons = reasons

    # A finished week with a hand-off, an acceptance and a win: the revenue-goal calculator
    # has a sample (else it answers 422 before it ever gets to who may propose).
    past = dt.datetime.combine(monday_of(None) - dt.timedelta(weeks=2), dt.time(10), tzinfo=org_tz())
    with time_machine.travel(past + dt.timedelta(days=2), tick=False):
        history = _ready_lead(w, "history")
        services.lead_qualify(lead_id=history.pk, actor=u["marketer"])
        services.lead_accept(lead_id=history.pk, actor=u["rep"])
        services.lead_win(lead_id=history.pk, actor=u["rep"], amount="5000", closed_on=timezone.localdate())

    plain = _ready_lead(w, "plain")
    dup = _ready_lead(w, "dup")
    mql = services.lead_qualify(lead_id=_ready_lead(w, "mql").pk, actor=u["marketer"])
    sql = services.lead_qualify(lead_id=_ready_lead(w, "sql").pk, actor=u["marketer"])
    sql = services.lead_accept(lead_id=sql.pk, actor=u["rep"])
    west_lead = services.lead_qualify(
        lead_id=_ready_lead(w, "west").pk, actor=u["marketing_manager"], owner=u["other_rep"]
    )
    recycled = services.lead_qualify(lead_id=_ready_lead(w, "recycled").pk, actor=u["marketer2"])
    services.lead_reject(lead_id=recycled.pk, actor=u["rep"], reason=reasons.rejection, note="Student")
    disq = _ready_lead(w, "disq")
    services.lead_disqualify(lead_id=disq.pk, actor=u["marketer"], reason=reasons.disqualification)
    assert mql.owner == sql.owner == u["rep"] and west_lead.owner == u["other_rep"]
    w.ids.update(
        plain=plain.pk,
        dup=dup.pk,
        mql=mql.pk,
        sql=sql.pk,
        west=west_lead.pk,
        recycled=recycled.pk,
        disq=disq.pk,
        history=history.pk,
    )
    # rep2 available from now on: the reassign form offers them.
    Membership.objects.filter(user=u["rep2"]).update(is_away=False)

    w.campaign = CampaignFactory(name="Spring webinar")
    w.routing_rule = agreement.routing_rule_save(
        actor=u["sales_manager"], name="France to West", position=0, countries="FR", team=west, is_active=True
    )
    w.scoring_rule = ScoringRule.objects.order_by("pk").first()
    w.policy = policies.policy_save(
        actor=u["sales_manager"],
        name="Hot",
        priority=5,
        is_active=True,
        min_score=900,
        response_hours=Decimal("1"),
        follow_up_touches=3,
        follow_up_days=Decimal("2"),
        warn_percents=[50],
        on_breach="notify",
        escalate_to_manager=True,
    )
    today = timezone.localdate()
    w.closure = calendars.calendar_closure_add(
        actor=u["sales_manager"], team_id=east.pk, date=today + dt.timedelta(days=30), reason="Offsite"
    )
    w.west_closure = calendars.calendar_closure_add(
        actor=u["other_manager"], team_id=west.pk, date=today + dt.timedelta(days=31), reason="West offsite"
    )
    commitments.commitment_update(
        actor=u["marketing_manager"], team_id=marketing.pk, min_mqls=5, min_acceptance_percent=50
    )
    w.inbound, w.inbound_key = inbound.inbound_source_create(
        actor=u["marketing_manager"], name="Website form", source=Source.WEBSITE
    )
    w.job = imports.import_upload(
        actor=u["marketer"], uploaded=SimpleUploadedFile("perm-leads.csv", CSV, content_type="text/csv")
    )
    # The proposed version every agreement edit joins (one change, by the marketing manager).
    gate = HandoffGate.current()
    w.gate_fields = list(gate.required_fields)
    w.version = versions.agreement_propose(
        actor=u["marketing_manager"],
        op="handoff_gate_update",
        required_fields=w.gate_fields,
        min_engagements=gate.min_engagements + 1,
    )
    w.gate_min_next = gate.min_engagements + 2  # what a test proposes on top
    versions.version_note_update(
        actor=u["marketing_manager"], number=w.version.number, note="Two engagements first."
    )
    w.in_force = versions.version_in_force()
    # A referral each by the employee and a marketer (as rows: no credit changes a lead),
    # to see that a referrer's list keeps to their own.
    for role_name in ("employee", "marketer"):
        Referral.objects.create(
            referrer=u[role_name],
            lead=plain,
            context=f"Perm referral [{role_name}]",
            email=plain.email,
            outcome=ReferralOutcome.ATTACHED,
        )
    # One notification each, to see that lists and "mark read" keep to their owner.
    w.notes = {}
    for role_name, user in u.items():
        w.notes[role_name] = notify(
            recipient=user,
            kind=NotificationKind.MQL_ASSIGNED,
            lead=mql,
            dedupe_key=f"perm-{user.username}",
            subject=f"Perm note [{user.username}]",
            body="For the permission matrix.",
        ).pk
    w.tokens = {name: Token.objects.create(user=u[name]).key for name in ("rep", "marketer")}
    # A retention policy with a period (off, nothing due): "Run now" has something to run.
    retention_policy_set(actor=u["marketing_manager"], enabled=False, disqualified_months=120)
    # A logged-in session per role; each test's fresh client carries its cookie.
    w.sessions = {}
    for role_name, user in u.items():
        client = Client()
        client.force_login(user)
        w.sessions[role_name] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return w


@pytest.fixture(scope="module", autouse=True)
def _metrics_token():
    """/metrics answers with this token only (unset, it is not there at all: 404)."""
    with override_settings(SMARKETING_METRICS_TOKEN=METRICS_TOKEN):
        yield


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The organisation, built once and rolled back after the module (as Django's
    TestCase.setUpTestData does): each test's own transaction is a savepoint inside it."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer._from_testcase = True  # as TestCase's class-wide atomic block
        outer.__enter__()
        try:
            built = _build_world()
            # Each test starts from exactly this state (its savepoint is rolled back after
            # it): the fingerprint before every request.
            built.fingerprint = fingerprint()
            yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def _django_db_helper(world):
    """Each test runs in a savepoint of the world's transaction, rolled back after it.

    This replaces, in this module only, pytest-django's per-test helper behind the
    `django_db` mark (the mark still makes pytest-django create the test database): the
    same isolation as its per-test TestCase, without setting one up ~1,800 times (a third
    of the module's time). Were pytest-django to rename its helper, this fixture would go
    unused and the mark would fall back to the standard per-test transaction."""
    block = transaction.atomic()
    block._from_testcase = True  # as TestCase's per-test block
    with block:
        yield
        transaction.set_rollback(True)


# --- "nothing changed": a fingerprint of every product table ----------------------------------------


def _product_apps() -> list[str]:
    """The labels of the product's own apps (docs/architecture.md)."""
    ours = ("leads", "sla", "reports", "smarketing")
    return [config.label for config in django_apps.get_app_configs() if config.name.split(".")[0] in ours]


def _tables() -> list[tuple[str, str]]:
    models = [
        model for label in _product_apps() for model in django_apps.get_app_config(label).get_models()
    ] + [Token]
    # The dashboard's rollups are a cache of the event log that any read of a figure brings
    # up to date (reports.rollups): not state a request may or may not change.
    derived = {"FunnelFact", "FunnelRollup", "FunnelValue", "DirtyLead"}
    return [
        (model._meta.db_table, model._meta.pk.column) for model in models if model.__name__ not in derived
    ]


TABLES: list[tuple[str, str]] = []


def fingerprint() -> dict[str, str]:
    """{table: digest of all its rows}: one query on PostgreSQL."""
    if not TABLES:
        TABLES.extend(_tables())
    if connection.vendor == "postgresql":
        digest = "SELECT '{0}', md5(coalesce(string_agg(t::text, '|' ORDER BY t.\"{1}\"), '')) FROM \"{0}\" t"
        sql = " UNION ALL ".join(digest.format(table, pk) for table, pk in TABLES)  # model tables only
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return dict(cursor.fetchall())
    result = {}
    with connection.cursor() as cursor:
        for table, pk in TABLES:
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY "{pk}"')  # noqa: S608 (model tables)
            result[table] = repr(cursor.fetchall())
    return result


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {table for table in after if before.get(table) != after[table]}


# --- the table ------------------------------------------------------------------------------------------

Check = Callable[[SimpleNamespace, Any, Any, set[str]], None]


@dataclass(frozen=True)
class Case:
    """One request and who may make it.

    `allowed` get `ok` (and `check` must hold, `ok_to` is where they are sent); every other
    logged-in role gets `denied` (with `denial` in the page or error message, or a redirect
    to `deny_to` with `denial` as its error message) and nothing changes. `special` gives
    a role another status (e.g. 404 where the row is someone else's); `special_to` is where
    a special redirect goes. `public`: no login needed (anonymous is a role like the others).
    `xfail`: role → why the product is wrong there (a known authorization bug)."""

    name: str
    method: str
    path: Callable[[SimpleNamespace], str]
    allowed: frozenset[str]
    ok: int = 200
    api: bool = False
    body: Callable[[SimpleNamespace], Any] | None = None
    multipart: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    denied: int = 403
    denial: str = ""
    deny_to: str | None = None
    ok_to: Callable[[SimpleNamespace], str] | None = None
    check: Check | None = None
    special: dict[str, int] = field(default_factory=dict)
    special_to: str | None = None
    public: bool = False
    roles: tuple[str, ...] = ROLES
    prepare: Callable[[SimpleNamespace], None] | None = None
    xfail: dict[str, str] = field(default_factory=dict)

    def expected(self, role: str) -> int:
        if role in self.special:
            return self.special[role]
        if role == ANON and not self.public:
            return 401 if self.api else 302
        return self.ok if role in self.allowed else self.denied


def page(name, method, path, allowed, ok=200, **kw) -> Case:
    if kw.get("deny_to"):
        kw.setdefault("denied", 302)  # act_then_redirect: back to the page, with the error
    return Case(name=f"page-{name}", method=method, path=path, allowed=allowed, ok=ok, **kw)


def api(name, method, path, allowed, ok=200, **kw) -> Case:
    return Case(name=f"api-{name}", method=method, path=path, allowed=allowed, ok=ok, api=True, **kw)


# --- reading the database back --------------------------------------------------------------------------


def lead(w, key: str) -> Lead:
    return Lead.objects.get(pk=w.ids[key])


def version_of(w, key: str) -> int:
    return Lead.objects.values_list("version", flat=True).get(pk=w.ids[key])


def today() -> dt.date:
    return timezone.localdate()


def this_monday() -> str:
    return monday_of(None).isoformat()


def proposal() -> AgreementVersion:
    return AgreementVersion.objects.get(status=VersionStatus.PROPOSED)


# --- checks of an allowed write --------------------------------------------------------------------------


def moved(key: str, stage: str, event: str, **fields) -> Check:
    """The lead is in `stage` and one `event` by this person was written."""

    def check(w, user, response, changed):
        row = lead(w, key)
        assert row.stage == stage
        for name, value in fields.items():
            expected = value(w, user) if callable(value) else value
            assert getattr(row, name) == expected, name
        assert LeadEvent.objects.filter(lead=row, type=event, actor=user).count() == 1

    return check


def touch_logged(w, user, response, changed):
    touch = Touch.objects.get(lead_id=w.ids["sql"], by=user)
    if response.status_code == 201:
        assert response.json()["id"] == touch.pk
    only_changed("leads_touch", "sla_clock")(changed)


def rejected_and_told(w, user, response, changed):
    moved("mql", Stage.LEAD, EventType.REJECTED, owner=None, recycle_count=1)(w, user, response, changed)
    # The qualifying marketer is told, with the reason (after commit).
    told = Notification.objects.get(recipient=w.users["marketer"], kind=NotificationKind.MQL_REJECTED)
    assert told.lead_id == w.ids["mql"] and w.reasons.rejection.label in told.body


def proposed(*, still: type) -> Check:
    """An agreement edit proposes: the proposed version gains this person's change, and
    the configuration in force (`still`'s table and every other) is untouched."""

    def check(w, user, response, changed):
        version = proposal()
        assert [change["by"] for change in version.changes] == [w.users["marketing_manager"].pk, user.pk]
        assert still._meta.db_table not in changed
        assert changed <= {"leads_agreementversion", "leads_agreementchange", "leads_notification"}
        if response.headers.get("Content-Type", "").startswith("application/json"):
            assert response.json()["number"] == version.number and response.json()["status"] == "proposed"

    return check


def only_changed(*tables: str) -> Callable[[set[str]], None]:
    def check(changed):
        assert changed and changed <= set(tables), changed

    return check


def engagement_by(key: str, title: str) -> Check:
    def check(w, user, response, changed):
        assert Engagement.objects.filter(lead_id=w.ids[key], logged_by=user, title=title).count() == 1
        only_changed("leads_engagement", "leads_lead")(changed)  # and its score

    return check


def referred(email: Callable[[SimpleNamespace], str], outcome: str) -> Check:
    """A referral by the caller with its context: a new lead with them as referrer
    (`created`), or a note on the lead that has the email, and no second lead (`attached`)."""

    def check(w, user, response, changed):
        address = email(w)
        row = Lead.objects.get(email=address)
        referral = Referral.objects.get(referrer=user, email=address, context__startswith="Perm need")
        assert (referral.lead, referral.outcome) == (row, outcome)
        if outcome == ReferralOutcome.CREATED:
            assert (row.referrer, row.source, row.created_by) == (user, Source.REFERRAL, user)
        assert LeadEvent.objects.filter(lead=row, type=EventType.CREATED).count() == 1
        if response.status_code == 201:
            assert response.json()["outcome"] == outcome and response.json()["lead"] == row.pk

    return check


def referrals_are_mine(w, user, response, changed):
    results = response.json()["results"]
    assert all(r["referrer"]["id"] == user.pk for r in results)
    assert len(results) == (1 if role_of(w, user) in ("employee", "marketer") else 0)


def lead_created(email: str, **fields) -> Check:
    def check(w, user, response, changed):
        row = Lead.objects.get(email=email)
        for name, value in fields.items():
            expected = value(w, user) if callable(value) else value
            assert getattr(row, name) == expected, name
        assert LeadEvent.objects.filter(lead=row, type=EventType.CREATED).count() == 1
        if response.status_code == 302:
            assert response["Location"] in (f"/leads/{row.pk}/", "/")

    return check


def profile_edited(key: str, job_title: str) -> Check:
    def check(w, user, response, changed):
        row = lead(w, key)
        assert row.job_title == job_title
        assert LeadEvent.objects.filter(lead=row, type=EventType.UPDATED, actor=user).count() == 1

    return check


def consent_recorded(key: str) -> Check:
    """The person's answer is the lead's, and its audit line names who recorded it."""

    def check(w, user, response, changed):
        row = lead(w, key)
        assert (row.consent, row.consent_wording) == ("withdrawn", "Perm: asked by phone")
        assert row.consent_records.filter(recorded_by=user, consent="withdrawn").count() == 1
        only_changed("leads_lead", "leads_consentrecord")(changed)

    return check


def merged(other_key: str) -> Check:
    def check(w, user, response, changed):
        assert lead(w, other_key).merged_into_id == w.ids["plain"]
        assert LeadEvent.objects.filter(lead_id=w.ids["plain"], type=EventType.MERGED, actor=user).exists()

    return check


def version_confirmed(w, user, response, changed):
    version = AgreementVersion.objects.get(number=w.version.number)
    side = "sales" if user.membership.team.kind == TeamKind.SALES else "marketing"
    assert version.status == VersionStatus.PROPOSED  # the other side has still to confirm
    assert getattr(version, f"{side}_confirmed_by") == user
    assert "leads_handoffgate" not in changed  # nothing applied yet


def version_withdrawn(w, user, response, changed):
    version = AgreementVersion.objects.get(number=w.version.number)
    assert version.status == VersionStatus.WITHDRAWN and version.closed_by == user
    assert "leads_handoffgate" not in changed


def version_noted(w, user, response, changed):
    assert AgreementVersion.objects.get(number=w.version.number).note == f"Noted by {user.username}"
    only_changed("leads_agreementversion")(changed)


def notification_read(w, user, response, changed):
    assert Notification.objects.get(pk=w.notes["rep"]).read_at is not None
    only_changed("leads_notification")(changed)


def all_mine_read(w, user, response, changed):
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    # Nobody else's notification was touched.
    others = Notification.objects.exclude(recipient=user)
    assert others.exists() and not others.filter(read_at__isnull=False).exists()
    if response.headers.get("Content-Type", "").startswith("application/json"):
        assert response.json()["marked"] == Notification.objects.filter(recipient=user).count()


def routing_rule_added(name: str) -> Check:
    def check(w, user, response, changed):
        assert RoutingRule.objects.filter(name=name).count() == 1
        only_changed("leads_routingrule", "leads_agreementchange")(changed)

    return check


def routing_rule_renamed(w, user, response, changed):
    assert RoutingRule.objects.get(pk=w.routing_rule.pk).name == "Renamed rule"
    only_changed("leads_routingrule", "leads_agreementchange")(changed)


def routing_rule_removed(w, user, response, changed):
    assert not RoutingRule.objects.filter(pk=w.routing_rule.pk).exists()
    only_changed("leads_routingrule", "leads_agreementchange")(changed)


def membership_weight(who: str) -> Check:
    def check(w, user, response, changed):
        assert Membership.objects.get(user=w.users[who]).weight == 3
        only_changed("leads_membership", "leads_agreementchange")(changed)

    return check


def calendar_changed(w, user, response, changed):
    calendar = TeamCalendar.objects.get(team=w.teams.east)
    assert calendar.hours["0"] == ["08:00", "16:00"]
    only_changed("sla_teamcalendar", "leads_agreementchange")(changed)


def closure_added(w, user, response, changed):
    assert CalendarClosure.objects.filter(calendar__team=w.teams.east, reason="Perm closure").count() == 1
    only_changed("sla_calendarclosure", "leads_agreementchange")(changed)


def closure_removed(w, user, response, changed):
    assert not CalendarClosure.objects.filter(pk=w.closure.pk).exists()
    assert CalendarClosure.objects.filter(pk=w.west_closure.pk).exists()
    only_changed("sla_calendarclosure", "leads_agreementchange")(changed)


def inbound_created(w, user, response, changed):
    source = InboundSource.objects.get(name="Perm form")
    assert source.created_by == user
    assert response.status_code == 200 and source.key_prefix in response.content.decode()


def inbound_wording_set(w, user, response, changed):
    assert InboundSource.objects.get(pk=w.inbound.pk).consent_wording == "Perm newsletter consent v4"
    change = AgreementChange.objects.filter(area="inbound").latest("pk")
    assert change.actor == user and change.after == {"consent_wording": "Perm newsletter consent v4"}
    only_changed("leads_inboundsource", "leads_agreementchange")(changed)


def inbound_revoked(w, user, response, changed):
    assert not InboundSource.objects.get(pk=w.inbound.pk).is_active
    assert AgreementChange.objects.filter(area="inbound", actor=user, summary__contains="revoked").exists()
    only_changed("leads_inboundsource", "leads_agreementchange")(changed)


def inbound_recorded(w, user, response, changed):
    row = Lead.objects.get(email="perm-inbound@example.com")
    assert row.engagements.count() == 1 and row.created_by is None


def import_uploaded(w, user, response, changed):
    job = ImportJob.objects.exclude(pk=w.job.pk).get()
    assert job.created_by == user and job.status == "mapping"
    if response.status_code == 302:
        assert response["Location"] == f"/imports/{job.pk}/"
    only_changed("leads_importjob", "intake_importfilechunk")(changed)  # the file waits in chunks


def migration_uploaded(w, user, response, changed):
    job = ImportJob.objects.exclude(pk=w.job.pk).get()
    assert (job.created_by, job.kind, job.system, job.status) == (user, "migration", "hubspot", "mapping")
    if response.status_code == 302:
        assert response["Location"] == f"/imports/{job.pk}/"
    only_changed("leads_importjob", "intake_importfilechunk")(changed)


def import_configured(w, user, response, changed):
    assert ImportJob.objects.get(pk=w.job.pk).default_source == Source.EVENT
    only_changed("leads_importjob")(changed)


def import_started(w, user, response, changed):
    # Queued, then run after commit (eagerly here): the file's row became a lead, created by
    # the marketer who uploaded it.
    assert ImportJob.objects.get(pk=w.job.pk).status == "done"
    assert Lead.objects.get(email="perm-import@example.com").created_by == w.users["marketer"]


def token_issued(w, user, response, changed):
    assert response.json()["token"] == Token.objects.get(user=w.users["rep"]).key


def token_revoked(w, user, response, changed):
    assert not Token.objects.filter(user=user).exists()
    for name in ("rep", "marketer"):
        if w.users[name] != user:
            assert Token.objects.filter(key=w.tokens[name]).exists()


def logged_out(w, user, response, changed):
    assert response.wsgi_request.user.is_anonymous
    if user is not None:
        assert not Session.objects.filter(session_key=w.sessions[role_of(w, user)]).exists()


def logged_in_as_rep_or_self(w, user, response, changed):
    # Anonymous logs in as rep; someone logged in stays who they are.
    who = response.wsgi_request.user
    assert who == (user if user is not None else w.users["rep"])


def role_of(w, user) -> str:
    return next(name for name, person in w.users.items() if person == user)


# --- checks of an allowed read (what a list or page shows this person) ------------------------------------


def counts(n: int) -> Check:
    """A list everyone reads whole: all `n` rows."""

    def check(w, user, response, changed):
        body = response.json()
        assert len(body["results"] if isinstance(body, dict) else body) == n

    return check


def ids_of(response) -> set[int]:
    body = response.json()
    return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}


def every_live_lead(w, user, response, changed):
    # Closed loop: everyone reads every lead, another team's too.
    ids = ids_of(response)
    assert ids == set(Lead.objects.live().values_list("pk", flat=True))
    assert {w.ids["west"], w.ids["mql"]} <= ids


def my_notifications(w, user, response, changed):
    mine = set(Notification.objects.filter(recipient=user).values_list("pk", flat=True))
    assert w.notes[role_of(w, user)] in mine
    assert ids_of(response) == mine


def my_handoffs(w, user, response, changed):
    mine = set(
        LeadEvent.objects.filter(type=EventType.QUALIFIED, actor=user).values_list("lead_id", flat=True)
    )
    shown = {row["lead"] for row in response.json()["results"]}
    assert shown == mine
    role = role_of(w, user)
    assert (w.ids["mql"] in shown) == (role == "marketer")
    assert (w.ids["recycled"] in shown) == (role == "marketer2")


def every_import(w, user, response, changed):
    """Marketing sees every everyday import; a sales manager (who may migrate) none of them."""
    expected = {w.job.pk} if user.username in {"marketer", "marketer2", "mmanager", "admin"} else set()
    assert ids_of(response) == expected


def every_clock(w, user, response, changed):
    assert response.json()["count"] == Clock.objects.count() > 0


def recycled_listed(w, user, response, changed):
    assert w.ids["recycled"] in ids_of(response)


def queue_listed(w, user, response, changed):
    # New leads: in stage lead, never handed off, recent (plain and dup); not the others.
    assert {w.ids["plain"], w.ids["dup"]} <= ids_of(response)
    assert not {w.ids["recycled"], w.ids["mql"]} & ids_of(response)


def notes_listed(w, user, response, changed):
    assert response.json() == []  # the matrix's leads have no notes


def noted(key: str) -> Check:
    """A note by this person is on the lead's history; @rep (mentioned) is told after
    commit, unless rep wrote it; the lead itself did not change (no version bump)."""

    def check(w, user, response, changed):
        event = LeadEvent.objects.get(lead_id=w.ids[key], type=EventType.NOTED, actor=user)
        assert event.note == "Perm note for @rep" and (event.from_stage, event.to_stage) == ("", "")
        told = Notification.objects.filter(
            kind=NotificationKind.MENTIONED, lead_id=w.ids[key], recipient=w.users["rep"]
        )
        assert told.exists() == (user != w.users["rep"])
        if response.status_code == 201:
            assert response.json()["id"] == event.pk
        only_changed("leads_leadevent", "leads_notification")(changed)

    return check


def me(w, user, response, changed):
    assert response.json()["username"] == user.username


def shows(*texts: str, hides: tuple[str, ...] = ()) -> Check:
    def check(w, user, response, changed):
        content = html.unescape(response.content.decode())
        for text in texts:
            assert text in content, text
        for text in hides:
            assert text not in content, text

    return check


def csv_file(w, user, response, changed):
    assert response["Content-Type"].startswith("text/csv")
    assert b"".join(response.streaming_content if response.streaming else [response.content])


def xlsx_file(w, user, response, changed):
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    body = b"".join(response.streaming_content if response.streaming else [response.content])
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    assert next(sheet.iter_rows(max_row=1, values_only=True))  # a header row


def lead_export_rows(w, user, response, changed):
    """Every lead the list shows, one row each; contact details only for those who see them."""
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == Lead.objects.filter(merged_into__isnull=True).count() > 0
    if user.username == "technician":  # no product role: contact details of own referrals only
        assert all(
            not r["Email"]
            for r in rows
            if int(r["Lead ID"]) not in set(user.referred_leads.values_list("pk", flat=True))
        )


def lead_page_offers(w, user, response, changed):
    """The lead page offers exactly the actions this person may take on rep's MQL."""
    content = response.content.decode()
    role = role_of(w, user)
    assert LEAD_NAMES["mql"] in content
    for action, who in (("accept", OWNER_SIDE), ("reassign", EAST_MANAGER), ("engagement", MARKETING)):
        assert (f"/leads/{w.ids['mql']}/act/{action}/" in content) == (role in who), action


def queue_is_mine(w, user, response, changed):
    """A rep's work list shows their own queue, not another rep's MQL."""
    role = role_of(w, user)
    shown = LEAD_NAMES["mql"] in response.content.decode()
    if role == "rep":
        assert shown
    elif role in ("rep2", "other_rep", "employee"):
        assert not shown


def inbox_is_mine(w, user, response, changed):
    content = response.content.decode()
    for name, other in w.users.items():
        assert (f"Perm note [{other.username}]" in content) == (other == user), name


def handoff_page_is_mine(w, user, response, changed):
    content = response.content.decode()
    role = role_of(w, user)
    assert (LEAD_NAMES["mql"] in content) == (role == "marketer")
    assert (LEAD_NAMES["recycled"] in content) == (role == "marketer2")


def no_key_shown(w, user, response, changed):
    content = response.content.decode()
    assert "Website form" in content and w.inbound_key not in content


# --- bodies -------------------------------------------------------------------------------------------------


def profile_form(w, key: str, job_title: str) -> dict:
    row = lead(w, key)
    values = {
        name: getattr(row, name) if getattr(row, name) is not None else ""
        for name in ("email", *services.PROFILE_FIELDS)
    }
    return {**values, "job_title": job_title, "version": row.version}


def policy_form(name: str, hours: str) -> dict:
    return {
        "name": name,
        "priority": 7,
        "response_hours": hours,
        "follow_up_touches": 2,
        "follow_up_days": "3",
        "warn_percents": "50, 80",
        "on_breach": "notify",
        "escalate_to_manager": "on",
        "is_active": "on",
    }


def policy_json(name: str, hours: str) -> dict:
    return {
        "name": name,
        "priority": 8,
        "is_active": True,
        "min_score": None,
        "max_score": None,
        "sources": [],
        "campaign": None,
        "team": None,
        "countries": "",
        "response_hours": hours,
        "follow_up_touches": 2,
        "follow_up_days": "3",
        "warn_percents": [50, 80],
        "on_breach": "notify",
        "escalate_to_manager": True,
    }


def rule_values(w, **changes) -> dict:
    rule = ScoringRule.objects.get(pk=w.scoring_rule.pk)
    values = {name: getattr(rule, name) for name in ("kind", "label", "field", "operator", "value")}
    values |= {
        "engagement_type": rule.engagement_type,
        "points": rule.points + 1,
        "is_active": rule.is_active,
    }
    values |= {"position": rule.position}
    return values | changes


def routing_rule_form(name: str, team) -> dict:
    return {"name": name, "position": 5, "countries": "ES", "team": team.pk, "is_active": "on"}


def hours_form() -> dict:
    form = {}
    for day in range(5):
        form |= {f"open-{day}": "on", f"opens-{day}": "08:00", f"closes-{day}": "16:00"}
    return form


def next_threshold() -> int:
    return ScoringDefinition.current().threshold + 7


def restore_import_file(w) -> None:
    """A finished import deletes its file (and a rollback does not bring files back)."""
    path = Path(w.job.stored_path)
    if not path.exists():
        path.write_bytes(CSV)


def clear_throttles(w) -> None:
    cache.clear()  # the anonymous rate limit (locmem): earlier tests must not use it up


# --- the rows ---------------------------------------------------------------------------------------------

M = "mql"
ACT = "/leads/{}/act/{}/"


def act(key: str, action: str) -> Callable[[SimpleNamespace], str]:
    return lambda w: ACT.format(w.ids[key], action)


def to_lead(key: str) -> Callable[[SimpleNamespace], str]:
    return lambda w: f"/leads/{w.ids[key]}/"


def on_lead(key: str, rest: str = "") -> Callable[[SimpleNamespace], str]:
    return lambda w: f"/api/leads/{w.ids[key]}/{rest}"


REPORT_DENIAL = "The funnel dashboard is for marketing, sales and their managers."
IMPORT_DENIAL = "Only marketing can import leads."
AGREEMENT_DENIAL = "Only a manager can change the agreement."
EDIT_DENIAL = "You cannot edit this lead: only marketing, or the owner rep and their manager"
EAST_CALENDAR_DENIAL = "Only the manager of Sales East can change its calendar."

CAMPAIGN_READ_DENIAL = "Campaigns are for marketing, sales and their managers."
CAMPAIGN_EDIT_DENIAL = "Only marketing can create or edit campaigns."


def campaign_saved(name: str, **fields) -> Check:
    """The campaign `name` has `fields`, and one audit line of this person's says so."""

    def check(w, user, response, changed):
        campaign = Campaign.objects.get(name=name)
        for key, value in fields.items():
            assert getattr(campaign, key) == value, key
        assert CampaignChange.objects.filter(campaign=campaign, actor=user).count() == 1
        only_changed("leads_campaign", "org_campaignchange")(changed)

    return check


PAGE_READS = [
    page(
        "home",
        "get",
        lambda w: "/",
        EVERYONE,
        special={"sales_manager": 302, "other_manager": 302, "marketing_manager": 302},
        special_to="/reports/",
    ),
    page("team", "get", lambda w: "/team/", EVERYONE, check=queue_is_mine),
    page(
        "lead-list",
        "get",
        lambda w: "/leads/",
        EVERYONE,
        check=shows(LEAD_NAMES["mql"], LEAD_NAMES["west"], LEAD_NAMES["plain"]),
    ),
    page("lead-new", "get", lambda w: "/leads/new/", MARKETING, denial="Only marketing can create leads."),
    page("lead-detail", "get", to_lead(M), EVERYONE, check=lead_page_offers),
    page("lead-detail-west", "get", to_lead("west"), EVERYONE, check=shows(LEAD_NAMES["west"])),
    page("lead-due", "get", lambda w: f"/leads/{w.ids[M]}/due/", EVERYONE, check=shows("due")),
    page(
        "lead-edit-mql",
        "get",
        lambda w: f"/leads/{w.ids[M]}/edit/",
        PROFILE_EDITORS_MQL,
        denial=EDIT_DENIAL,
    ),
    page(
        "lead-edit-lead",
        "get",
        lambda w: f"/leads/{w.ids['plain']}/edit/",
        MARKETING,
        denial="You cannot edit this lead",
    ),
    page(
        "lead-merge",
        "get",
        lambda w: f"/leads/{w.ids['plain']}/merge/",
        MERGERS,
        denial="You cannot merge this lead: only a marketer or a manager can.",
    ),
    page("recycled", "get", lambda w: "/recycled/", PRODUCT_ROLES, check=shows(LEAD_NAMES["recycled"])),
    page(
        "queue",
        "get",
        lambda w: "/queue/",
        PRODUCT_ROLES,
        check=shows(LEAD_NAMES["plain"], hides=(LEAD_NAMES["mql"],)),
        denial="only they see it",
    ),
    page("inbox", "get", lambda w: "/inbox/", EVERYONE, check=inbox_is_mine, roles=WITH_MARKETER2),
    page(
        "handoffs",
        "get",
        lambda w: "/handoffs/",
        PRODUCT_ROLES,
        check=handoff_page_is_mine,
        roles=WITH_MARKETER2,
    ),
    page("refer", "get", lambda w: "/refer/", EVERYONE),
    page(
        "imports",
        "get",
        lambda w: "/imports/",
        MARKETING,
        denial=IMPORT_DENIAL,
        check=shows("perm-leads.csv"),
    ),
    page(
        "migrations",
        "get",
        lambda w: "/migrations/",
        MANAGERS,
        denial="Only managers can migrate a team's history from another CRM.",
        check=shows("No migration yet"),
    ),
    page(
        "import-detail",
        "get",
        lambda w: f"/imports/{w.job.pk}/",
        MARKETING,
        denial=IMPORT_DENIAL,
        check=shows("perm-import@example.com"),
    ),
    page(
        "import-progress", "get", lambda w: f"/imports/{w.job.pk}/progress/", MARKETING, denial=IMPORT_DENIAL
    ),
    page(
        "import-failed-rows",
        "get",
        lambda w: f"/imports/{w.job.pk}/failed-rows.csv",
        MARKETING,
        denial=IMPORT_DENIAL,
        check=csv_file,
    ),
    page("agreement", "get", lambda w: "/agreement/", EVERYONE),
    page("agreement-versions", "get", lambda w: "/agreement/versions/", EVERYONE),
    page(
        "agreement-compare",
        "get",
        lambda w: f"/agreement/versions/compare/?before={w.in_force.number}&after={w.version.number}",
        EVERYONE,
    ),
    page("agreement-version", "get", lambda w: f"/agreement/versions/{w.version.number}/", EVERYONE),
    page("agreement-reasons", "get", lambda w: "/agreement/reasons/", EVERYONE),
    page("agreement-handoff", "get", lambda w: "/agreement/handoff/", EVERYONE),
    page(
        "agreement-routing", "get", lambda w: "/agreement/routing/", EVERYONE, check=shows("France to West")
    ),
    page("inbound-sources", "get", lambda w: "/agreement/inbound/", EVERYONE, check=no_key_shown),
    page("agreement-scoring", "get", lambda w: "/agreement/scoring/", EVERYONE),
    page("scoring-progress", "get", lambda w: "/agreement/scoring/progress/", EVERYONE),
    page(
        "sla-overview",
        "get",
        lambda w: "/sla/",
        MANAGERS,
        denial="The SLA page is for managers. Your own deadlines are on your home page.",
    ),
    page("sla-policies", "get", lambda w: "/agreement/sla/", EVERYONE, check=shows("Hot")),
    page("calendars", "get", lambda w: "/agreement/calendars/", EVERYONE, check=shows("West offsite")),
    page(
        "dashboard", "get", lambda w: f"/reports/?week={this_monday()}", REPORT_READERS, denial=REPORT_DENIAL
    ),
    page("lead-export-csv", "get", lambda w: "/leads/export.csv", EVERYONE, check=lead_export_rows),
    page("lead-export-xlsx", "get", lambda w: "/leads/export.xlsx", EVERYONE, check=xlsx_file),
    page(
        "dashboard-xlsx",
        "get",
        lambda w: f"/reports/export/funnel.xlsx?week={this_monday()}",
        REPORT_READERS,
        denial=REPORT_DENIAL,
        check=xlsx_file,
    ),
    page(
        "funnel-as-of-xlsx",
        "get",
        lambda w: f"/reports/funnel/export.xlsx?week={this_monday()}",
        REPORT_READERS,
        denial=REPORT_DENIAL,
        check=xlsx_file,
    ),
    page(
        "import-failed-rows-xlsx",
        "get",
        lambda w: f"/imports/{w.job.pk}/failed-rows.xlsx",
        MARKETING,
        denial=IMPORT_DENIAL,
        check=xlsx_file,
    ),
    page(
        "dashboard-csv",
        "get",
        lambda w: f"/reports/export/funnel.csv?week={this_monday()}",
        REPORT_READERS,
        denial=REPORT_DENIAL,
        check=csv_file,
    ),
    page(
        "funnel-as-of",
        "get",
        lambda w: f"/reports/funnel/?week={this_monday()}",
        REPORT_READERS,
        denial=REPORT_DENIAL,
    ),
    page(
        "funnel-as-of-csv",
        "get",
        lambda w: f"/reports/funnel/export.csv?week={this_monday()}",
        REPORT_READERS,
        denial=REPORT_DENIAL,
        check=csv_file,
    ),
    page("goal", "get", lambda w: "/agreement/goal/", REPORT_READERS, denial=REPORT_DENIAL),
    page(
        "campaigns",
        "get",
        lambda w: "/campaigns/",
        PRODUCT_ROLES,
        denial=CAMPAIGN_READ_DENIAL,
        check=shows("Spring webinar"),
    ),
    page("campaign-new", "get", lambda w: "/campaigns/new/", MARKETING, denial=CAMPAIGN_EDIT_DENIAL),
    page(
        "campaign-detail",
        "get",
        lambda w: f"/campaigns/{w.campaign.pk}/",
        PRODUCT_ROLES,
        denial=CAMPAIGN_READ_DENIAL,
        check=shows("Spring webinar", "Closed loop"),
    ),
    page(
        "campaign-edit",
        "get",
        lambda w: f"/campaigns/{w.campaign.pk}/edit/",
        MARKETING,
        denial=CAMPAIGN_EDIT_DENIAL,
        check=shows("Spring webinar"),
    ),
    page(
        "login",
        "get",
        lambda w: "/login/",
        frozenset({ANON}),
        public=True,
        special=dict.fromkeys(USERS, 302),
        special_to="/",
    ),
    # What browsers ask for whatever the page says: the icon, to anyone.
    page(
        "favicon",
        "get",
        lambda w: "/favicon.ico",
        frozenset(ROLES),
        301,
        public=True,
        ok_to=lambda w: "/static/favicon.svg",
    ),
    # The operator's endpoints (docs/operations.md): probes for anyone, no login; metrics
    # by its bearer token only (METRICS_TOKEN, configured for this module), never a session.
    page("healthz", "get", lambda w: "/healthz", frozenset(ROLES), public=True),
    page("readyz", "get", lambda w: "/readyz", frozenset(ROLES), public=True),
    page(
        "metrics",
        "get",
        lambda w: "/metrics",
        frozenset(ROLES),
        public=True,
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
    ),
    page("metrics-without-token", "get", lambda w: "/metrics", NOBODY, public=True, denied=401),
]

PAGE_ACTIONS = [
    page(
        "act-qualify",
        "post",
        act("plain", "qualify"),
        MARKETING,
        302,
        body=lambda w: {"version": version_of(w, "plain"), "note": "Ready"},
        ok_to=to_lead("plain"),
        check=moved("plain", Stage.MQL, EventType.QUALIFIED, qualified_by=lambda w, user: user),
        denial="You cannot qualify this lead: only marketing can.",
    ),
    page(
        "act-accept",
        "post",
        act(M, "accept"),
        OWNER_SIDE,
        302,
        body=lambda w: {"version": version_of(w, M)},
        ok_to=to_lead(M),
        check=moved(M, Stage.SQL, EventType.ACCEPTED),
        denial="You cannot accept this lead: only the assigned rep or their manager can.",
    ),
    page(
        "act-accept-htmx",
        "post",
        act(M, "accept"),
        OWNER_SIDE,
        200,
        headers={"HX-Request": "true"},
        body=lambda w: {"version": version_of(w, M)},
        check=moved(M, Stage.SQL, EventType.ACCEPTED),
        denial="You cannot accept this lead",
    ),
    page(
        "act-reject",
        "post",
        act(M, "reject"),
        OWNER_SIDE,
        302,
        body=lambda w: {"version": version_of(w, M), "reason": w.reasons.rejection.pk, "note": "Student"},
        ok_to=to_lead(M),
        check=rejected_and_told,
        denial="You cannot reject this lead: only the assigned rep or their manager can.",
    ),
    page(
        "act-disqualify-mql",
        "post",
        act(M, "disqualify"),
        OWNER_SIDE,
        302,
        body=lambda w: {"version": version_of(w, M), "reason": w.reasons.disqualification.pk},
        ok_to=to_lead(M),
        check=moved(M, Stage.DISQUALIFIED, EventType.DISQUALIFIED),
        denial="You cannot disqualify this lead: only the owner rep or their manager can.",
    ),
    page(
        "act-disqualify-lead",
        "post",
        act("plain", "disqualify"),
        MARKETING,
        302,
        body=lambda w: {"version": version_of(w, "plain"), "reason": w.reasons.disqualification.pk},
        ok_to=to_lead("plain"),
        check=moved("plain", Stage.DISQUALIFIED, EventType.DISQUALIFIED),
        denial="You cannot disqualify this lead: only marketing (sales disqualifies MQLs and SQLs) can.",
    ),
    page(
        "act-reassign",
        "post",
        act(M, "reassign"),
        EAST_MANAGER,
        302,
        body=lambda w: {"version": version_of(w, M), "owner": w.users["rep2"].pk},
        ok_to=to_lead(M),
        check=moved(M, Stage.MQL, EventType.REASSIGNED, owner=lambda w, user: w.users["rep2"]),
        denial="You cannot reassign this lead: only the manager of the owner's sales team can.",
    ),
    page(
        "act-win",
        "post",
        act("sql", "win"),
        OWNER_SIDE,
        302,
        body=lambda w: {"version": version_of(w, "sql"), "amount": "9600", "closed_on": today().isoformat()},
        ok_to=to_lead("sql"),
        check=moved("sql", Stage.CUSTOMER, EventType.WON, deal_amount=Decimal("9600.00")),
        denial="You cannot win this lead: only the owner rep or their manager can.",
    ),
    page(
        "act-lose",
        "post",
        act("sql", "lose"),
        OWNER_SIDE,
        302,
        body=lambda w: {"version": version_of(w, "sql"), "reason": w.reasons.loss.pk},
        ok_to=to_lead("sql"),
        check=moved("sql", Stage.LEAD, EventType.LOST),
        denial="You cannot lose this lead: only the owner rep or their manager can.",
    ),
    page(
        "act-touch",
        "post",
        act("sql", "touch"),
        OWNER_SIDE,
        302,
        body=lambda w: {"kind": "call", "outcome": "connected", "note": "Spoke"},
        ok_to=to_lead("sql"),
        check=touch_logged,
        denial="You cannot log a touch on this lead: only the owner rep or their manager can.",
    ),
    page(
        "act-snooze",
        "post",
        act("sql", "snooze"),
        OWNER_SIDE,
        302,
        body=lambda w: {
            "version": version_of(w, "sql"),
            "until": (today() + dt.timedelta(days=7)).isoformat(),
            "reason": "Asked to call back",
        },
        ok_to=to_lead("sql"),
        check=moved("sql", Stage.SQL, EventType.SNOOZED),
        denial="You cannot snooze this lead: only the owner rep or their manager can.",
    ),
    page(
        "act-engagement",
        "post",
        act(M, "engagement"),
        MARKETING,
        302,
        body=lambda w: {"type": EngagementType.EVENT_ATTENDED, "title": "Booth visit"},
        ok_to=to_lead(M),
        check=engagement_by(M, "Booth visit"),
        denial="You cannot log an engagement on this lead: only marketing can.",
    ),
    page(
        "lead-note-add",
        "post",
        lambda w: f"/leads/{w.ids[M]}/notes/",
        PRODUCT_ROLES,
        302,
        body=lambda w: {"body": "Perm note for @rep"},
        ok_to=lambda w: f"/leads/{w.ids[M]}/#notes-h",
        check=noted(M),
        denial="You cannot write a note on this lead: only marketing, sales and their managers can.",
    ),
    page(
        "lead-consent",
        "post",
        lambda w: f"/leads/{w.ids[M]}/consent/",
        PROFILE_EDITORS_MQL,
        302,
        body=lambda w: {"consent": "withdrawn", "consent_wording": "Perm: asked by phone"},
        ok_to=lambda w: f"/leads/{w.ids[M]}/#consent-h",
        check=consent_recorded(M),
        denial="You cannot record consent for this lead",
    ),
]

PAGE_WRITES = [
    page(
        "campaign-new-post",
        "post",
        lambda w: "/campaigns/new/",
        MARKETING,
        302,
        body=lambda w: {
            "name": "June Customer Seminar",
            "channel": "event",
            "cost": "4200.50",
            "budget": "5000",
        },
        check=campaign_saved("June Customer Seminar", cost=Decimal("4200.50"), budget=Decimal("5000.00")),
        denial=CAMPAIGN_EDIT_DENIAL,
    ),
    page(
        "campaign-edit-post",
        "post",
        lambda w: f"/campaigns/{w.campaign.pk}/edit/",
        MARKETING,
        302,
        body=lambda w: {"name": "Spring webinar", "channel": "webinar", "cost": "1500", "version": 1},
        ok_to=lambda w: f"/campaigns/{w.campaign.pk}/",
        check=campaign_saved("Spring webinar", cost=Decimal("1500.00"), channel="webinar", version=2),
        denial=CAMPAIGN_EDIT_DENIAL,
    ),
    page(
        "lead-new-post",
        "post",
        lambda w: "/leads/new/",
        MARKETING,
        302,
        body=lambda w: {
            "email": "perm-page@example.com",
            "first_name": "New",
            "last_name": "Pagelead",
            "company": "Permco",
            "source": Source.EVENT,
        },
        check=lead_created("perm-page@example.com", created_by=lambda w, user: user),
        denial="Only marketing can create leads.",
    ),
    page(
        "lead-edit-post-mql",
        "post",
        lambda w: f"/leads/{w.ids[M]}/edit/",
        PROFILE_EDITORS_MQL,
        302,
        body=lambda w: profile_form(w, M, "Chief Permission Officer"),
        ok_to=to_lead(M),
        check=profile_edited(M, "Chief Permission Officer"),
        denial=EDIT_DENIAL,
    ),
    page(
        "lead-edit-post-lead",
        "post",
        lambda w: f"/leads/{w.ids['plain']}/edit/",
        MARKETING,
        302,
        body=lambda w: profile_form(w, "plain", "Chief Permission Officer"),
        ok_to=to_lead("plain"),
        check=profile_edited("plain", "Chief Permission Officer"),
        denial="You cannot edit this lead",
    ),
    page(
        "lead-merge-post",
        "post",
        lambda w: f"/leads/{w.ids['plain']}/merge/",
        MERGERS,
        302,
        body=lambda w: {"other": w.ids["dup"], "survivor": "this", "note": "Same person"},
        ok_to=to_lead("plain"),
        check=merged("dup"),
        denial="You cannot merge this lead: only a marketer or a manager can.",
    ),
    page(
        # Merging rep's MQL away (it stops being a lead of its own): while it is with sales,
        # only a manager (or the owner side) may. Marketing may not.
        "lead-merge-post-mql-away",
        "post",
        lambda w: f"/leads/{w.ids['plain']}/merge/",
        OWNERS_MANAGER,
        302,
        body=lambda w: {"other": w.ids[M], "survivor": "this"},
        ok_to=to_lead("plain"),
        check=merged(M),
        denial="You cannot merge",
    ),
    page(
        "refer-post",
        "post",
        lambda w: "/refer/",
        EVERYONE,
        302,
        body=lambda w: {
            "first_name": "Reggie",
            "last_name": "Referred",
            "email": "perm-referral@example.com",
            "context": "Perm need: a quote for two boilers.",
        },
        ok_to=lambda w: "/refer/",
        check=referred(lambda w: "perm-referral@example.com", ReferralOutcome.CREATED),
    ),
    page(
        # Someone marketing knows: the note is attached to their lead, no second lead.
        "refer-post-known",
        "post",
        lambda w: "/refer/",
        EVERYONE,
        302,
        body=lambda w: {
            "first_name": "Plain",
            "last_name": "Known",
            "email": lead(w, "plain").email,
            "context": "Perm need: they asked about a service contract.",
        },
        ok_to=lambda w: "/refer/",
        check=referred(lambda w: lead(w, "plain").email, ReferralOutcome.ATTACHED),
    ),
    page(
        "inbox-read",
        "post",
        lambda w: f"/inbox/{w.notes['rep']}/read/",
        frozenset({"rep"}),
        302,
        ok_to=lambda w: "/inbox/",
        check=notification_read,
        denied=404,
    ),
    page(
        "inbox-read-all",
        "post",
        lambda w: "/inbox/read/",
        EVERYONE,
        302,
        ok_to=lambda w: "/inbox/",
        check=all_mine_read,
        roles=WITH_MARKETER2,
    ),
    page(
        "imports-upload",
        "post",
        lambda w: "/imports/",
        MARKETING,
        302,
        body=lambda w: {"file": SimpleUploadedFile("perm-upload.csv", CSV, content_type="text/csv")},
        check=import_uploaded,
        denial=IMPORT_DENIAL,
    ),
    page(
        "migrations-upload",
        "post",
        lambda w: "/migrations/",
        MANAGERS,
        302,
        body=lambda w: {"file": SimpleUploadedFile("hubspot.csv", HUBSPOT_CSV, content_type="text/csv")},
        check=migration_uploaded,
        denial="Only managers can migrate a team's history from another CRM.",
    ),
    page(
        "import-configure",
        "post",
        lambda w: f"/imports/{w.job.pk}/mapping/",
        MARKETING,
        302,
        body=lambda w: {
            "map-0": "email",
            "map-1": "first_name",
            "map-2": "last_name",
            "default_source": Source.EVENT,
            "campaign": "",
        },
        ok_to=lambda w: f"/imports/{w.job.pk}/",
        check=import_configured,
        denial=IMPORT_DENIAL,
    ),
    page(
        "version-note",
        "post",
        lambda w: f"/agreement/versions/{w.version.number}/note/",
        MANAGERS,
        302,
        body=lambda w: {"note": "Noted by {username}"},  # filled in per user by `send`
        ok_to=lambda w: "/agreement/",
        check=version_noted,
        deny_to="/agreement/",
        denial=AGREEMENT_DENIAL,
    ),
    page(
        "version-confirm",
        "post",
        lambda w: f"/agreement/versions/{w.version.number}/confirm/",
        CONFIRMERS,
        302,
        ok_to=lambda w: "/agreement/",
        check=version_confirmed,
        deny_to="/agreement/",
        denial="Only the sales manager and the marketing manager confirm the agreement.",
    ),
    page(
        "version-withdraw",
        "post",
        lambda w: f"/agreement/versions/{w.version.number}/withdraw/",
        MANAGERS,
        302,
        body=lambda w: {"back": "version"},
        ok_to=lambda w: f"/agreement/versions/{w.version.number}/",
        check=version_withdrawn,
        deny_to="/agreement/versions/{number}/",
        denial=AGREEMENT_DENIAL,
    ),
    page(
        "reason-add",
        "post",
        lambda w: "/agreement/reasons/add/",
        MANAGERS,
        302,
        body=lambda w: {
            "kind": ReasonKind.REJECTION,
            "label": "Perm reason",
            "position": 9,
            "is_active": "on",
        },
        ok_to=lambda w: "/agreement/reasons/",
        check=proposed(still=Reason),
        denial="Only a manager can change the agreed reasons.",
    ),
    page(
        "reason-save",
        "post",
        lambda w: f"/agreement/reasons/{w.reasons.rejection.pk}/",
        MANAGERS,
        302,
        body=lambda w: {"label": "Renamed reason", "position": 9, "is_active": "on"},
        ok_to=lambda w: "/agreement/reasons/",
        check=proposed(still=Reason),
        denial="Only a manager can change the agreed reasons.",
    ),
    page(
        "handoff-gate-post",
        "post",
        lambda w: "/agreement/handoff/",
        MANAGERS,
        302,
        body=lambda w: {"required_fields": w.gate_fields, "min_engagements": w.gate_min_next},
        ok_to=lambda w: "/agreement/handoff/",
        check=proposed(still=HandoffGate),
        denial="Only a manager can change the hand-off gate.",
    ),
    page(
        "scoring-settings",
        "post",
        lambda w: "/agreement/scoring/settings/",
        MANAGERS,
        302,
        body=lambda w: {"threshold": next_threshold(), "decay_half_life_days": ""},
        ok_to=lambda w: "/agreement/scoring/",
        check=proposed(still=ScoringDefinition),
        denial="Only a manager can change the scoring definition.",
    ),
    page(
        "scoring-rule-add",
        "post",
        lambda w: "/agreement/scoring/rules/",
        MANAGERS,
        302,
        body=lambda w: {
            "kind": "engagement",
            "label": "Perm demo",
            "engagement_type": EngagementType.DEMO_REQUEST,
            "points": 11,
            "is_active": "on",
        },
        ok_to=lambda w: "/agreement/scoring/",
        check=proposed(still=ScoringRule),
        denial="Only a manager can change the scoring definition.",
    ),
    page(
        "scoring-rule-save",
        "post",
        lambda w: f"/agreement/scoring/rules/{w.scoring_rule.pk}/",
        MANAGERS,
        302,
        body=lambda w: {k: v for k, v in rule_values(w).items() if v not in (None, False)},
        ok_to=lambda w: "/agreement/scoring/",
        check=proposed(still=ScoringRule),
        denial="Only a manager can change the scoring definition.",
    ),
    page(
        "scoring-rule-delete",
        "post",
        lambda w: f"/agreement/scoring/rules/{w.scoring_rule.pk}/delete/",
        MANAGERS,
        302,
        ok_to=lambda w: "/agreement/scoring/",
        check=proposed(still=ScoringRule),
        deny_to="/agreement/scoring/",
        denial=AGREEMENT_DENIAL,
    ),
    page(
        "sla-policy-add",
        "post",
        lambda w: "/agreement/sla/policies/",
        MANAGERS,
        302,
        body=lambda w: policy_form("Perm policy", "4"),
        ok_to=lambda w: "/agreement/sla/",
        check=proposed(still=SlaPolicy),
        denial="Only a manager can change SLA policies.",
    ),
    page(
        "sla-policy-save",
        "post",
        lambda w: f"/agreement/sla/policies/{w.policy.pk}/",
        MANAGERS,
        302,
        body=lambda w: policy_form("Hot", "2"),
        ok_to=lambda w: "/agreement/sla/",
        check=proposed(still=SlaPolicy),
        denial="Only a manager can change SLA policies.",
    ),
    page(
        "sla-policy-delete",
        "post",
        lambda w: f"/agreement/sla/policies/{w.policy.pk}/delete/",
        MANAGERS,
        302,
        ok_to=lambda w: "/agreement/sla/",
        check=proposed(still=SlaPolicy),
        deny_to="/agreement/sla/",
        denial=AGREEMENT_DENIAL,
    ),
    page(
        "commitment-save",
        "post",
        lambda w: f"/sla/commitments/{w.teams.marketing.pk}/",
        MANAGERS,
        302,
        body=lambda w: {"min_mqls": "9", "min_acceptance_percent": "60", "is_active": "on"},
        ok_to=lambda w: "/sla/",
        check=proposed(still=MarketingCommitment),
        deny_to="/sla/",
        denial=AGREEMENT_DENIAL,
    ),
    page(
        "routing-rule-add",
        "post",
        lambda w: "/agreement/routing/rules/",
        MANAGERS,
        302,
        body=lambda w: routing_rule_form("Spain to East", w.teams.east),
        ok_to=lambda w: "/agreement/routing/",
        check=routing_rule_added("Spain to East"),
        denial="Only a manager can change routing.",
    ),
    page(
        "routing-rule-save",
        "post",
        lambda w: f"/agreement/routing/rules/{w.routing_rule.pk}/",
        MANAGERS,
        302,
        body=lambda w: routing_rule_form("Renamed rule", w.teams.west),
        ok_to=lambda w: "/agreement/routing/",
        check=routing_rule_renamed,
        denial="Only a manager can change routing.",
    ),
    page(
        "routing-rule-delete",
        "post",
        lambda w: f"/agreement/routing/rules/{w.routing_rule.pk}/delete/",
        MANAGERS,
        302,
        ok_to=lambda w: "/agreement/routing/",
        check=routing_rule_removed,
        deny_to="/agreement/routing/",
        denial="Only a manager can change routing.",
    ),
    page(
        # A rep's share of routed MQLs: their own team's manager only.
        "membership-save",
        "post",
        lambda w: f"/agreement/routing/members/{w.users['rep'].membership.pk}/",
        EAST_MANAGER,
        302,
        body=lambda w: {"weight": "3"},
        ok_to=lambda w: "/agreement/routing/",
        check=membership_weight("rep"),
        denial="Only the manager of this person's team can change their routing.",
    ),
    page(
        "membership-save-west",
        "post",
        lambda w: f"/agreement/routing/members/{w.users['other_rep'].membership.pk}/",
        frozenset({"other_manager", "admin"}),
        302,
        body=lambda w: {"weight": "3", "is_away": "on"},
        ok_to=lambda w: "/agreement/routing/",
        check=membership_weight("other_rep"),
        denial="Only the manager of this person's team can change their routing.",
    ),
    page(
        "inbound-create",
        "post",
        lambda w: "/agreement/inbound/",
        MANAGERS,
        200,
        body=lambda w: {
            "name": "Perm form",
            "source": Source.WEBSITE,
            "engagement_type": "form_submit",
            "fields": ["first_name"],
            "per_email_per_day": 1,
            "per_minute": 60,
        },
        check=inbound_created,
        denial="Only a manager can change inbound sources.",
    ),
    page(
        "inbound-source-consent-wording",
        "post",
        lambda w: f"/agreement/inbound/{w.inbound.pk}/consent-wording/",
        MANAGERS,
        302,
        body=lambda w: {"consent_wording": "Perm newsletter consent v4"},
        ok_to=lambda w: "/agreement/inbound/",
        check=inbound_wording_set,
        deny_to="/agreement/inbound/",
        denial="Only a manager can change inbound sources.",
    ),
    page(
        "inbound-revoke",
        "post",
        lambda w: f"/agreement/inbound/{w.inbound.pk}/revoke/",
        MANAGERS,
        302,
        ok_to=lambda w: "/agreement/inbound/",
        check=inbound_revoked,
        deny_to="/agreement/inbound/",
        denial="Only a manager can change inbound sources.",
    ),
    page(
        "calendar-save",
        "post",
        lambda w: f"/agreement/calendars/{w.teams.east.pk}/",
        EAST_MANAGER,
        302,
        body=lambda w: hours_form(),
        ok_to=lambda w: "/agreement/calendars/",
        check=calendar_changed,
        deny_to="/agreement/calendars/",
        denial=EAST_CALENDAR_DENIAL,
    ),
    page(
        "closure-add",
        "post",
        lambda w: f"/agreement/calendars/{w.teams.east.pk}/closures/",
        EAST_MANAGER,
        302,
        body=lambda w: {"date": (today() + dt.timedelta(days=40)).isoformat(), "reason": "Perm closure"},
        ok_to=lambda w: "/agreement/calendars/",
        check=closure_added,
        deny_to="/agreement/calendars/",
        denial=EAST_CALENDAR_DENIAL,
    ),
    page(
        "closure-remove",
        "post",
        lambda w: f"/agreement/calendars/{w.teams.east.pk}/closures/{w.closure.pk}/delete/",
        EAST_MANAGER,
        302,
        ok_to=lambda w: "/agreement/calendars/",
        check=closure_removed,
        deny_to="/agreement/calendars/",
        denial=EAST_CALENDAR_DENIAL,
    ),
    page(
        "logout",
        "post",
        lambda w: "/logout/",
        frozenset(ROLES),
        302,
        public=True,
        ok_to=lambda w: "/login/",
        check=logged_out,
    ),
    page(
        "login-post",
        "post",
        lambda w: "/login/",
        frozenset(ROLES),
        302,
        public=True,
        body=lambda w: {"username": "rep", "password": PASSWORD},
        ok_to=lambda w: "/",
        check=logged_in_as_rep_or_self,
        prepare=clear_throttles,
    ),
]

API_READS = [
    api("me", "get", lambda w: "/api/me/", EVERYONE, check=me),
    api("agreement", "get", lambda w: "/api/agreement/", EVERYONE),
    api(
        "versions",
        "get",
        lambda w: "/api/agreement/versions/",
        EVERYONE,
        check=counts(2),
    ),
    api("version", "get", lambda w: f"/api/agreement/versions/{w.version.number}/", EVERYONE),
    api(
        "version-diff",
        "get",
        lambda w: f"/api/agreement/versions/{w.in_force.number}/diff/{w.version.number}/",
        EVERYONE,
    ),
    api("scoring", "get", lambda w: "/api/scoring/", EVERYONE),
    api("handoff-gate", "get", lambda w: "/api/handoff-gate/", EVERYONE),
    api("recycled", "get", lambda w: "/api/recycled/", PRODUCT_ROLES, check=recycled_listed),
    api("queue", "get", lambda w: "/api/queue/?kind=new", PRODUCT_ROLES, check=queue_listed),
    api("lead-notes", "get", on_lead(M, "notes/"), PRODUCT_ROLES, check=notes_listed),
    api(
        "handoffs", "get", lambda w: "/api/handoffs/", PRODUCT_ROLES, check=my_handoffs, roles=WITH_MARKETER2
    ),
    api("leads", "get", lambda w: "/api/leads/", EVERYONE, check=every_live_lead),
    api("lead", "get", on_lead(M), EVERYONE),
    api("lead-west", "get", on_lead("west"), EVERYONE),
    api("lead-events", "get", on_lead(M, "events/"), EVERYONE),
    api("lead-consent", "get", on_lead(M, "consent/"), EVERYONE),
    api("reasons", "get", lambda w: "/api/reasons/", EVERYONE),
    api("reason", "get", lambda w: f"/api/reasons/{w.reasons.rejection.pk}/", EVERYONE),
    api("campaigns", "get", lambda w: "/api/campaigns/", PRODUCT_ROLES, denial=CAMPAIGN_READ_DENIAL),
    api(
        "campaign",
        "get",
        lambda w: f"/api/campaigns/{w.campaign.pk}/",
        PRODUCT_ROLES,
        denial=CAMPAIGN_READ_DENIAL,
    ),
    api(
        "campaign-funnel",
        "get",
        lambda w: f"/api/campaigns/{w.campaign.pk}/funnel/",
        PRODUCT_ROLES,
        denial=CAMPAIGN_READ_DENIAL,
    ),
    api("teams", "get", lambda w: "/api/teams/", EVERYONE),
    api("team", "get", lambda w: f"/api/teams/{w.teams.west.pk}/", EVERYONE),
    api("scoring-rules", "get", lambda w: "/api/scoring/rules/", EVERYONE),
    api("scoring-rule", "get", lambda w: f"/api/scoring/rules/{w.scoring_rule.pk}/", EVERYONE),
    api("routing-rules", "get", lambda w: "/api/routing/rules/", EVERYONE),
    api("routing-rule", "get", lambda w: f"/api/routing/rules/{w.routing_rule.pk}/", EVERYONE),
    api(
        "imports",
        "get",
        lambda w: "/api/imports/",
        MARKETING | MANAGERS,
        check=every_import,
        denial=IMPORT_DENIAL,
    ),
    api("import", "get", lambda w: f"/api/imports/{w.job.pk}/", MARKETING, denial=IMPORT_DENIAL),
    api("import-rows", "get", lambda w: f"/api/imports/{w.job.pk}/rows/", MARKETING, denial=IMPORT_DENIAL),
    api("lead-export", "get", lambda w: "/api/leads/export/?format=xlsx", EVERYONE, check=xlsx_file),
    api(
        "import-failed-rows",
        "get",
        lambda w: f"/api/imports/{w.job.pk}/failed-rows/",
        MARKETING,
        denial=IMPORT_DENIAL,
        check=csv_file,
    ),
    api(
        "notifications",
        "get",
        lambda w: "/api/notifications/",
        EVERYONE,
        check=my_notifications,
        roles=WITH_MARKETER2,
    ),
    api("sla-policies", "get", lambda w: "/api/sla/policies/", EVERYONE),
    api("sla-policy", "get", lambda w: f"/api/sla/policies/{w.policy.pk}/", EVERYONE),
    # Clocks are readable by everyone logged in, like the leads they belong to (the /sla/
    # page is the managers' view of them). See the report: the plain employee too.
    api("sla-clocks", "get", lambda w: "/api/sla/clocks/?state=all", PRODUCT_ROLES, check=every_clock),
    api(
        "sla-commitments",
        "get",
        lambda w: "/api/sla/commitments/",
        EVERYONE,
        check=counts(1),
    ),
    api("sla-commitment", "get", lambda w: f"/api/sla/commitments/{w.teams.marketing.pk}/", EVERYONE),
    api("calendars", "get", lambda w: "/api/calendars/", EVERYONE, check=counts(3)),
    api("calendar", "get", lambda w: f"/api/calendars/{w.teams.west.pk}/", EVERYONE),
    api("deadline-preview", "get", lambda w: f"/api/calendars/{w.teams.east.pk}/preview/", EVERYONE),
    api("dashboard", "get", lambda w: f"/api/reports/dashboard/?week={this_monday()}", REPORT_READERS),
    api(
        "dashboard-table",
        "get",
        lambda w: f"/api/reports/dashboard/funnel/?week={this_monday()}",
        REPORT_READERS,
    ),
    api("funnel-as-of", "get", lambda w: "/api/reports/funnel-as-of/", REPORT_READERS),
    api("goal", "get", lambda w: "/api/agreement/goal/?target=10000&weeks=4&window=4", REPORT_READERS),
]


def api_action(name, key, action, allowed, body, check, denial, ok=200, **kw) -> Case:
    return api(
        name, "post", on_lead(key, f"{action}/"), allowed, ok, body=body, check=check, denial=denial, **kw
    )


API_ACTIONS = [
    api_action(
        "qualify",
        "plain",
        "qualify",
        MARKETING,
        lambda w: {"version": version_of(w, "plain")},
        moved("plain", Stage.MQL, EventType.QUALIFIED),
        "You cannot qualify this lead: only marketing can.",
    ),
    api_action(
        # A manager may choose the rep instead of routing; a marketer may not.
        "qualify-with-owner",
        "plain",
        "qualify",
        frozenset({"marketing_manager", "admin"}),
        lambda w: {"version": version_of(w, "plain"), "owner": w.users["rep2"].pk},
        moved("plain", Stage.MQL, EventType.QUALIFIED, owner=lambda w, user: w.users["rep2"]),
        "You cannot",
    ),
    api_action(
        "accept",
        M,
        "accept",
        OWNER_SIDE,
        lambda w: {"version": version_of(w, M)},
        moved(M, Stage.SQL, EventType.ACCEPTED),
        "You cannot accept this lead: only the assigned rep or their manager can.",
    ),
    api_action(
        # Another team's MQL: its own rep and manager, not rep or rep's manager.
        "accept-west",
        "west",
        "accept",
        WEST_OWNER_SIDE,
        lambda w: {"version": version_of(w, "west")},
        moved("west", Stage.SQL, EventType.ACCEPTED),
        "You cannot accept this lead: only the assigned rep or their manager can.",
    ),
    api_action(
        "reject",
        M,
        "reject",
        OWNER_SIDE,
        lambda w: {"version": version_of(w, M), "reason": w.reasons.rejection.pk, "note": "Student"},
        rejected_and_told,
        "You cannot reject this lead: only the assigned rep or their manager can.",
    ),
    api_action(
        "disqualify-mql",
        M,
        "disqualify",
        OWNER_SIDE,
        lambda w: {"version": version_of(w, M), "reason": w.reasons.disqualification.pk},
        moved(M, Stage.DISQUALIFIED, EventType.DISQUALIFIED),
        "You cannot disqualify this lead: only the owner rep or their manager can.",
    ),
    api_action(
        "disqualify-lead",
        "plain",
        "disqualify",
        MARKETING,
        lambda w: {"version": version_of(w, "plain"), "reason": w.reasons.disqualification.pk},
        moved("plain", Stage.DISQUALIFIED, EventType.DISQUALIFIED),
        "You cannot disqualify this lead: only marketing (sales disqualifies MQLs and SQLs) can.",
    ),
    api_action(
        "reassign",
        M,
        "reassign",
        EAST_MANAGER,
        lambda w: {"version": version_of(w, M), "owner": w.users["rep2"].pk},
        moved(M, Stage.MQL, EventType.REASSIGNED, owner=lambda w, user: w.users["rep2"]),
        "You cannot reassign this lead: only the manager of the owner's sales team can.",
    ),
    api_action(
        "win",
        "sql",
        "win",
        OWNER_SIDE,
        lambda w: {"version": version_of(w, "sql"), "amount": "9600.00", "closed_on": today().isoformat()},
        moved("sql", Stage.CUSTOMER, EventType.WON),
        "You cannot win this lead: only the owner rep or their manager can.",
    ),
    api_action(
        "lose",
        "sql",
        "lose",
        OWNER_SIDE,
        lambda w: {"version": version_of(w, "sql"), "reason": w.reasons.loss.pk},
        moved("sql", Stage.LEAD, EventType.LOST),
        "You cannot lose this lead: only the owner rep or their manager can.",
    ),
    api_action(
        "touches",
        "sql",
        "touches",
        OWNER_SIDE,
        lambda w: {"kind": "call", "outcome": "connected"},
        touch_logged,
        "You cannot log a touch on this lead: only the owner rep or their manager can.",
        ok=201,
    ),
    api_action(
        "notes",
        M,
        "notes",
        PRODUCT_ROLES,
        lambda w: {"body": "Perm note for @rep"},
        noted(M),
        "Only marketing, sales and managers see this.",
        ok=201,
    ),
    api_action(
        "snooze",
        "sql",
        "snooze",
        OWNER_SIDE,
        lambda w: {
            "version": version_of(w, "sql"),
            "until": (today() + dt.timedelta(days=7)).isoformat(),
            "reason": "Asked to call back",
        },
        moved("sql", Stage.SQL, EventType.SNOOZED),
        "You cannot snooze this lead: only the owner rep or their manager can.",
    ),
    api_action(
        "reopen",
        "disq",
        "reopen",
        MARKETING | MANAGERS,
        lambda w: {"version": version_of(w, "disq")},
        moved("disq", Stage.LEAD, EventType.REOPENED),
        "You cannot reopen this lead: only a marketer or a manager can.",
    ),
    api_action(
        "consent",
        M,
        "consent",
        PROFILE_EDITORS_MQL,
        lambda w: {"consent": "withdrawn", "consent_wording": "Perm: asked by phone"},
        consent_recorded(M),
        "You cannot record consent for this lead",
        ok=201,
    ),
    api_action(
        "merge",
        "plain",
        "merge",
        MERGERS,
        lambda w: {"other": w.ids["dup"], "note": "Same person"},
        merged("dup"),
        "You cannot merge this lead: only a marketer or a manager can.",
    ),
    api_action(
        "merge-mql-away",
        "plain",
        "merge",
        OWNERS_MANAGER,
        lambda w: {"other": w.ids[M]},
        merged(M),
        "You cannot merge",
    ),
]

API_WRITES = [
    api(
        "campaign-create",
        "post",
        lambda w: "/api/campaigns/",
        MARKETING,
        201,
        body=lambda w: {"name": "June Customer Seminar", "channel": "event", "cost": "4200.50"},
        check=campaign_saved("June Customer Seminar", cost=Decimal("4200.50")),
        denial=CAMPAIGN_EDIT_DENIAL,
    ),
    api(
        "campaign-patch",
        "patch",
        lambda w: f"/api/campaigns/{w.campaign.pk}/",
        MARKETING,
        body=lambda w: {"cost": "1500", "version": 1},
        check=campaign_saved("Spring webinar", cost=Decimal("1500.00"), version=2),
        denial=CAMPAIGN_EDIT_DENIAL,
    ),
    api("referrals", "get", lambda w: "/api/referrals/", EVERYONE, check=referrals_are_mine),
    api(
        "referral-create",
        "post",
        lambda w: "/api/referrals/",
        EVERYONE,
        201,
        body=lambda w: {"email": "perm-api-referral@example.com", "context": "Perm need: a demo."},
        check=referred(lambda w: "perm-api-referral@example.com", ReferralOutcome.CREATED),
    ),
    api(
        "referral-create-known",
        "post",
        lambda w: "/api/referrals/",
        EVERYONE,
        201,
        body=lambda w: {"email": lead(w, "sql").email, "context": "Perm need: more seats."},
        check=referred(lambda w: lead(w, "sql").email, ReferralOutcome.ATTACHED),
    ),
    api(
        "lead-create",
        "post",
        lambda w: "/api/leads/",
        MARKETING,
        201,
        body=lambda w: {"email": "perm-api@example.com", "first_name": "New", "last_name": "Apilead"},
        check=lead_created("perm-api@example.com", created_by=lambda w, user: user),
        denial="You cannot create this lead: only marketing can.",
    ),
    api(
        "lead-patch-mql",
        "patch",
        on_lead(M),
        PROFILE_EDITORS_MQL,
        body=lambda w: {"job_title": "Chief Permission Officer", "version": version_of(w, M)},
        check=profile_edited(M, "Chief Permission Officer"),
        denial=EDIT_DENIAL,
    ),
    api(
        "lead-patch-lead",
        "patch",
        on_lead("plain"),
        MARKETING,
        body=lambda w: {"job_title": "Chief Permission Officer", "version": version_of(w, "plain")},
        check=profile_edited("plain", "Chief Permission Officer"),
        denial="You cannot edit this lead",
    ),
    api(
        "engagements",
        "post",
        lambda w: "/api/engagements/",
        MARKETING,
        201,
        body=lambda w: {"email": lead(w, M).email, "type": EngagementType.PAGE_VIEW, "title": "Pricing"},
        check=engagement_by(M, "Pricing"),
        denial="Only marketing can record engagements.",
    ),
    api(
        # The inbound endpoint authenticates by its own key only: a session is no key.
        "inbound-without-key",
        "post",
        lambda w: "/api/inbound/",
        NOBODY,
        public=True,
        denied=401,
        body=lambda w: {"email": "perm-inbound@example.com"},
        denial="A valid inbound API key is required",
        prepare=clear_throttles,
    ),
    api(
        "inbound-with-key",
        "post",
        lambda w: "/api/inbound/",
        frozenset(ROLES),
        202,
        public=True,
        body=lambda w: {"email": "perm-inbound@example.com", "first_name": "Ina"},
        headers={"X-Api-Key": "{inbound_key}"},
        check=inbound_recorded,
        prepare=clear_throttles,
    ),
    api(
        "token-create",
        "post",
        lambda w: "/api/auth/token/",
        frozenset(ROLES),
        201,
        public=True,
        body=lambda w: {"username": "rep", "password": PASSWORD},
        check=token_issued,
        prepare=clear_throttles,
    ),
    api("token-delete", "delete", lambda w: "/api/auth/token/", EVERYONE, 204, check=token_revoked),
    api(
        "version-note",
        "patch",
        lambda w: f"/api/agreement/versions/{w.version.number}/",
        MANAGERS,
        body=lambda w: {"note": "Noted by {username}"},
        check=version_noted,
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "version-confirm",
        "post",
        lambda w: f"/api/agreement/versions/{w.version.number}/confirm/",
        CONFIRMERS,
        check=version_confirmed,
        denial="Only the sales manager and the marketing manager confirm the agreement.",
    ),
    api(
        "version-withdraw",
        "post",
        lambda w: f"/api/agreement/versions/{w.version.number}/withdraw/",
        MANAGERS,
        check=version_withdrawn,
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "scoring-put",
        "put",
        lambda w: "/api/scoring/",
        MANAGERS,
        202,
        body=lambda w: {"threshold": next_threshold(), "auto_qualify": False, "decay_half_life_days": None},
        check=proposed(still=ScoringDefinition),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "handoff-gate-put",
        "put",
        lambda w: "/api/handoff-gate/",
        MANAGERS,
        202,
        body=lambda w: {"required_fields": w.gate_fields, "min_engagements": w.gate_min_next},
        check=proposed(still=HandoffGate),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "reason-create",
        "post",
        lambda w: "/api/reasons/",
        MANAGERS,
        202,
        body=lambda w: {"kind": ReasonKind.REJECTION, "label": "Perm API reason", "position": 9},
        check=proposed(still=Reason),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "reason-put",
        "put",
        lambda w: f"/api/reasons/{w.reasons.rejection.pk}/",
        MANAGERS,
        202,
        body=lambda w: {
            "kind": ReasonKind.REJECTION,
            "label": "Renamed reason",
            "description": "",
            "loss_outcome": "",
            "is_active": True,
            "position": 9,
        },
        check=proposed(still=Reason),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "reason-patch",
        "patch",
        lambda w: f"/api/reasons/{w.reasons.rejection.pk}/",
        MANAGERS,
        202,
        body=lambda w: {"label": "Patched reason"},
        check=proposed(still=Reason),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        # Reasons are retired, never deleted: nobody may DELETE one.
        "reason-delete",
        "delete",
        lambda w: f"/api/reasons/{w.reasons.rejection.pk}/",
        NOBODY,
        denied=405,
        denial='Method "DELETE" not allowed.',
    ),
    api(
        "scoring-rule-create",
        "post",
        lambda w: "/api/scoring/rules/",
        MANAGERS,
        202,
        body=lambda w: {
            "kind": "engagement",
            "label": "Perm API demo",
            "engagement_type": EngagementType.DEMO_REQUEST,
            "points": 12,
            "is_active": True,
        },
        check=proposed(still=ScoringRule),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "scoring-rule-put",
        "put",
        lambda w: f"/api/scoring/rules/{w.scoring_rule.pk}/",
        MANAGERS,
        202,
        body=lambda w: rule_values(w),
        check=proposed(still=ScoringRule),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "scoring-rule-patch",
        "patch",
        lambda w: f"/api/scoring/rules/{w.scoring_rule.pk}/",
        MANAGERS,
        202,
        body=lambda w: {"points": rule_values(w)["points"]},
        check=proposed(still=ScoringRule),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "scoring-rule-remove",
        "post",
        lambda w: f"/api/scoring/rules/{w.scoring_rule.pk}/remove/",
        MANAGERS,
        202,
        check=proposed(still=ScoringRule),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "sla-policy-create",
        "post",
        lambda w: "/api/sla/policies/",
        MANAGERS,
        202,
        body=lambda w: policy_json("Perm API policy", "4"),
        check=proposed(still=SlaPolicy),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "sla-policy-put",
        "put",
        lambda w: f"/api/sla/policies/{w.policy.pk}/",
        MANAGERS,
        202,
        body=lambda w: policy_json("Hot", "2"),
        check=proposed(still=SlaPolicy),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "sla-policy-patch",
        "patch",
        lambda w: f"/api/sla/policies/{w.policy.pk}/",
        MANAGERS,
        202,
        body=lambda w: {"response_hours": "2.000"},
        check=proposed(still=SlaPolicy),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "sla-policy-remove",
        "post",
        lambda w: f"/api/sla/policies/{w.policy.pk}/remove/",
        MANAGERS,
        202,
        check=proposed(still=SlaPolicy),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        "commitment-put",
        "put",
        lambda w: f"/api/sla/commitments/{w.teams.marketing.pk}/",
        MANAGERS,
        202,
        body=lambda w: {"min_mqls": 9, "min_acceptance_percent": 60, "is_active": True},
        check=proposed(still=MarketingCommitment),
        denial=AGREEMENT_DENIAL,
    ),
    api(
        # The revenue goal proposes its result as marketing's commitment (managers); every
        # reader may calculate it (GET), the plain employee not even that.
        "goal-propose",
        "post",
        lambda w: "/api/agreement/goal/",
        MANAGERS,
        202,
        body=lambda w: {
            "target": "10000",
            "weeks": 4,
            "window": 4,
            "team": w.teams.marketing.pk,
            "min_acceptance_percent": 55,
        },
        check=proposed(still=MarketingCommitment),
        denial=AGREEMENT_DENIAL,
        special={"employee": 403},  # not a reader of reports: refused before anything is worked out
    ),
    api(
        "routing-rule-create",
        "post",
        lambda w: "/api/routing/rules/",
        MANAGERS,
        201,
        body=lambda w: {
            "name": "Portugal to West",
            "position": 6,
            "countries": "PT",
            "team": w.teams.west.pk,
        },
        check=routing_rule_added("Portugal to West"),
        denial="Only a manager can change routing.",
    ),
    api(
        "routing-rule-put",
        "put",
        lambda w: f"/api/routing/rules/{w.routing_rule.pk}/",
        MANAGERS,
        body=lambda w: {
            "name": "Renamed rule",
            "position": 0,
            "countries": "FR",
            "team": w.teams.west.pk,
            "is_active": True,
            "sources": [],
        },
        check=routing_rule_renamed,
        denial="Only a manager can change routing.",
    ),
    api(
        "routing-rule-patch",
        "patch",
        lambda w: f"/api/routing/rules/{w.routing_rule.pk}/",
        MANAGERS,
        body=lambda w: {"name": "Renamed rule"},
        check=routing_rule_renamed,
        denial="Only a manager can change routing.",
    ),
    api(
        "routing-rule-delete",
        "delete",
        lambda w: f"/api/routing/rules/{w.routing_rule.pk}/",
        MANAGERS,
        204,
        check=routing_rule_removed,
        denial="Only a manager can change routing.",
    ),
    api(
        "import-upload",
        "post",
        lambda w: "/api/imports/",
        MARKETING,
        201,
        multipart=True,
        body=lambda w: {"file": SimpleUploadedFile("perm-upload.csv", CSV, content_type="text/csv")},
        check=import_uploaded,
        denial=IMPORT_DENIAL,
    ),
    api(
        "migration-upload",
        "post",
        lambda w: "/api/imports/",
        MANAGERS,
        201,
        multipart=True,
        body=lambda w: {
            "kind": "migration",
            "file": SimpleUploadedFile("hubspot.csv", HUBSPOT_CSV, content_type="text/csv"),
        },
        check=migration_uploaded,
        denial="Only managers can migrate a team's history from another CRM.",
    ),
    api(
        "import-configure",
        "patch",
        lambda w: f"/api/imports/{w.job.pk}/",
        MARKETING,
        body=lambda w: {"default_source": Source.EVENT},
        check=import_configured,
        denial=IMPORT_DENIAL,
    ),
    api(
        "import-start",
        "post",
        lambda w: f"/api/imports/{w.job.pk}/start/",
        MARKETING,
        202,
        check=import_started,
        denial=IMPORT_DENIAL,
    ),
    api(
        # Someone else's notification is not there for you: 404, and it stays unread.
        "notification-read",
        "post",
        lambda w: f"/api/notifications/{w.notes['rep']}/read/",
        frozenset({"rep"}),
        check=notification_read,
        denied=404,
        denial="No such notification.",
    ),
    api(
        "notifications-read-all",
        "post",
        lambda w: "/api/notifications/read-all/",
        EVERYONE,
        check=all_mine_read,
        roles=WITH_MARKETER2,
    ),
    api(
        "calendar-put",
        "put",
        lambda w: f"/api/calendars/{w.teams.east.pk}/",
        EAST_MANAGER,
        body=lambda w: {
            "hours": {str(day): ["08:00", "16:00"] for day in range(5)},
            "holiday_country": "",
            "holiday_subdivision": "",
        },
        check=calendar_changed,
        denial=EAST_CALENDAR_DENIAL,
    ),
    api(
        "closure-create",
        "post",
        lambda w: f"/api/calendars/{w.teams.east.pk}/closures/",
        EAST_MANAGER,
        201,
        body=lambda w: {"date": (today() + dt.timedelta(days=40)).isoformat(), "reason": "Perm closure"},
        check=closure_added,
        denial=EAST_CALENDAR_DENIAL,
    ),
    api(
        "closure-delete",
        "delete",
        lambda w: f"/api/calendars/{w.teams.east.pk}/closures/{w.closure.pk}/",
        EAST_MANAGER,
        204,
        check=closure_removed,
        denial=EAST_CALENDAR_DENIAL,
    ),
    api(
        # Another team's closure through the URL of a team one manages: not found there.
        "closure-delete-other-team",
        "delete",
        lambda w: f"/api/calendars/{w.teams.east.pk}/closures/{w.west_closure.pk}/",
        NOBODY,
        special={"sales_manager": 404, "admin": 404},
        denial=EAST_CALENDAR_DENIAL,
    ),
]

# --- a person's rights: managers and admins (roles.may_manage_privacy), pages and API ------------------

PRIVACY_MANAGERS = MANAGERS  # may_manage_privacy: a manager of either side, or an admin
PRIVACY_PAGE_DENIAL = "Only managers handle people's data and the retention policy."
PRIVACY_API_DENIAL = "Only a manager can handle people's data and the retention policy."
ERASE_KEY = "dup"  # a lead nobody referred, with no notification


def privacy_exported(w, user, response, changed):
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    person = json.loads(archive.read("person.json"))
    assert person["profile"][0]["last_name"] == LEAD_NAMES[ERASE_KEY]
    assert PrivacyAudit.objects.filter(action="export", actor=user, lead_id=w.ids[ERASE_KEY]).exists()


def privacy_erased(w, user, response, changed):
    erased = lead(w, ERASE_KEY)
    assert erased.erased_at is not None and erased.last_name == erased.first_name == ""
    assert PrivacyAudit.objects.filter(
        action="erasure", actor=user, lead_id=erased.pk, reference="REQ-4712"
    ).exists()


def retention_set(w, user, response, changed):
    policy = RetentionPolicy.current()
    assert (policy.disqualified_months, policy.updated_by) == (60, user)
    assert PrivacyAudit.objects.filter(action="retention_policy", actor=user).exists()


def retention_run_by(w, user, response, changed):
    run = RetentionRun.objects.get(started_by=user)
    assert run.status == "done" and run.people == 0  # nothing is 120 months old here


def privacy_audit_listed(w, user, response, changed):
    assert [row["action"] for row in response.json()["results"]] == ["retention_policy"]


def nothing_due(w, user, response, changed):
    assert response.json()["total"] == 0 and response.json()["disqualified_before"]


def privacy_person(rest: str = "", *, api: bool = False) -> Callable[[SimpleNamespace], str]:
    return lambda w: f"{'/api' if api else ''}/privacy/people/{w.ids[ERASE_KEY]}/{rest}"


PRIVACY = [
    page(
        "privacy",
        "get",
        lambda w: "/privacy/",
        PRIVACY_MANAGERS,
        check=shows("Retention policy", "Audit trail", "Retention policy changed"),
        denial=PRIVACY_PAGE_DENIAL,
    ),
    page(
        "privacy-person",
        "get",
        privacy_person(),
        PRIVACY_MANAGERS,
        check=shows(LEAD_NAMES[ERASE_KEY], "Erase this person"),
        denial=PRIVACY_PAGE_DENIAL,
    ),
    page(
        "privacy-run-confirm",
        "get",
        lambda w: "/privacy/retention/run/",
        PRIVACY_MANAGERS,
        check=shows("Run the retention policy now?"),
        denial=PRIVACY_PAGE_DENIAL,
    ),
    page(
        "privacy-policy-post",
        "post",
        lambda w: "/privacy/",
        PRIVACY_MANAGERS,
        302,
        body=lambda w: {"inactive_months": "", "disqualified_months": "60"},
        ok_to=lambda w: "/privacy/",
        check=retention_set,
        denial=PRIVACY_PAGE_DENIAL,
    ),
    page(
        "privacy-run",
        "post",
        lambda w: "/privacy/retention/run/",
        PRIVACY_MANAGERS,
        302,
        ok_to=lambda w: "/privacy/",
        check=retention_run_by,
        denial=PRIVACY_PAGE_DENIAL,
    ),
    page(
        "privacy-export",
        "post",
        privacy_person("export/"),
        PRIVACY_MANAGERS,
        body=lambda w: {"reference": "REQ-4711"},
        check=privacy_exported,
        denial=PRIVACY_PAGE_DENIAL,
    ),
    page(
        "privacy-erase",
        "post",
        privacy_person("erase/"),
        PRIVACY_MANAGERS,
        302,
        body=lambda w: {"reference": "REQ-4712", "confirm": "ERASE"},
        ok_to=privacy_person(),
        check=privacy_erased,
        denial=PRIVACY_PAGE_DENIAL,
    ),
    api(
        "privacy-audit",
        "get",
        lambda w: "/api/privacy/audit/",
        PRIVACY_MANAGERS,
        check=privacy_audit_listed,
        denial=PRIVACY_API_DENIAL,
    ),
    api(
        "privacy-export",
        "post",
        privacy_person("export/", api=True),
        PRIVACY_MANAGERS,
        body=lambda w: {"reference": "REQ-4711"},
        check=privacy_exported,
        denial=PRIVACY_API_DENIAL,
    ),
    api(
        "privacy-erase",
        "post",
        privacy_person("erase/", api=True),
        PRIVACY_MANAGERS,
        body=lambda w: {"reference": "REQ-4712", "confirm": "ERASE"},
        check=privacy_erased,
        denial=PRIVACY_API_DENIAL,
    ),
    api(
        "privacy-retention",
        "get",
        lambda w: "/api/privacy/retention/",
        PRIVACY_MANAGERS,
        denial=PRIVACY_API_DENIAL,
    ),
    api(
        "privacy-retention-put",
        "put",
        lambda w: "/api/privacy/retention/",
        PRIVACY_MANAGERS,
        body=lambda w: {"enabled": False, "disqualified_months": 60},
        check=retention_set,
        denial=PRIVACY_API_DENIAL,
    ),
    api(
        "privacy-retention-preview",
        "get",
        lambda w: "/api/privacy/retention/preview/",
        PRIVACY_MANAGERS,
        check=nothing_due,
        denial=PRIVACY_API_DENIAL,
    ),
    api(
        "privacy-retention-runs",
        "get",
        lambda w: "/api/privacy/retention/runs/",
        PRIVACY_MANAGERS,
        check=counts(0),
        denial=PRIVACY_API_DENIAL,
    ),
    api(
        "privacy-retention-run",
        "post",
        lambda w: "/api/privacy/retention/runs/",
        PRIVACY_MANAGERS,
        202,
        check=retention_run_by,
        denial=PRIVACY_API_DENIAL,
    ),
]

CASES = PAGE_READS + PAGE_ACTIONS + PAGE_WRITES + API_READS + API_ACTIONS + API_WRITES + PRIVACY

# Not in the matrix, on purpose:
EXCLUDED = {
    # The OpenAPI schema and its viewer are public by design (drf-spectacular's
    # SERVE_PERMISSIONS default) and checked by tests/test_schema.py; generating the
    # schema takes seconds, ten times over would double this module's time.
    "api-schema",
    "api-docs",
}


# --- running one row ----------------------------------------------------------------------------------------


def _fill(value, w, user):
    """Per-user placeholders in a body or header ({username}, {inbound_key})."""
    if isinstance(value, str):
        return value.replace("{username}", user.username if user else "anonymous").replace(
            "{inbound_key}", w.inbound_key
        )
    if isinstance(value, dict):
        return {k: _fill(v, w, user) for k, v in value.items()}
    return value


def send(client: Client, case: Case, w, user):
    path = case.path(w)
    body = _fill(case.body(w), w, user) if case.body else {}
    headers = _fill(dict(case.headers), w, user)
    if case.method == "get":
        return client.get(path, headers=headers)
    if case.api and not case.multipart:
        return getattr(client, case.method)(
            path, data=json.dumps(body), content_type="application/json", headers=headers
        )
    if case.method == "post":
        return client.post(path, body, headers=headers)
    return getattr(client, case.method)(path, headers=headers)


def client_for(w, role: str) -> Client:
    client = Client()
    if role != ANON:
        client.cookies[settings.SESSION_COOKIE_NAME] = w.sessions[role]
    return client


def _params():
    for case in CASES:
        for role in case.roles:
            status = case.expected(role)
            marks = []
            if role in case.xfail:
                marks = [pytest.mark.xfail(strict=True, reason=case.xfail[role])]
            yield pytest.param(case, role, id=f"{case.name}-{role}-{status}", marks=marks)


def _error_message(response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""


@pytest.mark.parametrize("case,role", list(_params()))
def test_matrix(world, case: Case, role: str, django_capture_on_commit_callbacks):
    w = world
    user = w.users.get(role)
    client = client_for(w, role)
    restore_import_file(w)
    if case.prepare:
        case.prepare(w)  # files and caches only: the database is as the world left it
    before = w.fingerprint
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, case, w, user)
    changed = changed_tables(before, fingerprint())
    expected = case.expected(role)
    content = html.unescape(response.content.decode()) if not getattr(response, "streaming", False) else ""
    assert response.status_code == expected, (
        f"{case.method.upper()} {case.path(w)} as {role}: {response.status_code}, expected {expected}: "
        f"{_error_message(response) or content[:300]}"
    )
    location = response.get("Location")

    if role == ANON and not case.public:
        assert not changed, f"anonymous changed {changed}"
        if case.api:
            assert response.json()["error"]["code"] == "not_authenticated"
        else:
            target = urlparse(location)
            assert target.path == "/login/"
            assert parse_qs(target.query)["next"] == [case.path(w)]
        return

    if role in case.special:
        assert not changed, f"{role} changed {changed}"
        if case.special_to is not None:
            assert location == case.special_to
        return

    if role in case.allowed:
        if case.ok_to is not None:
            assert location == case.ok_to(w)
        if case.method == "get":
            assert not changed, f"a read wrote to {changed}"
        else:
            assert case.check is not None, "a write needs a check of its effect"
        if case.check is not None:
            case.check(w, user, response, changed)
        return

    # Refused: told why, and nothing changed.
    assert not changed, f"refused, yet changed {changed}"
    if case.deny_to is not None:
        assert response.status_code == 302
        assert location == case.deny_to.format(number=w.version.number)
        errors = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
        assert errors == [case.denial], errors
    elif case.api:
        error = response.json()["error"]
        if expected == 403:
            assert error["code"] in ("forbidden", "permission_denied")
        if case.denial:
            assert case.denial in error["message"], error["message"]
    elif case.denial:
        assert case.denial in content, content[:500]


# --- every endpoint has a row --------------------------------------------------------------------------------


def _endpoints(resolver=None, namespace=""):
    """(view name, the HTTP methods it serves) for every URL pattern but the admin site's."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _endpoints(pattern, inner)
            continue
        assert isinstance(pattern, URLPattern)
        yield namespace + pattern.name, _methods(pattern.callback)


def _methods(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: the methods the router mapped
        return set(actions) - {"head", "options"}  # DRF adds HEAD on the first GET
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return {"any"}  # a function view: at least one row
    from rest_framework.views import APIView

    names = ("get", "post", "put", "patch", "delete") if issubclass(view_class, APIView) else ("get", "post")
    return {name for name in names if name in view_class.http_method_names and hasattr(view_class, name)}


def test_every_url_and_method_has_a_row(world):
    covered: dict[str, set[str]] = {}
    for case in CASES:
        match = resolve(urlparse(case.path(world)).path)
        covered.setdefault(match.view_name, set()).add(case.method)
    walked = list(_endpoints())
    endpoints = dict(walked)
    assert len(endpoints) == len(walked), "two URL patterns share a name: cover them by route"
    assert set(covered) <= set(endpoints), set(covered) - set(endpoints)
    missing = []
    for name, methods in endpoints.items():
        if name in EXCLUDED:
            continue
        have = covered.get(name, set())
        if not have:
            missing.append(f"{name}: no row")
        elif "any" not in methods and methods - have:
            missing.append(f"{name}: no row for {sorted(methods - have)}")
    assert not missing, "endpoints without a row in the permission matrix:\n" + "\n".join(missing)
    assert len(endpoints) > 100  # the walk saw the whole URL configuration


def test_the_matrix_is_the_whole_table():
    """Each row runs for every role, names are unique, and each refusal says something."""
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    for case in CASES:
        assert set(ROLES) <= set(case.roles), case.name
        refused = [r for r in USERS if r not in case.allowed and r not in case.special]
        if refused and case.method != "get" and case.deny_to is None and case.denied == 403:
            assert case.denial, f"{case.name}: say how a refusal reads"
