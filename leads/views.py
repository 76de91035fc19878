"""Pages to create, edit and merge leads. Thin: parse the form, call one service, show
its refusal next to the form with the input kept. Authorization is checked here for a
clear page, and again by the services."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads import exports, permissions, scoring, selectors, services
from leads.filters import DRILL_PARAMS, SORTS, LeadFilter
from leads.forms import ACTION_FORMS, ConsentForm, LeadForm, MergeForm, NoteForm
from leads.models import (
    ConsentMethod,
    Engagement,
    EventType,
    Lead,
    LeadEvent,
    Stage,
    TouchKind,
    TouchOutcome,
)
from leads.selectors import duplicate_lookup, find_lead, likely_duplicates
from leads.services import handoff_missing
from leads.stages import actions_for
from leads.templatetags.lead_tags import lead_name
from sla import selectors as sla_selectors
from sla.services import calendar_for
from sla.templatetags.sla_tags import deadline
from smarketing.agreement.models import (
    Reason,
    ReasonKind,
    ScoringDefinition,
)
from smarketing.core import formats
from smarketing.core.api import STATUS_BY_CODE
from smarketing.core.errors import ActionError
from smarketing.core.inputs import date_in, id_in, optional
from smarketing.core.pages import refusal_status, show_refusal_at_fields
from smarketing.core.paging import COUNT_CAP, SEARCH_COUNT_CAP, keyset_page
from smarketing.core.sheets import table_download
from smarketing.org import roles
from smarketing.org.models import Campaign
from smarketing.org.roles import (
    Role,
    has_role,
    is_admin,
    is_marketing_side,
    may_manage_privacy,
    role_names,
    team_of,
)


@login_required
def scoring_progress(request):
    """The re-scoring progress fragment, polled by the page while leads are pending."""
    return render(request, "leads/_scoring_progress.html", {"progress": scoring.scoring_progress()})


def profile_permissions(user, lead: Lead) -> dict[str, bool]:
    """What the lead page may link to and offer: {"can_edit", "can_merge",
    "can_record_consent"}. An erased person's lead is an anonymous record: nothing about
    them is edited, merged or recorded on it (`leads.services.base.refuse_erased`)."""
    live = lead.merged_into_id is None and lead.erased_at is None
    editor = live and permissions.can_edit_profile(user, lead)
    return {
        "can_edit": editor,
        "can_merge": live and permissions.may_merge(user, lead),
        # The service's rule: whoever may edit the profile (`lead_consent_record`).
        "can_record_consent": editor,
    }


CONSENT_DENIAL = (
    "You cannot record consent for this lead: only marketing, or the owner rep and their manager, can."
)


def erased_refusal(lead: Lead) -> str:
    return (
        f"This person was erased on {formats.day(lead.erased_at)}: "
        "the lead is an anonymous record kept for the reports, and is not edited."
    )


def _refused(request, message: str, status: int = 403):
    return render(request, "core/refused.html", {"message": message}, status=status)


def _status(exc: ActionError) -> int:
    # A duplicate email is a problem with what was typed: the form comes back with 400.
    if exc.code == ActionError.DUPLICATE:
        return 400
    return refusal_status(exc)


def _form_error(form) -> str:
    return "Please correct the highlighted fields: " + "; ".join(
        f"{form.fields[name].label or name}: {errors[0]}" if name in form.fields else errors[0]
        for name, errors in form.errors.items()
    )


def _show_refusal(form, exc: ActionError) -> dict:
    """Put the service's message next to its fields; return the context for the top."""
    show_refusal_at_fields(form, exc)
    context = {"error": exc.message}
    if exc.code == ActionError.DUPLICATE and exc.data.get("existing_id"):
        context["existing_id"] = exc.data["existing_id"]
    return context


def _get_lead(lead_id: int) -> Lead:
    try:
        return Lead.objects.select_related("owner", "merged_into").get(pk=lead_id)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None


# --- create and edit ---------------------------------------------------------------------------


