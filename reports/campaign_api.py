"""A campaign's closed loop as JSON: `GET /api/campaigns/{id}/funnel/`, the figures the
campaign page shows (`reports.campaigns`, which reads the dashboard's attribution), each
count with the lead-list URL of exactly its leads."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.campaign_forms import CampaignRangeForm
from reports.campaigns import FIGURES, campaign_funnel
from reports.dashboard import plain
from smarketing.core import serializers as strict
from smarketing.core.api import query_form
from smarketing.core.schema import form_parameters
from smarketing.org.api import CampaignPermission
from smarketing.org.models import Campaign


def _money(help_text: str) -> serializers.CharField:
    return strict.CharField(allow_null=True, help_text=f"{help_text} A decimal string with 2 places.")


class CampaignFunnelSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    name = strict.CharField()
    first_week = serializers.DateField(help_text="Monday of the first ISO week whose new leads count.")
    last_week = serializers.DateField(help_text="Monday of the last one.")
    all_time = serializers.BooleanField(
        help_text="True when no range was asked for: from its first lead's week."
    )
    leads = serializers.IntegerField(
        help_text="Leads created in the weeks with this campaign as first touch."
    )
    mqls = serializers.IntegerField(help_text="Of those, how many ever became MQL.")
    sqls = serializers.IntegerField(help_text="… ever became SQL.")
    customers = serializers.IntegerField(help_text="… became customers.")
    revenue = _money("What their wins brought.")
    budget = _money("Planned spend (null: none set).")
    cost = _money("Actual cost.")
    cost_per_customer = _money("cost ÷ customers; null without customers.")
    roi = serializers.FloatField(
        allow_null=True, help_text="(revenue − cost) ÷ cost; null when the cost is 0."
    )
    links = serializers.DictField(
        child=strict.CharField(),
        help_text="Per count (leads, mqls, sqls, customers): the lead list of its leads.",
    )


RANGE_PARAMETERS = form_parameters(CampaignRangeForm)


class CampaignFunnelView(APIView):
    """One campaign's funnel (first touch), revenue, budget and actual cost, cost per
    customer and ROI — the dashboard's "Closed loop by campaign" row for it — over all time
    or the weeks asked for. For marketing, sales and managers."""

    permission_classes = [CampaignPermission]

    @extend_schema(
        operation_id="campaigns_funnel", parameters=RANGE_PARAMETERS, responses=CampaignFunnelSerializer
    )
    def get(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        form = query_form(request, CampaignRangeForm)
        funnel = campaign_funnel(
            campaign=campaign, first=form.cleaned_data.get("week"), last=form.cleaned_data.get("week_to")
        )
        body = {
            "campaign": campaign.pk,
            "name": campaign.name,
            "first_week": funnel.first,
            "last_week": funnel.last,
            "all_time": funnel.all_time,
            **{name: plain(funnel.figure(name)) for name in FIGURES},
            "budget": plain(campaign.budget),
            "links": funnel.links,
        }
        return Response(CampaignFunnelSerializer(body).data)
