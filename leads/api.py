"""The API: parse, call a selector or service, serialize. No business logic here."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from leads import exports, selectors, services
from leads.filters import LeadFilter
from leads.models import ConsentMethod, Lead
from leads.selectors import likely_duplicates
from leads.serializers import (
    CONSENT_INPUTS,
    DUPLICATE_FIELDS,
    ActionSerializer,
    ConsentRecordCreateSerializer,
    ConsentRecordSerializer,
    HandoffSerializer,
    LeadEventSerializer,
    LeadMergeSerializer,
    LeadPatchSerializer,
    LeadSerializer,
    LeadWithWarningsSerializer,
    LeadWriteSerializer,
    NoteAddedSerializer,
    NoteCreateSerializer,
    NoteSerializer,
    QualifySerializer,
    QueueLeadSerializer,
    ReasonActionSerializer,
    ReassignSerializer,
    RecycledLeadSerializer,
    SnoozeSerializer,
    TouchCreateSerializer,
    TouchSerializer,
    WinSerializer,
)
from smarketing.core.api import CursorPaging, query_value
from smarketing.core.errors import ActionError
from smarketing.core.inputs import date_in, id_in
from smarketing.core.sheets import (
    EXPORT_FORMAT_PARAMETER,
    EXPORT_RESPONSES,
    ExportNegotiation,
    export_format,
    table_download,
)
from smarketing.org.permissions import HasProductRole
from smarketing.org.roles import sees_contact_details


class LeadWriteMixin:
    """Writes for `LeadViewSet`: create, partial update and merge, each one service call."""

    def get_serializer_class(self):
        by_action = {
            "create": LeadWriteSerializer,
            "partial_update": LeadPatchSerializer,
            "merge": LeadMergeSerializer,
        }
        return by_action.get(getattr(self, "action", None)) or super().get_serializer_class()

    def _likely_duplicates(self, lead: Lead):
        """Other live leads like the saved one (its stored, normalised values)."""
        return likely_duplicates(
            **{name: getattr(lead, name) for name in DUPLICATE_FIELDS}, exclude_id=lead.pk
        )

    def _with_warnings(self, lead: Lead | int, warnings, status_code=status.HTTP_200_OK) -> Response:
        """The lead as saved, with `warnings`; given its id, it is read again first."""
        if not isinstance(lead, Lead):
            lead = self.get_queryset().get(pk=lead)
        lead.warnings = warnings
        return Response(LeadWithWarningsSerializer(lead).data, status=status_code)

    @extend_schema(request=LeadWriteSerializer, responses={201: LeadWithWarningsSerializer})
    def create(self, request, *args, **kwargs):
        """Create a lead (marketing). A duplicate email is refused with 409 and the
        `existing_id`; likely duplicates are listed in `warnings` and do not block. With
        `consent`, the person's answer on marketing contact is recorded with it (method
        `api`); a bad answer, time or wording is refused with 422 under its field."""
        data = LeadWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        answer = {name: values.pop(name) for name in CONSENT_INPUTS if name in values}
        consent = services.consent_clean(answer, method=ConsentMethod.API) if answer else None
        lead = services.lead_create(actor=request.user, via="api", consent=consent, **values)
        # The service returns the row it wrote: no need to read it back.
        return self._with_warnings(lead, self._likely_duplicates(lead), status.HTTP_201_CREATED)

    @extend_schema(request=LeadPatchSerializer, responses=LeadWithWarningsSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Edit the contact and company profile. With `version`, a stale edit is refused
        with 409. Likely duplicates of the new phone, name or company come as `warnings`."""
        lead = self.get_object()
        data = LeadPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version = values.pop("version", None)
        lead = services.lead_update(lead_id=lead.pk, actor=request.user, expected_version=version, **values)
        warnings = self._likely_duplicates(lead) if set(values) & set(DUPLICATE_FIELDS) else []
        return self._with_warnings(lead.pk, warnings)

    @extend_schema(request=LeadMergeSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def merge(self, request, pk=None):
        """Merge another lead with this one (a marketer or a manager). The survivor keeps
        both histories; the other becomes a pointer to it (`merged_into`)."""
        lead = self.get_object()
        data = LeadMergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        other = data.validated_data["other"]
        survivor, merged = (lead, other) if data.validated_data["survivor"] == "this" else (other, lead)
        result = services.lead_merge(
            survivor_id=survivor.pk, other_id=merged.pk, actor=request.user, note=data.validated_data["note"]
        )
        return Response(LeadSerializer(self.get_queryset().get(pk=result.pk)).data)


class LeadCursorPagination(CursorPaging):
    ordering = "-created_at"


class LeadViewSet(LeadWriteMixin, viewsets.ReadOnlyModelViewSet):
    """Every lead, readable by everyone logged in (the closed loop)."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["created_at", "score", "stage_entered_at", "last_name", "company"]
    ordering = ["-created_at", "-id"]
    # A cursor, not a page number: no COUNT and no deep OFFSET over a million leads.
    pagination_class = LeadCursorPagination
    queryset = Lead.objects.live().select_related("owner", "qualified_by", "referrer", "campaign")

    # --- the export: every lead the filters match, as a file -----------------------------

    @extend_schema(
        operation_id="leads_export",
        parameters=[EXPORT_FORMAT_PARAMETER],
        responses=EXPORT_RESPONSES,
        filters=True,
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        content_negotiation_class=ExportNegotiation,
    )
    def export(self, request):
        """Every lead GET /api/leads/ would list for the same filters and `ordering` — all of
        them, not a page — as a file: the columns Lead ID, Email, First name, Last name,
        Company, Job title, Phone, Country, Website, Stage (code), Owner (full name), Owner
        email, Source (code), Campaign, Created at, Became an MQL at, Became an SQL at,
        Became a customer at (ISO 8601 in the organisation's time zone), Closed on, Deal
        amount, Recycle count, Score, Consent, Consent at, Consent method, Consent wording,
        Lawful basis (codes; blank where no answer is recorded), Referrer email, History.
        What the list hides is blank: email, phone and deal amount where the viewer does not
        see the lead's contact details, owners' emails for an employee without a product
        role."""
        fmt = export_format(request.query_params.get("format"))
        leads = self.filter_queryset(self.get_queryset())
        today = timezone.localdate()
        return table_download(
            exports.lead_export_rows(leads, request.user), f"smarketing-leads-{today}", fmt, bom=True
        )

    # --- transitions: each a POST that calls one service ------------------------------------

    def _act(self, request, serializer_class, service, **fixed):
        lead = self.get_object()
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version = values.pop("version", None)
        service(lead_id=lead.pk, actor=request.user, expected_version=version, **values, **fixed)
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=QualifySerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def qualify(self, request, pk=None):
        """Hand the lead to sales (marketing): stage MQL, routed to a rep (or the rep a
        manager chooses), response clock started."""
        return self._act(request, QualifySerializer, services.lead_qualify)

    @extend_schema(request=SnoozeSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def snooze(self, request, pk=None):
        """Move an SQL's follow-up deadline to the day the lead asked for (owner or manager)."""
        lead = self.get_object()
        data = SnoozeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("note", None)
        services.lead_snooze(
            lead_id=lead.pk, actor=request.user, expected_version=values.pop("version", None), **values
        )
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=ActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def accept(self, request, pk=None):
        """Accept an MQL (the assigned rep or their manager): it becomes an SQL."""
        return self._act(request, ActionSerializer, services.lead_accept)

    @extend_schema(request=ReasonActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request, pk=None):
        """Send an MQL back to marketing with a rejection reason; it is recycled."""
        return self._act(request, ReasonActionSerializer, services.lead_reject)

    @extend_schema(request=WinSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def win(self, request, pk=None):
        """Win an SQL: stage customer, revenue credited to its first touch."""
        return self._act(request, WinSerializer, services.lead_win)

    @extend_schema(request=ReasonActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def lose(self, request, pk=None):
        """Lose an SQL with a loss reason: recycled or disqualified, as the reason says."""
        return self._act(request, ReasonActionSerializer, services.lead_lose)

    @extend_schema(request=ReasonActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def disqualify(self, request, pk=None):
        """Take the lead out of the funnel with a disqualification reason."""
        return self._act(request, ReasonActionSerializer, services.lead_disqualify)

    @extend_schema(request=ActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reopen(self, request, pk=None):
        """Bring a disqualified lead back to marketing."""
        return self._act(request, ActionSerializer, services.lead_reopen)

    @extend_schema(request=ReassignSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reassign(self, request, pk=None):
        """Give an MQL or SQL to another rep (the sales manager)."""
        lead = self.get_object()
        data = ReassignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.lead_reassign(
            lead_id=lead.pk,
            actor=request.user,
            new_owner=data.validated_data["owner"],
            note=data.validated_data["note"],
            expected_version=data.validated_data.get("version"),
        )
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=TouchCreateSerializer, responses={201: TouchSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def touches(self, request, pk=None):
        """Log a follow-up touch on an SQL (its owner or their manager)."""
        lead = self.get_object()
        data = TouchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        touch = services.touch_log(lead_id=lead.pk, actor=request.user, **data.validated_data)
        return Response(TouchSerializer(touch).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=LeadEventSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering=None, pagination_class=None)
    def events(self, request, pk=None):
        """The lead's history, including the events of leads merged into it (its notes,
        `noted`, for marketing, sales and managers only)."""
        lead = self.get_object()
        private = not sees_contact_details(request.user, lead)
        # Notes only to those who may read them (a person with a product role), as the page.
        events = selectors.lead_timeline(lead, notes=selectors.may_read_notes(request.user))
        return Response(LeadEventSerializer(events, many=True, context={"private": private}).data)

    # --- consent: every answer the person gave, and a new one ---------------------------------

    @extend_schema(methods=["GET"], responses=ConsentRecordSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=ConsentRecordCreateSerializer, responses={201: ConsentRecordSerializer}
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, ordering=None, pagination_class=None)
    def consent(self, request, pk=None):
        """GET: every answer the person gave on marketing contact, as recorded, the latest
        recorded first (kept after an erasure: the wording is the organisation's own).
        POST: record a new answer (whoever may edit the lead's profile: marketing, or the
        owner rep and their manager while sales has it), method `api`. The latest answer by
        when it was given becomes the lead's (`consent`, `consent_at`, … on the lead); an
        older one is kept in the history only. Refused with 422 under the field's name for a
        bad answer, time or wording, 403 for who, 409 for an erased person or a lead merged
        away (`merged_into`)."""
        lead = Lead.objects.filter(pk=pk).first()  # a lead merged away too: its history
        if lead is None:
            raise NotFound("No such lead.")
        if request.method == "GET":
            records = selectors.lead_consent_records(lead)
            return Response(ConsentRecordSerializer(records, many=True).data)
        data = ConsentRecordCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.lead_consent_record(
            lead_id=lead.pk, actor=request.user, method=ConsentMethod.API, **data.validated_data
        )
        # The answer this call recorded: the lead's newest record by this person.
        record = selectors.lead_consent_records(lead).filter(recorded_by=request.user).order_by("-id").first()
        return Response(ConsentRecordSerializer(record).data, status=status.HTTP_201_CREATED)

    # --- notes: the page's note form, and the notes the timeline shows -----------------------

    @extend_schema(methods=["GET"], responses=NoteSerializer(many=True))
    @extend_schema(methods=["POST"], request=NoteCreateSerializer, responses={201: NoteAddedSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        filterset_class=None,
        ordering=None,
        pagination_class=None,
        permission_classes=[HasProductRole],
    )
    def notes(self, request, pk=None):
        """GET: the notes on the lead and on the leads merged into it, oldest first (as
        the timeline shows them). POST: write a note (marketing, sales and managers);
        `@username` tells that colleague after commit. Names that told nobody (unknown, or
        a person who cannot read notes) do not refuse the note: `messages` says so. A lead
        merged away is refused with 409 and `merged_into`: write on the survivor."""
        lead = Lead.objects.filter(pk=pk).first()
        if lead is None:
            raise NotFound("No such lead.")
        if request.method == "GET":
            return Response(NoteSerializer(selectors.lead_notes(lead), many=True).data)
        data = NoteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.lead_note_add(lead_id=lead.pk, actor=request.user, text=data.validated_data["body"])
        note = selectors.lead_notes(lead).get(pk=result.event.pk)
        note.messages = result.messages
        return Response(NoteAddedSerializer(note).data, status=status.HTTP_201_CREATED)


class HandoffListView(generics.ListAPIView):
    """My hand-offs and what became of each: waiting, accepted, rejected (reason and note),
    won (amount), lost (reason). Filters: `week` (any date in the ISO week), `campaign`."""

    permission_classes = [HasProductRole]
    serializer_class = HandoffSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("week", OpenApiTypes.DATE, description="Any date in the ISO week wanted"),
            OpenApiParameter("campaign", OpenApiTypes.INT),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        week_of = query_value(self.request, "week", date_in)
        campaign_id = query_value(self.request, "campaign", id_in, message="Use a campaign id.")
        return selectors.handoffs(self.request.user, week_of=week_of, campaign_id=campaign_id)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = [
            {
                "event_id": row.pk,
                "lead": row.lead_id,
                "lead_name": str(row.lead),
                "company": row.lead.company,
                "campaign": row.lead.campaign.name if row.lead.campaign else None,
                "handed_off_at": row.occurred_at,
                "outcome": selectors.handoff_outcome(row),
                "outcome_at": row.outcome_at,
                "reason": row.outcome_reason,
                "note": row.outcome_note or "",
                "amount": str(row.lead.deal_amount) if row.outcome_type == "won" else None,
            }
            for row in page
        ]
        return self.get_paginated_response(HandoffSerializer(rows, many=True).data)


class RecycledListView(generics.ListAPIView):
    """Marketing's recycled queue: leads sales sent back, with the latest reason and note.
    Filter: `reason` (a rejection or loss reason id). Re-qualify with POST
    /api/leads/{id}/qualify/ and a note on what changed."""

    permission_classes = [HasProductRole]
    serializer_class = RecycledLeadSerializer
    filter_backends: list = []

    @extend_schema(parameters=[OpenApiParameter("reason", OpenApiTypes.INT)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        reason_id = query_value(self.request, "reason", id_in, message="Use a reason id.")
        return selectors.recycled_queue(reason_id=reason_id)


class QueueListView(generics.ListAPIView):
    """Marketing's work queue, one list at a time (`kind`), as the Queue page shows it:
    `new` — stage lead, never handed off, came in during the last 30 days, not a referral;
    `referral` — a referral source or a referring colleague, stage lead, never sent back;
    `recycled` — sent back by sales, with the latest reason and note (filter: `reason`).
    Each lead is in one list at most; `count` is the list's size, as the page's tabs say."""

    permission_classes = [HasProductRole]
    serializer_class = QueueLeadSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(selectors.QUEUE_KINDS), default="new"),
            OpenApiParameter(
                "reason", OpenApiTypes.INT, description="Recycled only: a rejection or loss reason id"
            ),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        kind = self.request.query_params.get("kind", "new")
        if kind not in selectors.QUEUE_KINDS:
            raise ActionError(
                f"kind is one of {', '.join(selectors.QUEUE_KINDS)}.",
                field="kind",
                code=ActionError.MALFORMED,
            )
        reason_id = query_value(self.request, "reason", id_in, message="Use a reason id.")
        rows = selectors.marketing_queue(kind, reason_id=reason_id if kind == "recycled" else None)
        return rows.select_related("campaign", "referrer").order_by(selectors.QUEUE_ORDER[kind], "-id")
