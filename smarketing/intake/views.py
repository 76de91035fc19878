"""Intake pages: imports of CSV and Excel files (upload, map and preview, progress,
results, the failed rows as CSV or .xlsx; marketing only), inbound sources (managers),
and the referral page (any employee)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from smarketing.core.errors import ActionError
from smarketing.core.pages import act_then_redirect, refusal_status, show_refusal_at_fields
from smarketing.intake import imports, inbound, migration, migration_views, referrals, values
from smarketing.intake.forms import InboundSourceForm, ReferralForm
from smarketing.intake.models import ImportJob, ImportKind, ImportStatus, InboundSource, RowOutcome
from smarketing.org.models import Campaign, Source
from smarketing.org.roles import can_edit_agreement, can_import


@login_required
def inbound_sources(request):
    can_edit = can_edit_agreement(request.user)  # what a post records is part of how leads score
    status, error, new_key, new_consent_wording = 200, "", "", ""
    form = InboundSourceForm()
    if request.method == "POST":
        form = InboundSourceForm(request.POST)
        if not can_edit:
            status, error = 403, "Only a manager can change inbound sources."
        elif form.is_valid():
            try:
                source, new_key = inbound.inbound_source_create(actor=request.user, **form.cleaned_data)
            except ActionError as exc:
                status, error = refusal_status(exc), exc.message
            else:
                form = InboundSourceForm()
                new_consent_wording = source.consent_wording
        else:
            status = 400
    context = {
        "sources": InboundSource.objects.select_related("campaign", "created_by"),
        "form": form,
        "can_edit": can_edit,
        "error": error,
        "new_key": new_key,
        "new_consent_wording": new_consent_wording,
        "endpoint": request.build_absolute_uri("/api/inbound/"),
    }
    return render(request, "intake/inbound_sources.html", context, status=status)


@require_POST
@login_required
def inbound_source_consent_wording(request, source_id: int):
    return act_then_redirect(
        request,
        "inbound-sources",
        lambda: inbound.inbound_source_consent_wording(
            actor=request.user, source_id=source_id, consent_wording=request.POST.get("consent_wording", "")
        ),
        lambda source: (
            f"Consent answers posted to “{source.name}” are now recorded with the wording “{source.consent_wording}”."
            if source.consent_wording
            else f"“{source.name}” now asks no consent question: a post carrying an answer is refused."
        ),
    )


@require_POST
@login_required
def inbound_source_revoke(request, source_id: int):
    return act_then_redirect(
        request,
        "inbound-sources",
        lambda: inbound.inbound_source_revoke(actor=request.user, source_id=source_id),
        lambda source: f"The key of “{source.name}” no longer works.",
    )


PREVIEW_SHOWN = 100
ROWS_SHOWN = 200


def marketing_only(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not can_import(request.user):
            return render(
                request,
                "core/refused.html",
                {"message": "Only marketing can import leads. Ask a marketer to import the file for you."},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


@marketing_only
def import_list(request):
    if request.method == "POST":
        uploaded = request.FILES.get("file")
        if uploaded is None:
            error = "Choose a CSV or Excel (.xlsx) file to upload."
        else:
            try:
                job = imports.import_upload(actor=request.user, uploaded=uploaded)
            except ActionError as exc:
                error = exc.message
            else:
                return redirect("import-detail", job.pk)
        jobs = ImportJob.objects.filter(kind=ImportKind.LEADS).select_related("created_by")[:20]
        return render(request, "intake/imports.html", {"jobs": jobs, "error": error}, status=400)
    jobs = ImportJob.objects.filter(kind=ImportKind.LEADS).select_related("created_by")[:20]
    return render(request, "intake/imports.html", {"jobs": jobs})


def import_page(view):
    """An import's page or action: the job, if this person works with its kind (marketing
    its everyday imports, managers migrations); refused otherwise."""

    @wraps(view)
    @login_required
    def wrapped(request, job_id: int, *args, **kwargs):
        job = get_object_or_404(ImportJob.objects.select_related("created_by", "campaign"), pk=job_id)
        if not imports.may_see(request.user, job):
            message = (
                migration_views.REFUSED
                if job.kind == ImportKind.MIGRATION
                else "Only marketing can import leads. Ask a marketer to import the file for you."
            )
            return render(request, "core/refused.html", {"message": message}, status=403)
        return view(request, job, *args, **kwargs)

    return wrapped


@import_page
def import_detail(request, job: ImportJob):
    context = {"job": job, "migrating": job.kind == ImportKind.MIGRATION}
    if job.status == ImportStatus.MAPPING:
        preview = imports.import_preview(job)
        context.update(
            preview=preview,
            plans=preview.plans[:PREVIEW_SHOWN],
            fields=migration.FIELDS if context["migrating"] else values.FIELDS,
            sources=Source.choices,
            campaigns=Campaign.objects.order_by("name"),
            columns=[(h, job.mapping.get(h, "")) for h in job.headers if h],
        )
        if context["migrating"]:
            context.update(migration_views.migration_page(job))
    elif job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        context["failed_rows"] = job.rows.filter(outcome=RowOutcome.FAILED)[:ROWS_SHOWN]
        context["skipped_rows"] = job.rows.filter(outcome=RowOutcome.SKIPPED)[:ROWS_SHOWN]
    return render(request, "intake/import_detail.html", context)


@require_POST
@import_page
def import_configure(request, job: ImportJob):
    mapping = {h: request.POST.get(f"map-{i}", "") for i, h in enumerate(job.headers) if h}
    extra = (
        migration_views.migration_settings_from(job, request.POST) if job.kind == ImportKind.MIGRATION else {}
    )
    try:
        imports.import_configure(
            actor=request.user,
            job_id=job.pk,
            mapping=mapping,
            default_source=request.POST.get("default_source") or None,
            campaign=request.POST.get("campaign", ""),
            **extra,
        )
        if request.POST.get("start"):
            imports.import_start(actor=request.user, job_id=job.pk)
            messages.success(
                request, f"Importing {job.file_name}: you can leave this page, the import goes on."
            )
        else:
            messages.success(request, "Mapping saved; the preview below uses it.")
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("import-detail", job.pk)


@import_page
def import_progress(request, job: ImportJob):
    response = render(request, "intake/_import_progress.html", {"job": job})
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        response["HX-Refresh"] = "true"  # show the results
    return response


@import_page
def import_failed_rows(request, job: ImportJob) -> HttpResponse:
    return imports.failed_rows_download(job, "csv")


@import_page
def import_failed_rows_xlsx(request, job: ImportJob) -> HttpResponse:
    return imports.failed_rows_download(job, "xlsx")


REFERRALS_SHOWN = 50


@login_required
def refer(request):
    """Any employee refers someone and says what they need: a new lead, or a note on the
    lead marketing already has (`referrals.referral_submit`); below, what became of their
    own referrals."""
    form = ReferralForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                submitted = referrals.referral_submit(referrer=request.user, **form.cleaned_data)
            except ActionError as exc:
                if not show_refusal_at_fields(form, exc):
                    form.add_error(None, exc.message)
                status = refusal_status(exc)
            else:
                messages.success(request, submitted.message)
                return redirect("refer")
        else:
            status = 400
    mine = referrals.referrals_by(request.user)[:REFERRALS_SHOWN]
    return render(request, "intake/refer.html", {"form": form, "referrals": mine}, status=status)
