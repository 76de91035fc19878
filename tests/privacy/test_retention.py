"""Retention (docs/privacy.md): what the policy names, its preview, its runs, the nightly
job, and the policy's own checks."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine

from leads import services
from leads.models import Lead, TouchKind, TouchOutcome
from smarketing.core.errors import ActionError
from smarketing.core.weeks import monday_of
from smarketing.org.models import EngagementType
from smarketing.privacy.models import PrivacyAction, PrivacyAudit, RetentionPolicy, RetentionRun, RunStatus
from smarketing.privacy.retention import (
    MONTHS_MAX,
    months_before,
    retention_due,
    retention_policy_set,
    retention_preview,
    retention_run,
)
from smarketing.privacy.tasks import privacy_retention_nightly
from tests.privacy.conftest import differences, funnel_rows, report_figures, scan

pytestmark = pytest.mark.django_db

NOW = dt.datetime.fromisoformat("2026-11-24T10:00:00+01:00")


def ago(months: int, days: int = 0) -> dt.datetime:
    return months_before(NOW, months) - dt.timedelta(days=days)


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def leads(org, make_lead, make_mql, make_sql, reasons, django_capture_on_commit_callbacks):
    """Leads on each side of the rules (inactive 3 months, disqualified 2 months)."""
    made = SimpleNamespace()
    with django_capture_on_commit_callbacks(execute=True):
        with at(ago(4)):
            made.quiet = make_lead(first_name="Quentin", last_name="Qualmsby", phone="+44 20 7946 0011")
            made.engaged = make_lead(last_name="Engaged")
            made.noted = make_lead(last_name="Noted")
            made.touched = make_sql(last_name="Touched")
            made.mql = make_mql(last_name="Waiting")
            made.sql = make_sql(last_name="Working")
            made.customer = make_sql(last_name="Bought")
            services.lead_win(
                lead_id=made.customer.pk, actor=made.customer.owner, amount="900", closed_on=ago(4).date()
            )
        with at(ago(5)):
            made.merged = make_lead(first_name="Mara", last_name="Doppelstein", email="mara@one.example")
            made.duplicate = make_lead(first_name="Mara", last_name="Doppelstein", email="mara@two.example")
            services.lead_merge(survivor_id=made.merged.pk, other_id=made.duplicate.pk, actor=org.marketer)
        with at(ago(2)):
            made.young = make_lead(last_name="Young")
        with at(ago(4, days=1)):
            made.out_long = make_lead(first_name="Olaf", last_name="Outwaite")
            made.out_lately = make_lead(last_name="Outlately")
        with at(ago(3)):
            services.lead_disqualify(
                lead_id=made.out_long.pk, actor=org.marketer, reason=reasons.disqualification
            )
        with at(ago(1, days=3)):
            services.lead_disqualify(
                lead_id=made.out_lately.pk, actor=org.marketer, reason=reasons.disqualification
            )
        with at(ago(1)):
            services.engagement_log(
                lead_id=made.engaged.pk, actor=org.marketer, type=EngagementType.PAGE_VIEW, title="Pricing"
            )
            services.touch_log(
                lead_id=made.touched.pk,
                actor=made.touched.owner,
                kind=TouchKind.CALL,
                outcome=TouchOutcome.NO_ANSWER,
            )
        with at(ago(3, days=20)):  # lost back to nurture long ago: only its touch is recent
            services.lead_lose(lead_id=made.touched.pk, actor=made.touched.owner, reason=reasons.loss_recycle)
        with at(ago(0, days=10)):
            services.lead_note_add(lead_id=made.noted.pk, actor=org.marketer, text="Still reading our mails")
    for lead in vars(made).values():
        lead.refresh_from_db()
    assert made.touched.stage == "lead" and made.out_long.stage == "disqualified"
    return made


def policy(org, **values) -> RetentionPolicy:
    with at(NOW):
        return retention_policy_set(actor=org.marketing_manager, **{"enabled": True, **values})


def test_the_inactive_rule_names_only_quiet_leads_still_with_marketing(org, leads):
    rules = policy(org, inactive_months=3)
    due = set(retention_due(rules, NOW).values_list("pk", flat=True))
    # Not the engaged, touched or noted ones (recent activity), not the young one, never an
    # MQL, SQL or customer however quiet, and not the merged-away duplicate (its survivor is).
    assert due == {leads.quiet.pk, leads.merged.pk}


def test_the_disqualified_rule_counts_months_since_disqualification(org, leads):
    rules = policy(org, disqualified_months=2)
    assert set(retention_due(rules, NOW).values_list("pk", flat=True)) == {leads.out_long.pk}
    rules = policy(org, disqualified_months=1)
    assert set(retention_due(rules, NOW).values_list("pk", flat=True)) == {
        leads.out_long.pk,
        leads.out_lately.pk,
    }


def test_a_run_anonymises_what_the_preview_showed_and_keeps_every_figure(org, leads):
    rules = policy(org, inactive_months=3, disqualified_months=2)
    first_week, last_week = monday_of(ago(5).date()), monday_of(NOW.date())
    with at(NOW):
        preview = retention_preview(rules)
        assert (preview["total"], preview["inactive"], preview["disqualified"]) == (3, 2, 1)
        shown = {lead.pk for lead in preview["first"]}
        assert shown == {leads.quiet.pk, leads.merged.pk, leads.out_long.pk}
        before, rows = (
            report_figures(org.sales_manager, first_week, last_week, [{}], as_of_every=14),
            funnel_rows(),
        )
        run = retention_run(actor=org.marketing_manager)
        after = report_figures(org.sales_manager, first_week, last_week, [{}], as_of_every=14)

    erased = set(Lead.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    assert erased == shown | {leads.duplicate.pk}
    assert (run.status, run.people, run.leads, run.started_by) == (
        RunStatus.DONE,
        3,
        4,
        org.marketing_manager,
    )
    assert (run.inactive_before, run.disqualified_before) == (ago(3), ago(2))
    assert run.started_at == NOW and run.finished_at == NOW
    audit = PrivacyAudit.objects.get(action=PrivacyAction.RETENTION_RUN)
    assert audit.actor == org.marketing_manager
    assert audit.detail == {
        "run": run.pk,
        "status": "done",
        "people": 3,
        "leads": 4,
        "enabled": True,
        "inactive_months": 3,
        "disqualified_months": 2,
    }
    assert differences(before, after) == []
    assert funnel_rows() == rows
    assert (
        scan(
            words=("Quentin", "Qualmsby", "Mara", "Doppelstein", "Olaf", "Outwaite"),
            phones=("+44 20 7946 0011",),
        )
        == []
    )
    # Those it did not name keep their names.
    assert Lead.objects.get(pk=leads.engaged.pk).last_name == "Engaged"
    assert Lead.objects.get(pk=leads.out_lately.pk).last_name == "Outlately"
    # A second run finds nobody left.
    with at(NOW + dt.timedelta(hours=1)):
        assert retention_preview(rules)["total"] == 0
        assert retention_run(actor=org.marketing_manager).people == 0


def test_the_nightly_job_does_nothing_while_the_policy_is_off(org, leads):
    with at(NOW):
        retention_policy_set(actor=org.marketing_manager, enabled=False, inactive_months=3)
        assert privacy_retention_nightly() == 0
        assert not RetentionRun.objects.exists()
        assert not Lead.objects.filter(erased_at__isnull=False).exists()
        with pytest.raises(ActionError):
            retention_run(actor=None)  # the job's own run refuses a policy that is off
        assert not RetentionRun.objects.exists()
        retention_policy_set(actor=org.marketing_manager, enabled=True, inactive_months=3)
        assert privacy_retention_nightly() == 2
    run = RetentionRun.objects.get()
    assert run.started_by is None and run.people == 2
    assert PrivacyAudit.objects.get(action=PrivacyAction.RETENTION_RUN).actor is None
    assert set(Lead.objects.filter(erased_at__isnull=False).values_list("pk", flat=True)) == {
        leads.quiet.pk,
        leads.merged.pk,
        leads.duplicate.pk,
    }


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        ("2026-03-31T12:00:00+00:00", 1, "2026-02-28T12:00:00+00:00"),
        ("2028-03-31T12:00:00+00:00", 1, "2028-02-29T12:00:00+00:00"),  # a leap year
        ("2026-05-31T23:30:00+00:00", 3, "2026-02-28T23:30:00+00:00"),
        ("2026-01-31T08:00:00+00:00", 13, "2024-12-31T08:00:00+00:00"),  # across a year
        ("2026-12-31T08:00:00+00:00", 12, "2025-12-31T08:00:00+00:00"),
        ("2026-03-30T08:00:00+00:00", 1, "2026-02-28T08:00:00+00:00"),
        ("2026-03-28T08:00:00+00:00", 1, "2026-02-28T08:00:00+00:00"),
        ("2026-02-28T08:00:00+00:00", 240, "2006-02-28T08:00:00+00:00"),
    ],
)
def test_months_are_calendar_months_ending_on_the_shorter_months_last_day(moment, months, expected):
    assert months_before(dt.datetime.fromisoformat(moment), months) == dt.datetime.fromisoformat(expected)


def test_the_cut_off_at_a_month_end_is_exact(org, make_lead):
    now = dt.datetime.fromisoformat("2026-03-31T12:00:00+00:00")
    cutoff = dt.datetime.fromisoformat("2026-02-28T12:00:00+00:00")
    with at(cutoff - dt.timedelta(seconds=1)):
        before = make_lead(last_name="Before")
    with at(cutoff):
        exactly = make_lead(last_name="Exactly")
    with at(now):
        rules = retention_policy_set(actor=org.sales_manager, enabled=True, inactive_months=1)
        preview = retention_preview(rules)
    assert preview["inactive_before"] == cutoff
    assert [lead.pk for lead in preview["first"]] == [before.pk] and exactly.pk != before.pk


@pytest.mark.parametrize("value", [0, 241, -1, "abc", True, False, 1.5, "12.0", "1e2", [3]])
@pytest.mark.parametrize("name", ["inactive_months", "disqualified_months"])
def test_months_out_of_range_or_not_whole_numbers_are_refused_at_their_field(org, name, value):
    with pytest.raises(ActionError) as refused:
        retention_policy_set(actor=org.marketing_manager, enabled=False, **{name: value})
    assert set(refused.value.fields) == {name}, refused.value.message
    assert not RetentionPolicy.objects.exists()
    assert not PrivacyAudit.objects.exists()


def test_a_valid_policy_is_saved_and_audited_with_before_and_after(org):
    with at(NOW):
        saved = retention_policy_set(
            actor=org.sales_manager, enabled=True, inactive_months=" 24 ", disqualified_months=MONTHS_MAX
        )
    assert (saved.enabled, saved.inactive_months, saved.disqualified_months) == (True, 24, MONTHS_MAX)
    assert (saved.updated_by, saved.updated_at) == (org.sales_manager, NOW)
    audit = PrivacyAudit.objects.get(action=PrivacyAction.RETENTION_POLICY)
    assert audit.detail == {
        "before": {"enabled": False, "inactive_months": None, "disqualified_months": None},
        "after": {"enabled": True, "inactive_months": 24, "disqualified_months": MONTHS_MAX},
    }
    # Saving the same values again records nothing new.
    retention_policy_set(actor=org.sales_manager, enabled=True, inactive_months=24, disqualified_months="240")
    assert PrivacyAudit.objects.count() == 1
    # Switched on with no period: refused at the switch.
    with pytest.raises(ActionError) as refused:
        retention_policy_set(actor=org.sales_manager, enabled=True)
    assert set(refused.value.fields) == {"enabled"}
    assert RetentionPolicy.current().inactive_months == 24


@pytest.mark.parametrize("who", ["rep", "marketer", "employee"])
def test_only_managers_set_or_run_the_policy(org, who):
    with pytest.raises(ActionError) as refused:
        retention_policy_set(actor=getattr(org, who), enabled=True, inactive_months=12)
    assert refused.value.code == ActionError.FORBIDDEN
    with pytest.raises(ActionError) as refused:
        retention_run(actor=getattr(org, who))
    assert refused.value.code == ActionError.FORBIDDEN
    assert not RetentionPolicy.objects.exists() and not RetentionRun.objects.exists()
