"""The privacy pages, for managers (and admins): the audit trail, the retention policy with
its preview, "Run now" and its runs (`/privacy/`); one person's page — what is held about
them, their data as a zip, erasure (`/privacy/people/<lead>/`). As thin as the API: the
services decide and refuse (`smarketing.privacy.services`, `.retention`)."""

from __future__ import annotations

import io
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from leads.models import Lead
from leads.services.erasure import person_lead_ids
from smarketing.core.errors import ActionError
from smarketing.core.pages import refusal_status, show_refusal_at_fields
from smarketing.org.roles import may_manage_privacy
from smarketing.privacy import retention, services, tasks
from smarketing.privacy.forms import CONFIRM_WORD, PersonEraseForm, PersonExportForm, RetentionPolicyForm
from smarketing.privacy.models import PrivacyAction, PrivacyAudit, RetentionPolicy, RetentionRun, RunStatus

REFUSED = "Only managers handle people's data and the retention policy. Ask a sales or marketing manager."
AUDIT_PER_PAGE = 25
RUNS_SHOWN = 20
PERSON_AUDIT_SHOWN = 20
# What each section of a person's data is (`services.person_data`), in words.
SECTIONS = {
    "profile": "Profile (one per lead)",
    "consent": "Consent answers",
    "events": "Events in the lead's history",
    "engagements": "Engagements",
    "touches": "Touches by sales",
    "notifications": "Notifications about them",
    "import_rows": "Rows of imported files",
    "referrals": "Referrals",
}


