"""django-filter FilterSets: one set of lead filters for the list page and the API."""

import django_filters
from django.db.models import Q

from reports.metrics import entered_lead_ids, event_lead_ids
from smarketing.weeks import monday_of

from .models import Campaign, Lead, Reason, ReasonKind, ScoringDefinition, Source, Stage


class AnyYesNo(django_filters.widgets.BooleanWidget):
    """true / false / empty, shown as Yes / No / Any (the API takes true and false)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


class ScoreBand:
    COLD = "cold"
    WARM = "warm"
    HOT = "hot"
    CHOICES = [
        (COLD, "Cold (under half the threshold)"),
        (WARM, "Warm (half the threshold and up)"),
        (HOT, "Hot (at or above the MQL threshold)"),
    ]


SORTS = {
    "newest": ("-created_at", "Newest first"),
    "oldest": ("created_at", "Oldest first"),
    "score": ("-score", "Highest score"),
    "stage_change": ("-stage_entered_at", "Latest stage change"),
    "name": ("last_name", "Name (A–Z)"),
    "company": ("company", "Company (A–Z)"),
}


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices)
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.all(), empty_label="Any campaign")
    owner = django_filters.NumberFilter(field_name="owner_id", label="Owner (user id)")
    qualified_by = django_filters.NumberFilter(field_name="qualified_by_id")
    recycled = django_filters.BooleanFilter(
        method="filter_recycled",
        label="Sent back by sales",
        widget=AnyYesNo(),
    )
    score_band = django_filters.ChoiceFilter(
        choices=ScoreBand.CHOICES, method="filter_score_band", label="Score"
    )
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="Created from"
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="Created until"
    )
    # Report drill-downs: exactly the leads behind a weekly figure (reports.metrics).
    week = django_filters.DateFilter(
        method="filter_nothing", label="ISO week (any date in it), for entered/outcome"
    )
    entered = django_filters.ChoiceFilter(
        choices=Stage.choices, method="filter_entered", label="Entered stage in week"
    )
    outcome = django_filters.ChoiceFilter(
        choices=[("accepted", "Accepted"), ("rejected", "Rejected"), ("won", "Won"), ("lost", "Lost")],
        method="filter_outcome",
        label="Response or outcome in week",
    )

    class Meta:
        model = Lead
        fields = ["q", "stage", "source", "campaign", "owner", "qualified_by", "recycled"]

    def filter_recycled(self, queryset, name, value):
        recycled = Q(stage=Stage.LEAD, recycle_count__gt=0)
        return queryset.filter(recycled) if value else queryset.exclude(recycled)

    def filter_q(self, queryset, name, value):
        return queryset.search(value)

    def filter_nothing(self, queryset, name, value):
        return queryset  # read by filter_entered and filter_outcome

    def drill_week(self):
        """The Monday of the drill-down week (this week when none is given)."""
        return monday_of(self.form.cleaned_data.get("week"))

    def filter_entered(self, queryset, name, value):
        return queryset.filter(pk__in=entered_lead_ids(value, self.drill_week()))

    def filter_outcome(self, queryset, name, value):
        return queryset.filter(pk__in=event_lead_ids(value, self.drill_week()))

    def filter_score_band(self, queryset, name, value):
        threshold = ScoringDefinition.current().threshold
        half = threshold // 2
        if value == ScoreBand.HOT:
            return queryset.filter(score__gte=threshold)
        if value == ScoreBand.WARM:
            return queryset.filter(score__gte=half, score__lt=threshold)
        return queryset.filter(score__lt=half)


class ReasonFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ReasonKind.choices)

    class Meta:
        model = Reason
        fields = ["kind", "is_active"]
