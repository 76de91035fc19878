"""Pages to create, edit and merge leads. Thin: parse the form, call one service, show
its refusal next to the form with the input kept. Authorization is checked here for a
clear page, and again by the services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render

from smarketing.api import STATUS_BY_CODE
from smarketing.pages import show_refusal_at_fields

from . import roles, services
from .errors import LeadActionError
from .models import Engagement, Lead, LeadEvent
from .profile_forms import LeadForm, MergeForm, duplicate_lookup, find_lead, likely_duplicates


def can_merge(user) -> bool:
    """Marketers, managers and admins merge (the service checks again)."""
    return roles.is_marketing_side(user) or roles.has_role(user, roles.Role.MANAGER)


def profile_permissions(user, lead: Lead) -> dict[str, bool]:
    """What the lead page may link to: {"can_edit": ..., "can_merge": ...}."""
    live = lead.merged_into_id is None
    return {
        "can_edit": live and roles.can_edit_profile(user, lead),
        "can_merge": live and can_merge(user),
    }


def _refused(request, message: str, status: int = 403):
    return render(request, "leads/refused.html", {"message": message}, status=status)


def _status(exc: LeadActionError) -> int:
    # A duplicate email is a problem with what was typed: the form comes back with 400.
    if exc.code == LeadActionError.DUPLICATE:
        return 400
    return STATUS_BY_CODE.get(exc.code, 400)


def _form_error(form) -> str:
    return "Please correct the highlighted fields: " + "; ".join(
        f"{form.fields[name].label or name}: {errors[0]}" if name in form.fields else errors[0]
        for name, errors in form.errors.items()
    )


def _show_refusal(form, exc: LeadActionError) -> dict:
    """Put the service's message next to its fields; return the context for the top."""
    show_refusal_at_fields(form, exc)
    context = {"error": exc.message}
    if exc.code == LeadActionError.DUPLICATE and exc.data.get("existing_id"):
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
                **values,
            )
        else:
            saved = services.lead_update(
                lead_id=lead.pk,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                **values,
            )
    except LeadActionError as exc:
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
            status=STATUS_BY_CODE[LeadActionError.WRONG_STAGE],
        )
    if not roles.can_edit_profile(request.user, lead):
        return _refused(
            request,
            "You cannot edit this lead: only marketing, or the owner rep and their manager, can.",
        )
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
    if not can_merge(request.user):
        return _refused(request, "You cannot merge leads: only a marketer or a manager can.")
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
            except LeadActionError as exc:
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
