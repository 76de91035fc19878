"""django-filter FilterSets: one set of lead filters for the list page and the API."""

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q

from leads.hooks import drilldown_lead_ids
from leads.models import NO_CONTACT, Consent, Lead, Stage
from leads.selectors import leads_as_of
from smarketing.agreement.models import Reason, ScoringDefinition
from smarketing.core import formats
from smarketing.core.inputs import (
    DateFilter,
    IdFilter,
    StrictFilterSet,
    YesNoFilter,
    id_number_filter,
    whole_number_filter,
)
from smarketing.core.weeks import monday_of, org_tz
from smarketing.org.models import Campaign, Source, Team, TeamKind


class ScoreBand:
    COLD = "cold"
    WARM = "warm"
    HOT = "hot"
    CHOICES = [
        (COLD, "Cold (under half the threshold)"),
        (WARM, "Warm (half the threshold and up)"),
        (HOT, "Hot (at or above the MQL threshold)"),
    ]


class Segment:
    """Company-size segments, by employees (the dashboard's segment filter)."""

    SMALL = "small"
    MID = "mid"
    ENTERPRISE = "enterprise"
    UNKNOWN = "unknown"
    CHOICES = [
        (SMALL, "Small business (1–49 employees)"),
        (MID, "Mid-market (50–999)"),
        (ENTERPRISE, "Enterprise (1,000+)"),
        (UNKNOWN, "Size unknown"),
    ]
    Q = {
        SMALL: Q(company_size__lt=50),
        MID: Q(company_size__gte=50, company_size__lt=1000),
        ENTERPRISE: Q(company_size__gte=1000),
        UNKNOWN: Q(company_size__isnull=True),
    }


class CohortState:
    """Where a lead that entered MQL is now (the cohort conversion's columns, DESIGN.md):
    each lead in exactly one. Which one is decided from its stage and history in one place,
    `reports.metrics.cohort_state`, which the figure and this filter's drill-down both use."""

    WAITING = "waiting"
    SQL = "sql"
    CUSTOMER = "customer"
    SENT_BACK = "sent_back"
    LOST = "lost"
    DISQUALIFIED = "disqualified"
    CHOICES = [
        (WAITING, "Still waiting (MQL)"),
        (SQL, "Now SQL"),
        (CUSTOMER, "Now customer"),
        (SENT_BACK, "Sent back by sales"),
        (LOST, "Lost after acceptance"),
        (DISQUALIFIED, "Disqualified"),
    ]
    # "leads that entered MQL in the week of … and are …" (a drill-down's description)
    NOW = {
        WAITING: "still waiting (MQL)",
        SQL: "now SQL",
        CUSTOMER: "now customers",
        SENT_BACK: "sent back by sales, now with marketing",
        LOST: "lost after acceptance",
        DISQUALIFIED: "disqualified (not by a loss after acceptance)",
    }


class ConsentAnswer:
    """The person's latest answer on marketing contact (`Lead.consent`), as the list
    filters it: a blank answer has a name of its own here (an empty value is no filter)."""

    NOT_RECORDED = "not_recorded"
    REFUSED_OR_WITHDRAWN = "no_contact"
    CHOICES = [
        (NOT_RECORDED, "Not recorded"),
        (Consent.GIVEN, "Given"),
        (Consent.REFUSED, "Refused"),
        (Consent.WITHDRAWN, "Withdrawn"),
        (REFUSED_OR_WITHDRAWN, "Refused or withdrawn (do not contact)"),
    ]
    # Answered leads are in the partial index `lead_consent_newest` (consent, newest first).
    Q = {
        NOT_RECORDED: Q(consent=""),
        Consent.GIVEN: Q(consent=Consent.GIVEN),
        Consent.REFUSED: Q(consent=Consent.REFUSED),
        Consent.WITHDRAWN: Q(consent=Consent.WITHDRAWN),
        REFUSED_OR_WITHDRAWN: Q(consent__in=sorted(NO_CONTACT)),
    }


def team_leads(team: Team) -> Q:
    """A team's leads: a sales team's are owned by its members; a marketing team's were
    created or handed off by its members."""
    if team.kind == TeamKind.SALES:
        return Q(owner__membership__team=team)
    return Q(qualified_by__membership__team=team) | Q(created_by__membership__team=team)


DRILLS = (
    "entered",
    "cohort",
    "outcome",
    "left",
    "responded",
    "reached",
    "sla",
    "stage_then",
    "mql_version",
    "agreement_version",
)
# Every parameter of a report drill-down: kept (hidden) when the list's own form is sent.
DRILL_PARAMS = (*DRILLS, "week", "week_to", "reason", "clock_owner", "clock_team", "as_of", "referrer")


class LeadFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        week, week_to = data.get("week"), data.get("week_to")
        if week and week_to and week_to < week:
            self.add_error("week_to", "The last week must not be before the first.")
        asked = [name for name in DRILLS if data.get(name) not in (None, "")]
        if len(asked) > 1:
            raise forms.ValidationError("Ask for one report drill-down at a time: " + ", ".join(asked) + ".")
        if data.get("stage_then") and not data.get("as_of"):
            self.add_error("as_of", "Give the date the stage is read at.")
        return data


