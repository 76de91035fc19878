"""seed_demo: a believable organisation whose event log is the truth."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from leads.models import Lead, LeadEvent, Stage
from leads.selectors import stage_as_of
from smarketing.org.models import Team
from smarketing.org.roles import Role, role_names

pytestmark = pytest.mark.django_db
NOW = "2026-11-18T15:30:00+01:00"
ARGS = ["--leads", "300", "--weeks", "4", "--seed", "7", "--now", NOW]


def seed(*extra):
    out = io.StringIO()
    call_command("seed_demo", *ARGS, *extra, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def digest() -> str:
    rows = Lead.objects.order_by("email").values_list("email", "stage", "owner__username", "recycle_count")
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def test_seed_builds_an_organisation_with_every_role_and_prints_logins():
    output = seed()
    users = {u.username: role_names(u) for u in get_user_model().objects.all()}
    assert {Role.MARKETER} <= users["marketer"] and {Role.SALES_REP} <= users["rep"]
    assert Role.MANAGER in users["manager.sales"] and Role.ADMIN in users["admin"]
    assert users["technician"] == frozenset()
    assert sum(Role.MARKETER in r for r in users.values()) == 4
    assert sum(Role.SALES_REP in r for r in users.values()) == 6
    assert Team.objects.get(name="Sales").manager.username == "manager.sales"
    assert "smarketing-demo" in output and "manager.marketing" in output


def test_seeded_shape_is_believable():
    seed()
    live = Lead.objects.live()
    total = live.count()
    assert 280 <= total <= 300
    qualified = live.filter(events__type="qualified").distinct().count()
    accepted = LeadEvent.objects.filter(type="accepted").count()
    rejected = LeadEvent.objects.filter(type="rejected").count()
    won = LeadEvent.objects.filter(type="won").count()
    lost = LeadEvent.objects.filter(type="lost").count()
    assert 0.2 <= qualified / total <= 0.45
    assert 0.5 <= accepted / (accepted + rejected) <= 0.8
    assert won > 0 and lost > 0 and rejected > 0
    assert LeadEvent.objects.filter(type="rejected", reason__isnull=True).count() == 0
    assert live.filter(referrer__username="technician").exists()
    assert live.filter(stage=Stage.MQL).exists(), "the present has MQLs waiting for a response"


def test_replaying_the_event_log_reproduces_every_leads_current_stage():
    seed()
    rebuilt = stage_as_of(timezone.now())
    current = dict(Lead.objects.live().values_list("pk", "stage"))
    assert current, "seeded something"
    assert rebuilt == current


def test_same_seed_same_data_and_reset_replaces_it():
    seed()
    first = digest()
    seed("--reset")
    assert digest() == first
    assert Lead.objects.count() == len(set(Lead.objects.values_list("email", flat=True)))


def test_refuses_to_seed_over_existing_data_and_changes_nothing():
    seed()
    before = (digest(), LeadEvent.objects.count())
    with pytest.raises(CommandError, match="already has leads"):
        seed()
    assert (digest(), LeadEvent.objects.count()) == before


def test_if_empty_leaves_existing_data_alone():
    seed()
    before = digest()
    output = seed("--if-empty")
    assert "nothing to do" in output
    assert digest() == before