def managers_only(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not may_manage_privacy(request.user):
            return render(request, "core/refused.html", {"message": REFUSED}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


# --- the audit trail and the retention policy ---------------------------------------------------


@managers_only
def home(request):
    """GET: the page; POST: the retention policy saved (its errors next to its fields)."""
    policy = RetentionPolicy.current()
    status = 200
    if request.method == "POST":
        form = RetentionPolicyForm(request.POST)
        if form.is_valid():
            try:
                policy = retention.retention_policy_set(actor=request.user, **form.cleaned_data)
            except ActionError as exc:
                if not show_refusal_at_fields(form, exc):
                    form.add_error(None, exc.message)
                status = refusal_status(exc)
            else:
                messages.success(request, f"The retention policy is saved: {_policy_words(policy)}.")
                return redirect("privacy:home")
        else:
            status = 400
    else:
        form = RetentionPolicyForm(
            initial={
                "enabled": policy.enabled,
                "inactive_months": policy.inactive_months or "",
                "disqualified_months": policy.disqualified_months or "",
            }
        )
    audit = Paginator(PrivacyAudit.objects.select_related("actor"), AUDIT_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for line in audit.object_list:
        line.figures = figures(line)
    runs = list(RetentionRun.objects.select_related("started_by")[:RUNS_SHOWN])
    context = {
        "form": form,
        "policy": policy,
        "policy_saved": RetentionPolicy.objects.exists(),
        "preview": retention.retention_preview(policy),
        "runs": runs,
        "running": any(run.status == RunStatus.RUNNING for run in runs),
        "audit": audit,
    }
    return render(request, "privacy/home.html", context, status=status)


@managers_only
def retention_run_now(request):
    """GET: what a run would anonymise now, and a button to confirm; POST: queued."""
    if request.method == "POST":
        try:
            tasks.retention_run_soon(actor=request.user)
        except ActionError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                "The retention run is queued: it is listed under Runs when it starts. Reload to follow it.",
            )
        return redirect("privacy:home")
    policy = RetentionPolicy.current()
    context = {"policy": policy, "preview": retention.retention_preview(policy)}
    return render(request, "privacy/run_confirm.html", context)


def _policy_words(policy) -> str:
    return policy_words(
        {
            "enabled": policy.enabled,
            "inactive_months": policy.inactive_months,
            "disqualified_months": policy.disqualified_months,
        }
    )


def policy_words(values: dict) -> str:
    """A policy's values (as the audit keeps them) in words."""

    def period(months, what: str) -> str:
        return f"{what} after {months} month{'s' if months != 1 else ''}" if months else f"{what} never"

    return "; ".join(
        [
            "on" if values.get("enabled") else "off",
            period(values.get("inactive_months"), "inactive leads"),
            period(values.get("disqualified_months"), "disqualified leads"),
        ]
    )


def figures(line: PrivacyAudit) -> list[str]:
    """An audit line's figures in words (never a personal value: the audit holds none)."""
    detail = line.detail if isinstance(line.detail, dict) else {}
    if line.action == PrivacyAction.RETENTION_POLICY:
        return [
            f"was: {policy_words(detail.get('before') or {})}",
            f"now: {policy_words(detail.get('after') or {})}",
        ]
    if line.action == PrivacyAction.RETENTION_RUN:
        return [
            f"run {detail.get('run', '?')}: {detail.get('status', '?')}",
            f"{detail.get('people', 0)} people, {detail.get('leads', 0)} leads",
            f"policy: {policy_words(detail)}",
        ]
    counts = [
        f"{name.replace('_', ' ')} {value}"
        for name, value in detail.items()
        if name != "lead_ids" and isinstance(value, int) and not isinstance(value, bool) and value
    ]
    return counts or ["no rows"]


# --- one person -------------------------------------------------------------------------------


@managers_only
def person(request, lead_id: int):
    return _person_page(request, lead_id)


@require_POST
@managers_only
def person_export(request, lead_id: int):
    """The person's data as a zip (the download), or the page again saying why not."""
    form = PersonExportForm(request.POST)
    if not form.is_valid():
        return _person_page(request, lead_id, export_form=form, status=400)
    try:
        filename, content = services.person_export(
            lead_id=lead_id, actor=request.user, reference=form.cleaned_data["reference"]
        )
    except ActionError as exc:
        if exc.code == ActionError.NOT_FOUND:
            raise Http404(exc.message) from None
        error = "" if show_refusal_at_fields(form, exc) else exc.message
        return _person_page(request, lead_id, export_form=form, error=error, status=refusal_status(exc))
    response = FileResponse(
        io.BytesIO(content), as_attachment=True, filename=filename, content_type="application/zip"
    )
    patch_cache_control(response, no_store=True, private=True)
    return response


@require_POST
@managers_only
def person_erase(request, lead_id: int):
    """Erase the person; back on their page, the erasure's audit line shows instead of the
    form. A refusal shows on the form, with nothing changed."""
    form = PersonEraseForm(request.POST)
    if not form.is_valid():
        return _person_page(request, lead_id, erase_form=form, status=400)
    try:
        audit = services.person_erase(
            lead_id=lead_id, actor=request.user, reference=form.cleaned_data["reference"]
        )
    except ActionError as exc:
        if exc.code == ActionError.NOT_FOUND:
            raise Http404(exc.message) from None
        error = "" if show_refusal_at_fields(form, exc) else exc.message
        return _person_page(request, lead_id, erase_form=form, error=error, status=refusal_status(exc))
    count = len(audit.detail.get("lead_ids", [])) or 1
    messages.success(
        request,
        f"The person is erased ({count} lead{'s' if count != 1 else ''}): their leads and events stay "
        "as anonymous records, so every figure stays the same.",
    )
    return redirect("privacy:person", lead_id)


def _person_page(request, lead_id: int, *, export_form=None, erase_form=None, error="", status=200):
    ids = person_lead_ids(lead_id)
    if not ids:
        raise Http404("No such lead.")
    leads = list(Lead.objects.filter(pk__in=ids).order_by("pk"))
    data = services.person_data(ids, mentions=False)
    sections = [
        (SECTIONS.get(name, name.replace("_", " ").capitalize()), len(rows)) for name, rows in data.items()
    ]
    erased = all(lead.erased_at is not None for lead in leads)
    lines = list(PrivacyAudit.objects.filter(lead_id__in=ids).select_related("actor")[:PERSON_AUDIT_SHOWN])
    for line in lines:
        line.figures = figures(line)
    erasure = next((line for line in lines if line.action == PrivacyAction.ERASURE), None)
    if erased and erasure is None:  # erased by the retention policy, or more lines than shown
        erasure = (
            PrivacyAudit.objects.filter(lead_id__in=ids, action=PrivacyAction.ERASURE)
            .select_related("actor")
            .first()
        )
    context = {
        "lead": next((lead for lead in leads if lead.pk == ids[0]), leads[0]),
        "asked": lead_id,
        "leads": leads,
        "sections": sections,
        "erased": erased,
        "erased_at": max((lead.erased_at for lead in leads if lead.erased_at), default=None),
        "erasure": erasure,
        "lines": lines,
        "export_form": export_form or PersonExportForm(),
        "erase_form": erase_form or PersonEraseForm(),
        "confirm_word": CONFIRM_WORD,
        "error": error,
    }
    response = render(request, "privacy/person.html", context, status=status)
    patch_cache_control(response, no_store=True, private=True)
    return response
