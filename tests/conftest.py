"""Shared fixtures: a small organisation with every role, and helpers that move leads
through the funnel by the real services."""

from __future__ import annotations

import importlib
import os
from types import SimpleNamespace

import pytest
from django.db import connection

from leads import services
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.org.models import EngagementType, TeamKind
from smarketing.org.roles import Role
from tests.factories import LeadFactory, MembershipFactory, TeamFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("SMARKETING_REQUIRE_SERVICES") == "1"


def need(condition: bool, why: str) -> None:
    """Skip a test that needs a real service, or fail it when CI requires services."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{why} (SMARKETING_REQUIRE_SERVICES=1: real services are required)")
    pytest.skip(why)


@pytest.fixture
def require_postgres(db):
    need(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL=postgres://...")


class LiveApps:
    """Today's app registry, for running a migration's data function again in a test: a
    model the migration asks for by its old app ("leads", "Reason") is found where it
    lives now (agreement.Reason, the same table; docs/architecture.md)."""

    def get_model(self, app_label: str, model_name: str):
        from django.apps import apps

        try:
            return apps.get_model(app_label, model_name)
        except LookupError:
            return next(m for m in apps.get_models() if m.__name__.lower() == model_name.lower())

    def get_app_config(self, app_label: str):
        from django.apps import apps

        return apps.get_app_config(app_label)


@pytest.fixture
def product_setup(db):
    """Roles and reasons as migration 0002 makes them. A transactional test flushes the
    tables between tests, so put them back (idempotent) for whoever needs them."""
    importlib.import_module("leads.migrations.0002_roles_and_reasons").forwards(LiveApps(), None)


@pytest.fixture
def default_rules(db):
    """The scoring definition migration 0004 ships (a transactional test flushes it)."""
    from smarketing.agreement.models import ScoringDefinition, ScoringRule

    ScoringRule.objects.all().delete()
    importlib.import_module("leads.migrations.0004_default_scoring_definition").forwards(LiveApps(), None)
    return ScoringDefinition.current()


def make_org(*, only_rep_routed: bool = True) -> SimpleNamespace:
    """Two sales teams and a marketing team, with one person in every role (each team with
    its manager). With `only_rep_routed`, only `rep` takes routed MQLs: predictable owners."""
    marketing = TeamFactory(name="Marketing", kind=TeamKind.MARKETING)
    sales = TeamFactory(name="Sales East", kind=TeamKind.SALES)
    other_sales = TeamFactory(name="Sales West", kind=TeamKind.SALES)

    def person(username, role, team):
        user = UserFactory(username=username, roles=[role] if role else [])
        if team is not None:
            MembershipFactory(team=team, user=user)
        return user

    ns = SimpleNamespace(marketing=marketing, sales=sales, other_sales=other_sales)
    ns.marketer = person("marketer", Role.MARKETER, marketing)
    ns.marketer2 = person("marketer2", Role.MARKETER, marketing)
    ns.marketing_manager = person("mmanager", Role.MANAGER, marketing)
    ns.rep = person("rep", Role.SALES_REP, sales)
    ns.rep2 = person("rep2", Role.SALES_REP, sales)
    ns.sales_manager = person("smanager", Role.MANAGER, sales)
    ns.other_rep = person("otherrep", Role.SALES_REP, other_sales)
    ns.other_manager = person("omanager", Role.MANAGER, other_sales)
    ns.employee = person("technician", None, None)
    ns.admin = person("admin", Role.ADMIN, None)
    for team, manager in (
        (marketing, ns.marketing_manager),
        (sales, ns.sales_manager),
        (other_sales, ns.other_manager),
    ):
        team.manager = manager
        team.save()
    if only_rep_routed:
        for user in (ns.rep2, ns.other_rep):
            user.membership.is_away = True
            user.membership.save()
    return ns


@pytest.fixture
def org(product_setup):
    """Two sales teams and a marketing team, with one person in every role."""
    return make_org()


@pytest.fixture
def agree(org):
    """Both managers confirm the proposed version of the agreement: what a manager proposed
    through a page or the API is in force afterwards. Returns the version."""
    from smarketing.agreement import versions

    def confirm(note: str = "Agreed in the weekly meeting."):
        version = versions.version_proposed()
        assert version is not None, "nothing is proposed"
        if not version.note:
            versions.version_note_update(actor=org.sales_manager, number=version.number, note=note)
        waiting = versions.waiting_for(version)
        for side, manager in (("sales", org.sales_manager), ("marketing", org.marketing_manager)):
            if side in waiting:
                version = versions.version_confirm(actor=manager, number=version.number)
        return version

    return confirm


@pytest.fixture
def reasons(product_setup):
    def first(kind, **extra):
        return Reason.objects.filter(kind=kind, **extra).order_by("position").first()

    return SimpleNamespace(
        rejection=first(ReasonKind.REJECTION),
        loss_recycle=first(ReasonKind.LOSS, loss_outcome="recycle"),
        loss_disqualify=first(ReasonKind.LOSS, loss_outcome="disqualify"),
        disqualification=first(ReasonKind.DISQUALIFICATION),
    )


@pytest.fixture
def make_lead(org):
    """A lead in stage `lead` that passes the hand-off gate (profile + one engagement)."""

    def make(**fields):
        lead = LeadFactory(**fields)
        services.engagement_log(
            lead_id=lead.pk,
            actor=org.marketer,
            type=EngagementType.WEBINAR_ATTENDED,
            title="Pipeline webinar",
            points=20,
        )
        lead.refresh_from_db()
        return lead

    return make


@pytest.fixture
def make_mql(org, make_lead):
    def make(**fields):
        lead = make_lead(**fields)
        return services.lead_qualify(lead_id=lead.pk, actor=org.marketer)

    return make


@pytest.fixture
def make_sql(org, make_mql):
    def make(**fields):
        lead = make_mql(**fields)
        return services.lead_accept(lead_id=lead.pk, actor=lead.owner)

    return make


# The real-worker fixtures (`start_worker`, `worker`), for any test that needs one.
from tests.workers import start_worker, worker  # noqa: E402, F401
