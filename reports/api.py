"""The dashboard's figures as JSON: the same tables the page draws and the CSV exports carry
(built once, by `reports.dashboard`), each cell's drill-down given as a lead-list URL."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from reports import commitments, dashboard
from reports.commitments import MAX_WEEKLY_MQLS
from reports.forms import AsOfForm, DashboardForm, GoalForm
from reports.goal import GoalError, measure, plan
from reports.models import MarketingCommitment
from reports.views import all_tables, can_read_reports
from smarketing.agreement import versions
from smarketing.agreement.api import PROPOSED, proposed
from smarketing.core import serializers as strict
from smarketing.core.api import error_body, query_form
from smarketing.core.inputs import ID_MAX
from smarketing.core.schema import form_parameters
from smarketing.org.permissions import ManagerWrites


class CommitmentSerializer(serializers.Serializer):
    team = serializers.IntegerField(read_only=True)
    team_name = strict.CharField(read_only=True)
    min_mqls = serializers.IntegerField(min_value=0, max_value=MAX_WEEKLY_MQLS)
    min_acceptance_percent = serializers.IntegerField(min_value=0, max_value=100)
    is_active = serializers.BooleanField(required=False, default=True)
    this_week = serializers.DictField(
        read_only=True,
        allow_null=True,
        help_text="This week so far, against the terms in force at its start: status 'on track' or "
        "'behind' (its pace, not a verdict), mqls_due = MQLs due by now. Null when no terms were "
        "in force when the week began.",
    )
    finished_weeks = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="The last finished weeks judged, newest first, each by the terms in force at its "
        "start: status 'kept' or 'missed'; recorded_at null until the week is recorded; late_data "
        "holds today's figures of a recorded week when they differ from the recorded ones.",
    )


FINISHED_WEEKS = 12  # finished weeks in a commitment's body


def _figures(figures: commitments.Figures) -> dict:
    return {
        "mqls": figures.mqls,
        "accepted": figures.accepted,
        "rejected": figures.rejected,
        "acceptance_percent": figures.acceptance_percent,
    }


def _week_body(week: commitments.WeekStatus) -> dict:
    body = {
        "week_start": week.week_start,
        "min_mqls": week.min_mqls,
        "min_acceptance_percent": week.min_acceptance_percent,
        **_figures(week.figures),
        "status": week.status,
    }
    if week.finished:
        body.update(
            met=week.met,
            recorded_at=week.recorded_at,
            late_data=_figures(week.now) if week.now else None,
        )
    else:
        body.update(mqls_due=week.mqls_due, on_track=week.status == commitments.ON_TRACK)
    return body


def _commitment_bodies(rows: list[MarketingCommitment]) -> list[dict]:
    """Each commitment (its terms now) with this week's pace and its last finished weeks: a
    fixed number of queries whatever the number of weeks (`commitments.commitment_weeks`)."""
    this_week = commitments.week_start()
    weeks: dict[int, list[commitments.WeekStatus]] = {}
    for week in commitments.commitment_weeks(
        this_week - dt.timedelta(weeks=FINISHED_WEEKS), this_week, team_ids=[row.team_id for row in rows]
    ):
        weeks.setdefault(week.team.pk, []).append(week)
    bodies = []
    for row in rows:
        team_weeks = weeks.get(row.team_id, [])
        current = next((week for week in team_weeks if not week.finished), None)
        finished = [week for week in reversed(team_weeks) if week.finished][:FINISHED_WEEKS]
        bodies.append(
            {
                "team": row.team_id,
                "team_name": row.team.name,
                "min_mqls": row.min_mqls,
                "min_acceptance_percent": row.min_acceptance_percent,
                "is_active": row.is_active,
                "this_week": _week_body(current) if current else None,
                "finished_weeks": [_week_body(week) for week in finished],
            }
        )
    return bodies


class CommitmentListView(APIView):
    """Marketing's weekly commitments, with this week's pace and the finished weeks."""

    @extend_schema(responses=CommitmentSerializer(many=True))
    def get(self, request):
        return Response(
            _commitment_bodies(
                list(MarketingCommitment.objects.select_related("team").order_by("team__name"))
            )
        )


class CommitmentView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(responses=CommitmentSerializer)
    def get(self, request, team_id: int):
        commitment = get_object_or_404(MarketingCommitment.objects.select_related("team"), team_id=team_id)
        return Response(_commitment_bodies([commitment])[0])

    @extend_schema(request=CommitmentSerializer, responses={202: PROPOSED})
    def put(self, request, team_id: int):
        """Propose marketing's weekly commitment in the agreement's proposed version."""
        data = CommitmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return proposed(
            versions.agreement_propose(
                actor=request.user, op="commitment_update", team_id=team_id, **data.validated_data
            )
        )


class CanReadReports(IsAuthenticated):
    message = "The funnel dashboard is for marketing, sales and their managers."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_read_reports(request.user)


class ColumnSerializer(serializers.Serializer):
    key = strict.CharField()
    label = strict.CharField()
    kind = serializers.ChoiceField(
        choices=["text", "date", "count", "percent", "seconds", "days", "money", "flag"],
        help_text="percent: a ratio (0.25 = 25 %); seconds: business seconds; money: a decimal string.",
    )


class TableSerializer(serializers.Serializer):
    slug = strict.CharField()
    title = strict.CharField()
    note = strict.CharField()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(), help_text="One object per row: column key → value."
    )
    links = serializers.ListField(
        child=serializers.DictField(child=strict.CharField()),
        help_text="Per row: column key → the lead-list URL of exactly the leads behind that count.",
    )


class RangeSerializer(serializers.Serializer):
    first_week = serializers.DateField(help_text="Monday of the first ISO week (org time zone).")
    last_week = serializers.DateField()
    weeks = serializers.IntegerField()
    filters = serializers.DictField(child=strict.CharField())


class DashboardSerializer(serializers.Serializer):
    range = RangeSerializer()
    tables = TableSerializer(many=True)


# The dashboard's query parameters are its form's fields (one definition for the page, the
# CSV export and the API).
SCOPE_DESCRIPTIONS = {
    "week": "Any day in the first week (default: 11 weeks before week_to).",
    "week_to": "Any day in the last week (default: this week).",
    "team": "Team id: a sales team's leads (owned by its members) or a marketing team's "
    "(created or handed off by them).",
    "source": "First-touch source.",
    "campaign": "Campaign id.",
    "owner": "Rep (user id): the leads they own.",
}
DASHBOARD_PARAMETERS = form_parameters(DashboardForm, SCOPE_DESCRIPTIONS)


def _range(scope: dashboard.Scope) -> dict:
    return {
        "first_week": scope.first,
        "last_week": scope.last,
        "weeks": len(scope.weeks),
        "filters": {key: str(value) for key, value in scope.params.items()},
    }


class DashboardView(APIView):
    """Every table of the weekly funnel dashboard for a range and filters."""

    permission_classes = [CanReadReports]

    @extend_schema(parameters=DASHBOARD_PARAMETERS, responses=DashboardSerializer)
    def get(self, request):
        scope = query_form(request, DashboardForm).scope()
        tables = all_tables(scope)
        data = {"range": _range(scope), "tables": [dashboard.table_data(t, scope) for t in tables.values()]}
        return Response(DashboardSerializer(data).data)


class DashboardTableView(APIView):
    """One table of the dashboard (the slugs are those of GET /api/reports/dashboard/)."""

    permission_classes = [CanReadReports]

    @extend_schema(
        operation_id="reports_dashboard_table",
        parameters=DASHBOARD_PARAMETERS,
        responses=TableSerializer,
    )
    def get(self, request, slug: str):
        scope = query_form(request, DashboardForm).scope()
        tables = all_tables(scope, only={slug})
        if slug not in tables:
            raise NotFound(
                f"No report table “{slug}”. Tables: {', '.join([*dashboard.TABLES, 'late-data'])}."
            )
        return Response(TableSerializer(dashboard.table_data(tables[slug], scope)).data)


class FunnelAsOfView(APIView):
    """How many leads were in each stage at the end of a day, rebuilt from the event log."""

    permission_classes = [CanReadReports]

    @extend_schema(
        parameters=form_parameters(AsOfForm, {"as_of": "Default: today."}) + DASHBOARD_PARAMETERS,
        responses=TableSerializer,
    )
    def get(self, request):
        day = query_form(request, AsOfForm).cleaned_data["as_of"]
        scope = query_form(request, DashboardForm).scope()
        return Response(TableSerializer(dashboard.table_data(dashboard.as_of_table(day, scope), scope)).data)


class RateSerializer(serializers.Serializer):
    name = strict.CharField()
    definition = strict.CharField()
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField(help_text="The sample size.")
    value = serializers.FloatField(
        allow_null=True, help_text="numerator ÷ denominator; null without a sample."
    )


class StepSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=["customers", "sqls", "mqls", "leads"])
    label = strict.CharField()
    total = serializers.IntegerField()
    per_week = serializers.IntegerField()
    arithmetic = strict.CharField()


class GoalSerializer(serializers.Serializer):
    window_first_week = serializers.DateField()
    window_last_week = serializers.DateField()
    rates = RateSerializer(many=True)
    average_deal = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="The one the plan used."
    )
    deal_measured = serializers.BooleanField(
        help_text="True when measured (deals won in the window), not given."
    )
    deals = serializers.IntegerField(help_text="Deals won in the window with an amount.")
    steps = StepSerializer(many=True)


class GoalProposalSerializer(serializers.Serializer):
    # The calculator's inputs with the bounds its form applies (GoalForm).
    target = strict.DecimalField(
        max_digits=14, decimal_places=2, min_value=GoalForm.base_fields["target"].min_value
    )
    weeks = serializers.IntegerField(
        min_value=GoalForm.base_fields["weeks"].min_value, max_value=GoalForm.base_fields["weeks"].max_value
    )
    window = serializers.IntegerField(
        min_value=GoalForm.base_fields["window"].min_value, max_value=GoalForm.base_fields["window"].max_value
    )
    average_deal = strict.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=GoalForm.base_fields["average_deal"].min_value,
        required=False,
        allow_null=True,
    )
    team = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, help_text="The marketing team whose commitment is proposed."
    )
    min_acceptance_percent = serializers.IntegerField(min_value=0, max_value=100)


class GoalView(APIView):
    """The revenue-goal calculator: customers, SQLs, MQLs and leads needed for a revenue
    target, worked back with the conversion rates measured over the last finished weeks.
    POST proposes the result as marketing's weekly commitment in a new agreement version."""

    permission_classes = [CanReadReports, ManagerWrites]

    @extend_schema(
        parameters=form_parameters(
            GoalForm,
            {
                "target": "Revenue target.",
                "weeks": "Weeks to reach it in.",
                "average_deal": "Default: measured.",
                "window": "Finished weeks to measure over.",
            },
        ),
        responses={200: GoalSerializer, 422: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        worked = self._work(query_form(request, GoalForm))
        if isinstance(worked, Response):
            return worked
        return self._answer(*worked)

    @extend_schema(
        request=GoalProposalSerializer,
        responses={202: PROPOSED, 422: OpenApiTypes.OBJECT},
        description="Calculate as GET does, then propose the MQLs needed per week as the marketing "
        "team's weekly commitment in the agreement's proposed version (managers).",
    )
    def post(self, request):
        body = GoalProposalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        worked = self._work(query_form(request, GoalForm, data=body.validated_data))
        if isinstance(worked, Response):
            return worked
        return proposed(
            versions.agreement_propose(
                actor=request.user,
                op="commitment_update",
                team_id=body.validated_data["team"],
                min_mqls=worked[3].step("mqls").per_week,
                min_acceptance_percent=body.validated_data["min_acceptance_percent"],
            )
        )

    @staticmethod
    def _work(form):
        """(window first week, last week, measured rates, plan), or the 422 answer."""

        first, last = form.window_weeks()
        measured = measure(first, last)
        try:
            result = plan(
                target=form.cleaned_data["target"],
                weeks=form.cleaned_data["weeks"],
                measured=measured,
                average_deal=form.cleaned_data["average_deal"],
            )
        except GoalError as exc:
            return Response(error_body("no_sample", str(exc)), status=422)
        return first, last, measured, result

    @staticmethod
    def _answer(first, last, measured, result) -> Response:
        rates = [measured.lead_to_mql, measured.acceptance, measured.win]
        data = {
            "window_first_week": first,
            "window_last_week": last,
            "rates": [{**vars(rate), "value": rate.value} for rate in rates],
            "average_deal": result.average_deal,
            "deal_measured": result.deal_measured,
            "deals": measured.deals,
            "steps": [vars(step) for step in result.steps],
        }
        return Response(GoalSerializer(data).data)
