"""django-filter FilterSets for the agreement's lists."""

import django_filters

from smarketing.agreement.models import Reason, ReasonKind
from smarketing.core.inputs import StrictFilterSet


class ReasonFilter(StrictFilterSet):
    kind = django_filters.ChoiceFilter(choices=ReasonKind.choices)

    class Meta:
        model = Reason
        fields = ["kind", "is_active"]