def _save_form(request, form: LeadForm, *, lead: Lead | None):
    """Validate, warn about likely duplicates, then create or update. Returns the saved
    lead, or (context, status) to re-render the form with."""
    if not form.is_valid():
        return {"error": _form_error(form)}, 400
    values = form.profile_values()
    try:
        # The service's own checks first, so that a likely-duplicate warning is never
        # shown for input the service would refuse anyway.
        services.lead_profile_validate(values)
        # A new lead's answer on marketing contact (optional): the one check of an answer.
        consent = services.consent_clean(form.consent_values(), method=ConsentMethod.BY_HAND)
        if form.duplicate_check_needed():
            exact = services.lead_find_duplicate(email=values["email"])
            if exact is None or (lead is not None and exact.pk == lead.pk):
                found = likely_duplicates(
                    **duplicate_lookup(values), exclude_id=lead.pk if lead is not None else None
                )
                if found:
                    form.show_confirm()
                    return {"duplicates": found}, 200
        if lead is None:
            saved = services.lead_create(
                actor=request.user,
                source=form.cleaned_data["source"],
                campaign=form.cleaned_data["campaign"],
                via="manual",
                consent=consent,
                **values,
            )
        else:
            saved = services.lead_update(
                lead_id=lead.pk,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                **values,
            )
    except ActionError as exc:
        return _show_refusal(form, exc), _status(exc)
    return saved


@login_required
def lead_new(request):
    """Create a lead by hand (marketing)."""
    if not roles.is_marketing_side(request.user):
        return _refused(
            request,
            "Only marketing can create leads. To tell marketing about someone you met, use “Refer a lead”.",
        )
    form = LeadForm(request.POST if request.method == "POST" else None)
    context, status = {}, 200
    if request.method == "POST":
        result = _save_form(request, form, lead=None)
        if isinstance(result, Lead):
            messages.success(request, f"Created {result}: a new lead in stage Lead.")
            return redirect("lead-detail", lead_id=result.pk)
        context, status = result
    return render(request, "leads/lead_form.html", {"form": form, "lead": None, **context}, status=status)


@login_required
def lead_edit(request, lead_id: int):
    """Edit a lead's contact and company profile (marketing; sales while it is theirs)."""
    lead = _get_lead(lead_id)
    if lead.merged_into_id is not None:
        return _refused(
            request,
            f"This lead was merged into lead {lead.merged_into_id}; edit that one.",
            status=STATUS_BY_CODE[ActionError.WRONG_STAGE],
        )
    if not permissions.can_edit_profile(request.user, lead):
        return _refused(
            request,
            "You cannot edit this lead: only marketing, or the owner rep and their manager, can.",
        )
    if lead.erased_at is not None:
        return _refused(request, erased_refusal(lead), status=STATUS_BY_CODE[ActionError.WRONG_STAGE])
    form = LeadForm(request.POST if request.method == "POST" else None, lead=lead)
    context, status = {}, 200
    if request.method == "POST":
        result = _save_form(request, form, lead=lead)
        if isinstance(result, Lead):
            messages.success(request, f"Saved {result}.")
            return redirect("lead-detail", lead_id=result.pk)
        context, status = result
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead, **context}, status=status)


# --- merge -------------------------------------------------------------------------------------


def _side_by_side(*leads: Lead) -> list[Lead]:
    """The leads with what a person compares before a merge, in the order given."""
    ids = [lead.pk for lead in leads]

    def count(model, related_field: str):
        return Coalesce(
            Subquery(
                model.objects.filter(**{related_field: OuterRef("pk")})
                .order_by()
                .values(related_field)
                .annotate(n=Count("pk"))
                .values("n")[:1]
            ),
            0,
        )

    rows = (
        Lead.objects.filter(pk__in=ids)
        .select_related("owner", "merged_into")
        .annotate(
            event_count=count(LeadEvent, "lead"),
            engagement_count=count(Engagement, "lead"),
        )
    )
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


