"""django-filter FilterSets for the agreement's lists."""

import django_filters

from smarketing.agreement.models import Reason, ReasonKind


class ReasonFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ReasonKind.choices)

    class Meta:
        model = Reason
        fields = ["kind", "is_active"]
