"""The campaign pages: the list (search, channel, month), a new campaign, one campaign with
its closed loop (`reports.campaigns`), and its edit form.

Thin: parse the form, call one service (`smarketing.org.campaigns`), show its refusal next
to the field with the input kept. Marketing creates and edits; sales and managers read;
an employee without a product role is refused (the services check again)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.http import Http404
from django.shortcuts import redirect, render

from reports.campaign_forms import CampaignForm, CampaignListForm, CampaignRangeForm
from reports.campaigns import FIGURES, campaign_funnel
from smarketing.core.errors import ActionError
from smarketing.core.pages import refusal_status, show_refusal_at_fields
from smarketing.org import campaigns
from smarketing.org.models import Campaign

PAGE_SIZE = 25


def _refused(request, message: str, status: int = 403):
    return render(request, "core/refused.html", {"message": message}, status=status)


def _campaign(campaign_id: int) -> Campaign:
    try:
        return Campaign.objects.select_related("owner").get(pk=campaign_id)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign.") from None


def _form_error(form) -> str:
    return "Please correct the highlighted fields: " + "; ".join(
        f"{form.fields[name].label or name}: {errors[0]}" if name in form.fields else errors[0]
        for name, errors in form.errors.items()
    )


@login_required
def campaign_list(request):
    """Campaigns, newest first: find one by name, channel or the month it ran in."""
    if not campaigns.can_read_campaigns(request.user):
        return _refused(request, campaigns.READ_REFUSAL)
    form = CampaignListForm(request.GET)
    can_edit = campaigns.can_edit_campaigns(request.user)
    context = {"form": form, "can_edit": can_edit, "page": None}
    if not form.is_valid():
        return render(request, "reports/campaign_list.html", context, status=400)
    filters = form.filters()
    rows = campaigns.campaign_list(**filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {key: value for key, value in request.GET.items() if key in form.fields and value}
    context.update(
        page=page,
        active=bool(query),
        query=urlencode(query),
        month=filters["month"],
        months=_months(filters["month"]),
    )
    return render(request, "reports/campaign_list.html", context)


MONTHS_MAX = 60


def _months(chosen: dt.date | None) -> list[dt.date]:
    """The months a person can pick, newest first: those the campaigns' dates span (at most
    the last MONTHS_MAX of them), and the chosen one. A list to pick from, not a month field
    (which Chromium shows as "--------- ----" and phones each their own way)."""
    span = Campaign.objects.aggregate(
        first=Min("starts_on"), last_start=Max("starts_on"), last_end=Max("ends_on")
    )
    ends = [day for day in (span["last_start"], span["last_end"]) if day is not None]
    months: list[dt.date] = []
    if span["first"] is not None and ends:
        month, first = max(ends).replace(day=1), span["first"].replace(day=1)
        while month >= first and len(months) < MONTHS_MAX:
            months.append(month)
            month = (month - dt.timedelta(days=1)).replace(day=1)
    if chosen is not None and chosen not in months:
        months = sorted([*months, chosen], reverse=True)
    return months


def _save(request, form: CampaignForm, campaign: Campaign | None):
    """Create or update through the service. Returns the campaign, or the status to show
    the form again with (its errors next to the fields, the input kept)."""
    if not form.is_valid():
        form.error_summary = _form_error(form)
        return 400
    try:
        if campaign is None:
            return campaigns.campaign_create(actor=request.user, **form.values())
        return campaigns.campaign_update(
            actor=request.user,
            campaign_id=campaign.pk,
            expected_version=form.cleaned_data.get("version"),
            **form.values(),
        )
    except ActionError as exc:
        if not show_refusal_at_fields(form, exc) or exc.code == ActionError.STALE_VERSION:
            form.error_summary = exc.message
        else:
            form.error_summary = "Nothing was saved. " + exc.message
        return refusal_status(exc)


@login_required
def campaign_new(request):
    return _campaign_form(request, None)


@login_required
def campaign_edit(request, campaign_id: int):
    return _campaign_form(request, campaign_id)


def _campaign_form(request, campaign_id: int | None):
    """The new-campaign and edit pages: one form, saved through the service."""
    if not campaigns.can_edit_campaigns(request.user):
        return _refused(request, campaigns.EDIT_REFUSAL)
    campaign = _campaign(campaign_id) if campaign_id is not None else None
    form = CampaignForm(request.POST if request.method == "POST" else None, campaign=campaign)
    status = 200
    if request.method == "POST":
        result = _save(request, form, campaign)
        if isinstance(result, Campaign):
            done = "Created" if campaign is None else "Saved"
            messages.success(request, f"{done} the campaign “{result.name}”.")
            return redirect("campaign-detail", campaign_id=result.pk)
        status = result
    return render(request, "reports/campaign_form.html", {"form": form, "campaign": campaign}, status=status)


@login_required
def campaign_detail(request, campaign_id: int):
    """One campaign: its plan (dates, owner, budget, cost) and its closed loop — over all
    time, or the weeks asked for — each count linked to its leads."""
    if not campaigns.can_read_campaigns(request.user):
        return _refused(request, campaigns.READ_REFUSAL)
    campaign = _campaign(campaign_id)
    form = CampaignRangeForm(request.GET)
    context = {
        "campaign": campaign,
        "form": form,
        "can_edit": campaigns.can_edit_campaigns(request.user),
        "changes": campaigns.campaign_changes(campaign),
        "funnel": None,
    }
    if not form.is_valid():
        return render(request, "reports/campaign_detail.html", context, status=400)
    funnel = campaign_funnel(
        campaign=campaign, first=form.cleaned_data.get("week"), last=form.cleaned_data.get("week_to")
    )
    budget_left = funnel.budget_left
    context.update(
        funnel=funnel,
        figures={name: funnel.figure(name) for name in FIGURES},
        budget_left=budget_left,
        over_budget=-budget_left if budget_left is not None and budget_left < 0 else None,
        counts=[
            {"key": key, "label": label, "value": funnel.figure(key), "url": funnel.links.get(key)}
            for key, label in (
                ("leads", "Leads"),
                ("mqls", "MQLs"),
                ("sqls", "SQLs"),
                ("customers", "Customers"),
            )
        ],
        dashboard_query=urlencode(
            {"campaign": campaign.pk, "week": funnel.first.isoformat(), "week_to": funnel.last.isoformat()}
        ),
    )
    return render(request, "reports/campaign_detail.html", context)