@login_required
def lead_merge(request, lead_id: int):
    """Merge another lead with this one, choosing which survives; both histories stay."""
    lead = _get_lead(lead_id)
    if not permissions.may_merge(request.user, lead):
        who = "its rep or their manager, while sales owns it" if lead.owner_id else "a marketer or a manager"
        return _refused(request, f"You cannot merge this lead: only {who} can.")
    context: dict = {"lead": lead}
    status = 200
    if request.method == "POST":
        form = MergeForm(request.POST)
        if form.is_valid():
            other = form.cleaned_data["other"]
            survivor, merged = (lead, other) if form.cleaned_data["survivor"] == "this" else (other, lead)
            merged_label = f"{merged} (lead {merged.pk})"
            try:
                result = services.lead_merge(
                    survivor_id=survivor.pk,
                    other_id=merged.pk,
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
            except ActionError as exc:
                context |= _show_refusal(form, exc)
                status = _status(exc)
            else:
                messages.success(
                    request,
                    f"Merged {merged_label} into {result}. Both histories are on this page; "
                    f"lead {merged.pk} now points here.",
                )
                return redirect("lead-detail", lead_id=result.pk)
        else:
            context["error"] = _form_error(form)
            status = 400
        other = form.cleaned_data.get("other")
    else:
        query = request.GET.get("other", "").strip()
        form = MergeForm(initial={"other": query, "survivor": "this"})
        other = find_lead(query) if query else None
        if query and other is None:
            context["error"] = f"No lead has the email or id “{query}”."
        elif other is not None and other.pk == lead.pk:
            context["error"] = "That is this lead. Choose two different leads to merge."
            other = None
    if isinstance(other, Lead):
        context["compare"] = _side_by_side(lead, other)
        context["other"] = other
    context["form"] = form
    return render(request, "leads/lead_merge.html", context, status=status)


@login_required
def home(request):
    """Everyone's start page. A manager lands on the funnel dashboard (the weekly meeting's
    page); their team's work list is at /team/."""
    if has_role(request.user, Role.MANAGER) and not is_admin(request.user):
        return redirect("dashboard")
    return work(request)


@login_required
def work(request):
    """What this person has to do now, by role: queue, hand-offs, clocks at risk …"""
    user = request.user
    roles = role_names(user)
    team = team_of(user)
    is_manager = Role.MANAGER in roles
    marketing_side = Role.MARKETER in roles or (is_manager and team and team.kind == "marketing")
    context = {"team": team, "sections": [], "now": timezone.now()}
    if marketing_side:
        context["sections"].append("marketing")
        context["stage_counts"] = selectors.stage_counts()
        context["recycled"] = selectors.recycled_queue()[: selectors.HOME_LIST_LIMIT]
        context["handoffs"] = selectors.my_handoffs(user)[: selectors.HOME_LIST_LIMIT]
    if Role.SALES_REP in roles:
        context["sections"].append("rep")
        context["today"] = selectors.rep_today(user)
        context["queue"] = selectors.rep_queue(user)
        context["calendar"] = calendar_for(user)
        # Every SQL, paged, the most urgent first: no silent cap.
        context["sqls"] = Paginator(selectors.rep_sqls(user), selectors.HOME_LIST_LIMIT).get_page(
            request.GET.get("sqls_page")
        )
        context["rejection_reasons"] = Reason.objects.active().of_kind(ReasonKind.REJECTION)
        context["touch_kinds"], context["touch_outcomes"] = TouchKind.choices, TouchOutcome.choices
    if is_manager and selectors.is_sales_team(team):
        context["sections"].append("sales_manager")
        context["reps"] = selectors.team_reps(team)
        context["at_risk"] = sla_selectors.at_risk(within=dt.timedelta(hours=2), team=team)[:50]
        context["breaches"] = selectors.breaches_this_week(team)[:50]
        context["runs"] = selectors.recent_enforcement_runs()
    if is_manager and team and team.kind == "marketing":
        context["sections"].append("marketing_manager")
        context["marketers"] = selectors.marketers_this_week(team)
    if not context["sections"] or Role.ADMIN in roles:
        context["sections"].append("employee")
        context["referred"] = selectors.referred_by(user)[: selectors.HOME_LIST_LIMIT]
    return render(request, "leads/home.html", context)


@login_required
def lead_list(request):
    """Every lead, searchable and filterable (the same filters as GET /api/leads/), sorted,
    paged by keyset so that it stays fast at a million leads."""
    filters = LeadFilter(request.GET or None, queryset=selectors.lead_list())
    sort = request.GET.get("sort", "newest")
    if sort not in SORTS:
        sort = "newest"
    valid = filters.is_bound and filters.is_valid()
    leads = filters.qs if valid else selectors.lead_list()
    # A search counts its matches only to SEARCH_COUNT_CAP (see there).
    searching = valid and bool((filters.form.cleaned_data.get("q") or "").split())
    page = keyset_page(
        leads,
        order=SORTS[sort][0],
        cursor=request.GET.get("after"),
        count_cap=SEARCH_COUNT_CAP if searching else COUNT_CAP,
    )
    kept = request.GET.copy()
    kept.pop("after", None)
    active = any(v for k, v in request.GET.items() if k not in ("sort", "after"))
    context = {
        "filters": filters,
        "page": page,
        "sort": sort,
        "sorts": [(key, label) for key, (_, label) in SORTS.items()],
        "query": kept.urlencode(),
        "active": active,
        # By the field's label, as the form shows it ("Score from", not "score_min").
        "errors": {
            str(filters.form.fields[name].label or name) if name in filters.form.fields else name: problems
            for name, problems in (filters.errors if filters.is_bound else {}).items()
        },
        "can_create": is_marketing_side(request.user),
        "drill": filters.drill_description(),
        "drill_params": [(name, request.GET[name]) for name in DRILL_PARAMS if request.GET.get(name)],
        "owners": selectors.sales_people(),
        "owner": request.GET.get("owner", ""),
    }
    return render(request, "leads/lead_list.html", context, status=400 if context["errors"] else 200)


@login_required
def lead_export(request, fmt: str = "csv"):
    """Every lead the list shows for these filters, search and sort — all of them, not a
    page — as CSV (`fmt` "csv", streamed as the rows are read) or as an Excel workbook
    ("xlsx"): the columns of `exports.LEAD_EXPORT_COLUMNS`.

    Whoever reads the list may export it (everyone logged in: the closed loop), and the
    export shows what the list and the API show that person, no more: the email, phone
    and deal amount of a lead are blank unless the viewer sees its contact details
    (marketing, sales, managers and admins; an employee without a product role only for
    the leads they referred), and owners' emails are blank for an employee without a
    product role. Blank rather than refused, as the list shows such a viewer the rest of
    the row. Filters the list would refuse are refused here too (400), rather than
    exporting every lead."""
    filters = LeadFilter(request.GET or None, queryset=selectors.lead_list())
    if filters.is_bound and not filters.is_valid():
        problems = "; ".join(
            f"{filters.form.fields[name].label or name if name in filters.form.fields else name}: {' '.join(errors)}"
            for name, errors in filters.errors.items()
        )
        return _refused(request, f"These filters cannot be exported: {problems}", status=400)
    leads = filters.qs if filters.is_bound else selectors.lead_list()
    order = SORTS.get(request.GET.get("sort", "newest"), SORTS["newest"])[0]
    leads = leads.order_by(order, "-id" if order.startswith("-") else "id")
    today = timezone.localdate()
    return table_download(
        exports.lead_export_rows(leads, request.user), f"smarketing-leads-{today}", fmt, bom=True
    )


@login_required
def lead_detail(
    request, lead_id: int, bound=None, bound_name=None, status=200, note_form=None, consent_form=None
):
    try:
        lead = selectors.lead_detail(lead_id)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None
    reads_notes = selectors.may_read_notes(request.user)
    events = list(selectors.lead_timeline(lead, notes=reads_notes))
    # Read once for both the story and their own sections of the page.
    engagements = list(lead.engagements.all())
    clocks = list(lead.clocks.select_related("owner__membership").order_by("-started_at"))
    private = not roles.sees_contact_details(request.user, lead)
    story = selectors.lead_story(lead, events, engagements=engagements, clocks=clocks, private=private)
    actions = actions_for(request.user, lead)
    erased = lead.erased_at is not None
    if erased:  # nothing that could name the person again (`refuse_erased`)
        actions = actions - {"engagement"}
    may = profile_permissions(request.user, lead)
    context = {
        "lead": lead,
        "private": private,
        "name": lead_name(lead, private=private),
        "story": story,
        "handoff_note": next(
            (e.note for e in reversed(events) if e.type == EventType.QUALIFIED and e.note), ""
        ),
        "sent_back": [e for e in events if e.type in (EventType.REJECTED, EventType.LOST)],
        "engagements": engagements,
        "clocks": clocks,
        "handoff_missing": handoff_missing(lead) if lead.stage == Stage.LEAD else [],
        "threshold": ScoringDefinition.current().threshold,
        "action_forms": _action_forms(lead, actions, request.user, bound, bound_name),
        # Notes: written by anyone who reads them, on a live lead (the survivor takes them),
        # never on an erased person's.
        "note_form": (note_form or NoteForm(auto_id="id_note_%s"))
        if reads_notes and lead.merged_into_id is None and not erased
        else None,
        "note_count": sum(e.type == EventType.NOTED for e in events),
        # Consent to marketing contact: the answer, its history, a new one by hand.
        "consent_records": selectors.lead_consent_records(lead),
        "consent_form": (consent_form or ConsentForm()) if may["can_record_consent"] else None,
        "may_manage_privacy": may_manage_privacy(request.user),
        **may,
    }
    return render(request, "leads/lead_detail.html", context, status=status)


@login_required
@require_POST
def lead_note_add(request, lead_id: int):
    """Write a note on the lead (mentions tell colleagues); back to the lead page, where
    the note is on the timeline and any @name that told nobody is said so."""
    lead = get_object_or_404(Lead, pk=lead_id)
    form = NoteForm(request.POST, auto_id="id_note_%s")
    status = 400
    if form.is_valid():
        try:
            result = services.lead_note_add(
                lead_id=lead.pk, actor=request.user, text=form.cleaned_data["body"]
            )
        except ActionError as exc:
            status = refusal_status(exc)
            if exc.code == ActionError.FORBIDDEN:
                return _refused(request, exc.message, status=status)
            if not show_refusal_at_fields(form, exc):
                messages.error(request, exc.message)
        else:
            told = ", ".join(user.get_full_name() or user.username for user in result.notified)
            messages.success(request, f"Note added to {lead}." + (f" Told {told}." if told else ""))
            for warning in result.messages:
                messages.warning(request, warning)
            return redirect(f"{reverse('lead-detail', args=[lead.pk])}#notes-h")
    else:
        messages.error(request, _form_error(form))
    return lead_detail(request, lead_id=lead.pk, status=status, note_form=form)


@login_required
@require_POST
def lead_consent(request, lead_id: int):
    """Record the person's answer on marketing contact by hand (whoever may edit the
    profile); back to the lead page, where the Consent card shows it with its history.
    A refused answer comes back on the form, next to its field, as typed."""
    lead = get_object_or_404(Lead.objects.select_related("owner"), pk=lead_id)
    if not permissions.can_edit_profile(request.user, lead):
        return _refused(request, CONSENT_DENIAL)
    form = ConsentForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            saved = services.lead_consent_record(
                lead_id=lead.pk, actor=request.user, method=ConsentMethod.BY_HAND, **form.values()
            )
        except ActionError as exc:
            status = refusal_status(exc)
            if exc.code == ActionError.FORBIDDEN:
                return _refused(request, exc.message, status=status)
            if not show_refusal_at_fields(form, exc):
                messages.error(request, exc.message)
        else:
            # The answer this request recorded: the lead's newest record by this person.
            recorded = saved.consent_records.filter(recorded_by=request.user).order_by("-id").first()
            messages.success(
                request, f"Consent recorded for {saved}: {recorded.get_consent_display().lower()}."
            )
            if saved.consent_at is not None and recorded.given_at < saved.consent_at:
                messages.warning(
                    request,
                    "That answer is older than the one on record: it is kept in the history, "
                    "and the newer answer stays the lead's.",
                )
            return redirect(f"{reverse('lead-detail', args=[lead.pk])}#consent-h")
    else:
        messages.error(request, _form_error(form))
    return lead_detail(request, lead_id=lead.pk, status=status, consent_form=form)


# --- sales actions: one POST view, full page or in place (htmx) -----------------------------------


def _form_kwargs(name: str, lead, user) -> dict:
    if name == "reassign":
        return {"lead": lead}
    if name == "qualify":
        return {"lead": lead, "user": user}
    return {}


def _action_forms(lead, actions, user, bound=None, bound_name=None):
    """An unbound form for each action the viewer may take (the bound one if re-showing)."""
    forms_ = {}
    for name in sorted(actions & set(ACTION_FORMS)):
        if name == bound_name:
            forms_[name] = bound
            continue
        kwargs = _form_kwargs(name, lead, user)
        initial = {} if name in ("touch", "engagement") else {"version": lead.version}
        # Each action's fields get ids of their own: several forms share one page.
        forms_[name] = ACTION_FORMS[name](initial=initial, auto_id=f"id_{name}_%s", **kwargs)
    return forms_


def _apply(action: str, lead, user, data) -> str:
    common = {"lead_id": lead.pk, "actor": user}
    if action == "touch":
        services.touch_log(
            **common,
            kind=data["kind"],
            outcome=data["outcome"],
            occurred_at=data.get("occurred_at"),
            note=data["note"],
        )
        return f"Touch logged on {lead}."
    if action == "snooze":
        services.lead_snooze(
            lead_id=lead.pk,
            actor=user,
            until=data["until"],
            reason=data["reason"],
            expected_version=data["version"],
        )
        return f"Snoozed: follow up {lead} from {data['until']:%a %d %b %Y}."
    if action == "engagement":
        engagement, _ = services.engagement_log(
            **common,
            type=data["type"],
            title=data["title"],
            url=data["url"],
            occurred_at=data.get("occurred_at"),
        )
        return f"Engagement logged on {lead}: {engagement.get_type_display()} (+{engagement.points})."
    common |= {"expected_version": data["version"], "note": data["note"]}
    if action == "qualify":
        chosen = data.get("owner")
        owner = get_user_model().objects.filter(pk=chosen).first() if chosen else None
        lead = services.lead_qualify(**common, owner=owner)
        owner = lead.owner.get_full_name() or lead.owner.username
        return f"Handed to sales: {lead} is now an MQL for {owner}."
    if action == "accept":
        services.lead_accept(**common)
        return f"Accepted: {lead} is now your SQL."
    if action == "reject":
        services.lead_reject(**common, reason=data["reason"])
        return f"Rejected: {lead} went back to marketing ({data['reason'].label})."
    if action == "win":
        services.lead_win(**common, amount=data["amount"], closed_on=data["closed_on"])
        return f"Won: {lead} is a customer ({formats.money(data['amount'])})."
    if action == "lose":
        services.lead_lose(**common, reason=data["reason"])
        return f"Lost: {lead} ({data['reason'].label})."
    if action == "disqualify":
        services.lead_disqualify(**common, reason=data["reason"])
        return f"Disqualified: {lead} ({data['reason'].label})."
    if action == "reassign":
        new_owner = get_user_model().objects.filter(pk=data["owner"]).first()
        services.lead_reassign(**common, new_owner=new_owner)
        return f"Reassigned {lead} to {new_owner.get_full_name() or new_owner.username}."
    raise Http404


@login_required
@require_POST
def lead_action(request, lead_id: int, action: str):
    if action not in ACTION_FORMS:
        raise Http404("No such action.")
    lead = get_object_or_404(Lead, pk=lead_id)
    form = ACTION_FORMS[action](
        request.POST, auto_id=f"id_{action}_%s", **_form_kwargs(action, lead, request.user)
    )
    in_place = request.headers.get("HX-Request") == "true"
    status = 400
    if form.is_valid():
        try:
            message = _apply(action, lead, request.user, form.cleaned_data)
        except ActionError as exc:
            error = exc.message
            status = refusal_status(exc)
            show_refusal_at_fields(form, exc)
        else:
            if in_place:
                lead = selectors.lead_detail(lead.pk)
                return render(request, "leads/_action_done.html", {"lead": lead, "message": message})
            messages.success(request, message)
            return redirect("lead-detail", lead_id=lead.pk)
    else:
        error = "Please correct the highlighted fields: " + "; ".join(
            f"{form.fields[f].label or f}: {e[0]}" if f in form.fields else e[0]
            for f, e in form.errors.items()
        )
    if in_place:
        return render(request, "leads/_action_error.html", {"lead": lead, "message": error}, status=status)
    messages.error(request, error)
    return lead_detail(request, lead_id=lead.pk, bound=form, bound_name=action, status=status)


QUEUE_REFUSAL = "The marketing queue is marketing's and sales' work: only they see it."
QUEUE_LABELS = {"new": "New", "referral": "Referrals", "recycled": "Recycled"}


@login_required
def queue(request, tab: str | None = None):
    """Marketing's work queue, one tab per kind of lead to work: new leads not handed off
    yet, referrals from colleagues, and leads sales sent back (with sales' reason and note,
    to nurture, fix and re-qualify — re-qualifying asks for a note on what changed). Each
    tab is paged by keyset with its true count (no silent cap); `/recycled/` is its tab."""
    if not roles.has_product_role(request.user):
        return _refused(request, QUEUE_REFUSAL)
    tab = tab or request.GET.get("tab", "new")
    if tab not in selectors.QUEUE_KINDS:
        tab = "new"
    reason_id = None
    reasons = []
    if tab == "recycled":
        reasons = Reason.objects.filter(kind__in=[ReasonKind.REJECTION, ReasonKind.LOSS]).order_by(
            "kind", "position"
        )
        reason_id = optional(
            id_in, request.GET.get("reason", ""), name="reason", message="Choose a reason from the list."
        )
    now = timezone.now()
    leads = selectors.marketing_queue(tab, reason_id=reason_id, now=now)
    page = keyset_page(leads, order=selectors.QUEUE_ORDER[tab], cursor=request.GET.get("after"))
    counts = selectors.queue_counts(now=now)
    context = {
        "tab": tab,
        "tabs": [
            (kind, QUEUE_LABELS[kind], *counts[kind], "recycled" if kind == "recycled" else "queue")
            for kind in selectors.QUEUE_KINDS
        ],
        "page": page,
        "reasons": reasons,
        "reason_id": reason_id,
        "new_days": selectors.NEW_LEAD_DAYS,
        "can_requalify": is_marketing_side(request.user),
    }
    return render(request, "leads/queue.html", context)


@login_required
def recycled(request):
    """The queue's recycled tab at its own address (kept from before the queue had tabs)."""
    return queue(request, tab="recycled")


@login_required
def lead_due(request, lead_id: int):
    """The running response deadline of one lead, in its owner's business time: the rep's
    queue refreshes each countdown with this every minute."""
    lead = get_object_or_404(Lead.objects.select_related("owner__membership__team"), pk=lead_id)
    clock = lead.clocks.running().filter(obligation="response").first()
    if clock is None:
        return HttpResponse('<span class="muted">answered</span>')
    return HttpResponse(deadline(clock.due_at, calendar=calendar_for(lead.owner)))


@login_required
def my_handoffs(request):
    if not roles.has_product_role(request.user):
        return _refused(request, "Hand-offs are marketing's and sales' work: only they see them.")
    week_text = request.GET.get("week", "")
    campaign_text = request.GET.get("campaign", "")
    week_of = campaign_id = None
    try:
        week_of = optional(date_in, week_text, name="week")
    except ActionError as exc:
        messages.error(request, f"{exc.message} Showing every week.")
    campaign_id = optional(id_in, campaign_text, name="campaign", message="Choose a campaign from the list.")
    rows = selectors.handoffs(request.user, week_of=week_of, campaign_id=campaign_id)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/handoffs.html",
        {
            "page": page,
            "week": week_text,
            "campaign": campaign_id,
            "campaigns": Campaign.objects.order_by("name"),
        },
    )
