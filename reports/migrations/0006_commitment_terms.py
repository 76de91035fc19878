"""The history of marketing's commitment (`CommitmentTerms`): what was agreed, from when.

Seeded per team from what is stored: the commitment's audit lines (`AgreementChange`, area
"sla", "Marketing commitment of <team>: …", whose `after` holds the terms and
`occurred_at` the moment they came into force), else the commitment itself from its
creation. Two adjustments keep what was already recorded judged:

- the first terms are in force from the start of the earliest recorded week, if that is
  earlier than their creation (the product used to judge the week a commitment was set in);
- each recorded week (`CommitmentWeek`) is judged again by the terms in force at its start
  (its figures stay as recorded): the product used to judge it by the terms in force when
  it was recorded.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

KEYS = ("min_mqls", "min_acceptance_percent", "is_active")


def _terms(values) -> dict | None:
    if not isinstance(values, dict) or any(key not in values for key in KEYS):
        return None
    return {key: values[key] for key in KEYS}


def _week_start(monday: dt.date) -> dt.datetime:
    return dt.datetime.combine(monday, dt.time(0), tzinfo=ZoneInfo(settings.SMARKETING_TIME_ZONE))


def _kept(week, terms: dict) -> bool:
    """The rule as it stands in this migration: MQLs ≥ M and (no response, or the whole
    percentage accepted ≥ Q)."""
    answered = week.accepted + week.rejected
    percent = round(100 * week.accepted / answered) if answered else None
    return week.mqls >= terms["min_mqls"] and (percent is None or percent >= terms["min_acceptance_percent"])


def seed(apps, schema_editor):
    MarketingCommitment = apps.get_model("reports", "MarketingCommitment")
    CommitmentTerms = apps.get_model("reports", "CommitmentTerms")
    CommitmentWeek = apps.get_model("reports", "CommitmentWeek")
    AgreementChange = apps.get_model("agreement", "AgreementChange")
    for commitment in MarketingCommitment.objects.select_related("team"):
        current = {key: getattr(commitment, key) for key in KEYS}
        changes = AgreementChange.objects.filter(
            area="sla", summary__startswith=f"Marketing commitment of {commitment.team.name}:"
        ).order_by("occurred_at", "id")
        history: list[list] = []  # [in force from, terms]
        for change in changes:
            after = _terms(change.after)
            if after is None:
                continue
            if not history:
                before = _terms(change.before)
                if before is not None and commitment.created_at < change.occurred_at:
                    history.append([commitment.created_at, before])  # its creation was not audited
            history.append([change.occurred_at, after])
        if not history:
            history.append([commitment.created_at, current])
        elif history[-1][1] != current:  # changed without an audit line
            history.append([max(commitment.updated_at, history[-1][0]), current])
        weeks = list(CommitmentWeek.objects.filter(team=commitment.team).order_by("week_start"))
        if weeks:
            history[0][0] = min(history[0][0], _week_start(weeks[0].week_start))
        CommitmentTerms.objects.bulk_create(
            CommitmentTerms(team=commitment.team, in_force_from=moment, **terms) for moment, terms in history
        )
        for week in weeks:
            start = _week_start(week.week_start)
            in_force = [terms for moment, terms in history if moment <= start]
            if not in_force or not in_force[-1]["is_active"]:
                continue
            terms = in_force[-1]
            kept = _kept(week, terms)
            if (week.min_mqls, week.min_acceptance_percent, week.met) != (
                terms["min_mqls"],
                terms["min_acceptance_percent"],
                kept,
            ):
                week.min_mqls = terms["min_mqls"]
                week.min_acceptance_percent = terms["min_acceptance_percent"]
                week.met = kept
                week.save(update_fields=["min_mqls", "min_acceptance_percent", "met"])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_velocity_last_stay"),
        ("agreement", "0001_initial"),
        ("org", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="CommitmentTerms",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("min_mqls", models.PositiveIntegerField()),
                ("min_acceptance_percent", models.PositiveSmallIntegerField()),
                ("is_active", models.BooleanField()),
                ("in_force_from", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="commitment_terms",
                        to="org.team",
                    ),
                ),
            ],
            options={
                "ordering": ["team", "in_force_from", "id"],
                "indexes": [models.Index(fields=["team", "in_force_from"], name="commitment_terms_from")],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