SORTS = {
    "newest": ("-created_at", "Newest first"),
    "oldest": ("created_at", "Oldest first"),
    "score": ("-score", "Highest score"),
    "stage_change": ("-stage_entered_at", "Latest stage change"),
    "name": ("last_name", "Name (A–Z)"),
    "company": ("company", "Company (A–Z)"),
}


class LeadFilter(StrictFilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    # Columns of the lead's own row: no join, so no duplicates, and no DISTINCT (which
    # django-filter adds to a multiple choice by default) to sort every match by.
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, distinct=False)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices, distinct=False)
    campaign = IdFilter(queryset=Campaign.objects.all(), empty_label="Any campaign", null_label="No campaign")
    owner = id_number_filter(field_name="owner_id", label="Owner (user id)")
    team = IdFilter(queryset=Team.objects.all(), method="filter_team", label="Team")
    segment = django_filters.ChoiceFilter(choices=Segment.CHOICES, method="filter_segment", label="Segment")
    referrer = id_number_filter(field_name="referrer_id", label="Referred by (user id)")
    qualified_by = id_number_filter(field_name="qualified_by_id")
    recycled = YesNoFilter(method="filter_recycled", label="Sent back by sales")
    consent = django_filters.ChoiceFilter(
        choices=ConsentAnswer.CHOICES,
        method="filter_consent",
        label="Consent to marketing contact",
        empty_label="Any answer",
    )
    score_band = django_filters.ChoiceFilter(
        choices=ScoreBand.CHOICES, method="filter_score_band", label="Score"
    )
    score_min = whole_number_filter(-1_000_000, 1_000_000, field_name="score", lookup_expr="gte")
    score_max = whole_number_filter(-1_000_000, 1_000_000, field_name="score", lookup_expr="lte")
    created_after = DateFilter(field_name="created_at", lookup_expr="date__gte", label="Created from")
    created_before = DateFilter(field_name="created_at", lookup_expr="date__lte", label="Created until")
    # Report drill-downs: exactly the leads behind a figure (reports.metrics), for the
    # weeks `week`..`week_to` (one week when `week_to` is not given).
    week = DateFilter(method="filter_nothing", label="First ISO week (any date in it)")
    week_to = DateFilter(method="filter_nothing", label="Last ISO week (any date in it)")
    entered = django_filters.ChoiceFilter(
        choices=Stage.choices, method="filter_entered", label="Entered stage in the weeks"
    )
    cohort = django_filters.ChoiceFilter(
        choices=CohortState.CHOICES,
        method="filter_cohort",
        label="Entered MQL in the weeks and now in this state (cohort conversion)",
    )
    outcome = django_filters.ChoiceFilter(
        choices=[
            ("accepted", "Accepted"),
            ("rejected", "Rejected"),
            ("answered", "Accepted or rejected"),
            ("won", "Won"),
            ("lost", "Lost"),
            ("closed", "Won or lost"),
        ],
        method="filter_outcome",
        label="Response or outcome in the weeks",
    )
    reason = IdFilter(queryset=Reason.objects.all(), method="filter_nothing", label="Reason (with outcome)")
    left = django_filters.ChoiceFilter(
        choices=Stage.choices, method="filter_left", label="Left stage in the weeks"
    )
    responded = YesNoFilter(method="filter_responded", label="Responded to in the weeks (speed to lead)")
    reached = django_filters.ChoiceFilter(
        choices=[("lead", "Any"), ("mql", "MQL"), ("sql", "SQL"), ("customer", "Customer")],
        method="filter_reached",
        label="Created in the weeks and ever reached",
    )
    sla = django_filters.ChoiceFilter(
        choices=[("resolved", "Resolved"), ("met", "Met on time"), ("breached", "Breached")],
        method="filter_sla",
        label="SLA clock resolved in the weeks",
    )
    clock_owner = id_number_filter(method="filter_nothing", label="Clock owner (user id, with sla)")
    clock_team = IdFilter(
        queryset=Team.objects.all(), method="filter_nothing", label="Clock owner's team (with sla)"
    )
    mql_version = id_number_filter(
        method="filter_mql_version",
        label="Handed off in the weeks under this MQL definition (scoring) version",
    )
    agreement_version = id_number_filter(
        method="filter_agreement_version",
        label="Handed off in the weeks under this agreement version",
    )
    as_of = DateFilter(method="filter_nothing", label="Funnel as of (end of day)")
    stage_then = django_filters.ChoiceFilter(
        choices=Stage.choices, method="filter_stage_then", label="Stage at the end of as_of"
    )

    class Meta:
        model = Lead
        fields = ["q", "stage", "source", "campaign", "owner", "qualified_by", "recycled"]
        form = LeadFilterForm

    def filter_recycled(self, queryset, name, value):
        recycled = Q(stage=Stage.LEAD, recycle_count__gt=0)
        return queryset.filter(recycled) if value else queryset.exclude(recycled)

    def filter_q(self, queryset, name, value):
        return queryset.search(value)

    def filter_nothing(self, queryset, name, value):
        return queryset  # read by filter_entered and filter_outcome

    def filter_team(self, queryset, name, value):
        return queryset.filter(team_leads(value))

    def filter_segment(self, queryset, name, value):
        return queryset.filter(Segment.Q[value])

    def filter_consent(self, queryset, name, value):
        return queryset.filter(ConsentAnswer.Q[value])

    def drill_weeks(self) -> tuple[dt.date, dt.date]:
        """The first and last Monday of the drill-down (this week when none is given)."""
        data = self.form.cleaned_data
        first = monday_of(data.get("week"))
        return first, monday_of(data.get("week_to") or first)

    def drill_description(self) -> str | None:
        """In words, the report figure this list is the drill-down of (None if it is not)."""
        if not (self.is_bound and self.is_valid()):
            return None
        data = self.form.cleaned_data
        first, last = self.drill_weeks()
        weeks = (
            f"in the week of {formats.day(first)}"
            if first == last
            else f"in the weeks of {formats.day(first)} to {formats.day(last)}"
        )
        stage = dict(Stage.choices)
        if data.get("entered"):
            return f"leads that entered {stage[data['entered']]} {weeks}"
        if data.get("cohort"):
            return f"leads that entered MQL {weeks} and are {CohortState.NOW[data['cohort']]}"
        if data.get("outcome"):
            outcome = dict(self.filters["outcome"].extra["choices"])[data["outcome"]].lower()
            reason = f" for “{data['reason'].label}”" if data.get("reason") else ""
            return f"leads {outcome}{reason} {weeks}"
        if data.get("left"):
            return f"leads that left {stage[data['left']]} {weeks}"
        if data.get("responded") is not None:
            return f"leads {'' if data['responded'] else 'not '}responded to {weeks} (speed to lead)"
        if data.get("reached"):
            reached = "" if data["reached"] == "lead" else f" that ever became {stage[data['reached']]}"
            return f"leads created {weeks}{reached}"
        if data.get("sla"):
            status = {"resolved": "resolved", "met": "met on time", "breached": "breached"}[data["sla"]]
            return f"leads with an SLA clock {status} {weeks}"
        if data.get("mql_version") is not None:
            return f"leads handed off {weeks} under MQL definition version {int(data['mql_version'])}"
        if data.get("agreement_version") is not None:
            return f"leads handed off {weeks} under agreement version {int(data['agreement_version'])}"
        if data.get("stage_then"):
            return f"leads that were {stage[data['stage_then']]} at the end of {formats.day(data['as_of'])}"
        return None

    def _drill_ids(self, drill: str, value, **extra):
        """The ids of the leads behind a report figure (its definition: `reports.metrics`)."""
        first, last = self.drill_weeks()
        return drilldown_lead_ids(drill=drill, value=value, first=first, last=last, extra=extra)

    def _drill(self, queryset, drill: str, value, **extra):
        return queryset.filter(pk__in=self._drill_ids(drill, value, **extra))

    def filter_entered(self, queryset, name, value):
        return self._drill(queryset, "entered", value)

    def filter_cohort(self, queryset, name, value):
        return self._drill(queryset, "cohort", value)

    def filter_outcome(self, queryset, name, value):
        return self._drill(queryset, "outcome", value, reason=self.form.cleaned_data.get("reason"))

    def filter_left(self, queryset, name, value):
        return self._drill(queryset, "left", value)

    def filter_responded(self, queryset, name, value):
        ids = self._drill_ids("responded", True)
        return queryset.filter(pk__in=ids) if value else queryset.exclude(pk__in=ids)

    def filter_reached(self, queryset, name, value):
        return self._drill(queryset, "reached", value)

    def filter_sla(self, queryset, name, value):
        data = self.form.cleaned_data
        return self._drill(queryset, "sla", value, owner=data.get("clock_owner"), team=data.get("clock_team"))

    def filter_mql_version(self, queryset, name, value):
        return self._drill(queryset, "handed_off", int(value))

    def filter_agreement_version(self, queryset, name, value):
        return self._drill(queryset, "handed_off_agreement", int(value))

    def filter_stage_then(self, queryset, name, value):
        return queryset.filter(pk__in=as_of_ids(self.form.cleaned_data["as_of"], value))

    def filter_score_band(self, queryset, name, value):
        threshold = ScoringDefinition.current().threshold
        half = threshold // 2
        if value == ScoreBand.HOT:
            return queryset.filter(score__gte=threshold)
        if value == ScoreBand.WARM:
            return queryset.filter(score__gte=half, score__lt=threshold)
        return queryset.filter(score__lt=half)


def end_of_day(day: dt.date) -> dt.datetime:
    """The last moment of `day` in the organisation's zone (a funnel "as of" a date)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=org_tz()) - dt.timedelta(
        microseconds=1
    )


def as_of_ids(day: dt.date, stage: str):
    return leads_as_of(end_of_day(day)).filter(stage_then=stage).values("pk")
