import django_filters
from django.db.models import Q

from .models import Lead, Reason, ReasonKind, Source, Stage


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    source = django_filters.MultipleChoiceFilter(choices=Source.choices)
    campaign = django_filters.NumberFilter(field_name="campaign_id")
    owner = django_filters.NumberFilter(field_name="owner_id")
    qualified_by = django_filters.NumberFilter(field_name="qualified_by_id")
    recycled = django_filters.BooleanFilter(method="filter_recycled", label="Sent back by sales")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_q", label="Search name, email or company")

    class Meta:
        model = Lead
        fields = ["stage", "source", "campaign", "owner", "qualified_by"]

    def filter_recycled(self, queryset, name, value):
        recycled = Q(stage=Stage.LEAD, recycle_count__gt=0)
        return queryset.filter(recycled) if value else queryset.exclude(recycled)

    def filter_q(self, queryset, name, value):
        return queryset.search(value)


class ReasonFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ReasonKind.choices)

    class Meta:
        model = Reason
        fields = ["kind", "is_active"]
