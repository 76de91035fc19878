"""SLA API: policies, team calendars, the deadline preview, clocks and breaches, and
marketing's commitments. Parse, call a service or selector, serialize."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from sla import calendars, selectors
from sla.models import Clock, SlaPolicy, TeamCalendar
from sla.permissions import CalendarEditor
from sla.policies import POLICY_FIELDS
from sla.services import calendar_from, calendar_of_team
from smarketing.agreement.api import ProposedRemoval, ProposedWriteViewSet
from smarketing.core import serializers as strict
from smarketing.core.api import query_value
from smarketing.core.inputs import BoundedDateSerializerField, date_in, datetime_in, id_in
from smarketing.org.models import Source, Team
from smarketing.org.permissions import HasProductRole


class ClosureSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    date = BoundedDateSerializerField()
    reason = strict.CharField(max_length=200)


class CalendarSerializer(serializers.Serializer):
    team = serializers.IntegerField(read_only=True)
    team_name = strict.CharField(read_only=True)
    time_zone = strict.CharField(read_only=True)
    hours = serializers.DictField(
        child=serializers.ListField(child=strict.CharField(), min_length=2, max_length=2),
        help_text='Weekday (0 = Monday) → ["09:00", "17:00"]; a missing day is closed.',
    )
    holiday_country = strict.CharField(required=False, allow_blank=True, max_length=2)
    holiday_subdivision = strict.CharField(required=False, allow_blank=True, max_length=10)
    closures = ClosureSerializer(many=True, read_only=True)


def _calendar_body(team: Team) -> dict:
    stored = TeamCalendar.objects.filter(team=team).prefetch_related("closures").first()
    calendar = calendar_from(team, stored)
    return {
        "team": team.pk,
        "team_name": team.name,
        "time_zone": team.time_zone,
        "hours": {
            str(day): [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
            for day in range(7)
            if (span := calendar.hours_on(day)) is not None
            for opens, closes in [span]
        },
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
        "closures": [
            {"id": c.pk, "date": c.date, "reason": c.reason}
            for c in (stored.closures.all() if stored else [])
        ],
    }


class CalendarListView(APIView):
    @extend_schema(responses=CalendarSerializer(many=True))
    def get(self, request):
        return Response([_calendar_body(team) for team in Team.objects.order_by("name")])


class CalendarView(APIView):
    """One team's business calendar; its manager changes it (audited)."""

    permission_classes = [CalendarEditor]

    @extend_schema(responses=CalendarSerializer)
    def get(self, request, team_id: int):
        return Response(_calendar_body(get_object_or_404(Team, pk=team_id)))

    @extend_schema(request=CalendarSerializer, responses=CalendarSerializer)
    def put(self, request, team_id: int):
        data = CalendarSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        calendars.team_calendar_update(actor=request.user, team_id=team_id, **data.validated_data)
        return Response(_calendar_body(Team.objects.get(pk=team_id)))


class ClosureListView(APIView):
    permission_classes = [CalendarEditor]

    @extend_schema(request=ClosureSerializer, responses={201: ClosureSerializer})
    def post(self, request, team_id: int):
        data = ClosureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        closure = calendars.calendar_closure_add(actor=request.user, team_id=team_id, **data.validated_data)
        return Response({"id": closure.pk, "date": closure.date, "reason": closure.reason}, status=201)


class ClosureView(APIView):
    permission_classes = [CalendarEditor]

    @extend_schema(responses={204: None})
    def delete(self, request, team_id: int, closure_id: int):
        calendars.calendar_closure_remove(actor=request.user, team_id=team_id, closure_id=closure_id)
        return Response(status=204)


class DeadlinePreviewView(APIView):
    """“A lead handed off at `at` is due when?” under a team's calendar."""

    @extend_schema(
        parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME, description="Default: now")],
        responses=inline_serializer(
            "DeadlinePreview",
            {
                "at": serializers.DateTimeField(),
                "response_due": serializers.DateTimeField(),
                "follow_up_due": serializers.DateTimeField(),
            },
        ),
    )
    def get(self, request, team_id: int):
        team = get_object_or_404(Team, pk=team_id)
        # A time without a zone is in the organisation's zone.
        at = query_value(request, "at", datetime_in) or timezone.now()
        calendar = calendar_of_team(team)
        return Response(
            {
                "at": at,
                "response_due": calendars.deadline_preview(
                    calendar, at, settings.SLA_RESPONSE_BUSINESS_HOURS
                ),
                "follow_up_due": calendars.deadline_preview(
                    calendar, at, 8 * settings.SLA_FOLLOW_UP_BUSINESS_DAYS
                ),
            }
        )


class SlaPolicySerializer(strict.ModelSerializer):
    warn_percents = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=99),
        required=False,
        help_text="Percentages of the time allowed at which the owner is warned.",
    )
    sources = serializers.ListField(child=serializers.ChoiceField(choices=Source.choices), required=False)
    name = strict.CharField(max_length=120, help_text="Unique among the policies.")

    class Meta:
        model = SlaPolicy
        fields = ["id", *POLICY_FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]


class SlaPolicyViewSet(ProposedRemoval, ProposedWriteViewSet):
    """SLA policies, first match by priority. A manager's write proposes the change in the
    agreement's proposed version; the policies in force apply until both managers confirm."""

    serializer_class = SlaPolicySerializer
    queryset = SlaPolicy.objects.select_related("campaign", "team")
    id_kwarg = "policy_id"
    save_op = "sla_policy_save"
    delete_op = "sla_policy_delete"


class ClockSerializer(strict.ModelSerializer):
    lead_name = strict.CharField(source="lead.__str__", read_only=True)
    owner_username = strict.CharField(source="owner.username", read_only=True)
    policy_name = strict.CharField(source="policy.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Clock
        fields = [
            "id",
            "obligation",
            "lead",
            "lead_name",
            "owner",
            "owner_username",
            "policy",
            "policy_name",
            "started_at",
            "due_at",
            "warn_at",
            "warnings_sent",
            "warned_at",
            "met_at",
            "breached_at",
            "cancelled_at",
        ]


class ClockListView(generics.ListAPIView):
    """SLA clocks. `state`: running, at_risk (due within 4 h), breached (in `week`), all.
    Filters: `owner`, `lead`, `week` (any date in the ISO week, for breached)."""

    permission_classes = [HasProductRole]
    serializer_class = ClockSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, enum=["running", "at_risk", "breached", "all"]),
            OpenApiParameter("owner", OpenApiTypes.INT),
            OpenApiParameter("lead", OpenApiTypes.INT),
            OpenApiParameter("week", OpenApiTypes.DATE),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        state = params.get("state", "running")
        monday = query_value(self.request, "week", date_in)
        owner = query_value(self.request, "owner", id_in, message="Use a user id.")
        lead = query_value(self.request, "lead", id_in, message="Use a lead id.")
        if monday is not None:
            monday -= dt.timedelta(days=monday.weekday())
        clocks = {
            "running": lambda: (
                Clock.objects.running().select_related("lead", "owner", "policy").order_by("due_at")
            ),
            "at_risk": lambda: selectors.at_risk(),
            "breached": lambda: selectors.breaches(monday),
            "all": lambda: Clock.objects.select_related("lead", "owner", "policy").order_by("-started_at"),
        }.get(state)
        if clocks is None:
            raise ValidationError({"state": ["Use running, at_risk, breached or all."]})
        queryset = clocks()
        if owner is not None:
            queryset = queryset.filter(owner_id=owner)
        if lead is not None:
            queryset = queryset.filter(lead_id=lead)
        return queryset
