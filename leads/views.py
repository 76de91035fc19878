"""Server-rendered pages. Thin: they ask selectors for data and render it.

Every page needs a login; everyone logged in may read any lead (closed loop).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from . import selectors
from .models import Lead, Stage
from .roles import Role, role_names, team_of
from .services import handoff_missing


@login_required
def home(request):
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
        context["queue"] = selectors.rep_queue(user)
        context["sqls"] = selectors.rep_sqls(user)[:50]
    if is_manager and selectors.is_sales_team(team):
        context["sections"].append("sales_manager")
        context["reps"] = selectors.team_reps(team)
        context["at_risk"] = selectors.clocks_at_risk(team)[:50]
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
    stage = request.GET.get("stage", "")
    q = request.GET.get("q", "").strip()
    page = Paginator(selectors.lead_list(stage=stage, q=q), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/lead_list.html",
        {"page": page, "stage": stage, "q": q, "stages": Stage.choices},
    )


@login_required
def lead_detail(request, lead_id: int):
    try:
        lead = selectors.lead_detail(lead_id)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None
    context = {
        "lead": lead,
        "timeline": selectors.lead_timeline(lead),
        "engagements": lead.engagements.select_related("logged_by"),
        "touches": lead.touches.select_related("by"),
        "clocks": lead.clocks.select_related("owner").order_by("-started_at"),
        "handoff_missing": handoff_missing(lead) if lead.stage == Stage.LEAD else [],
    }
    return render(request, "leads/lead_detail.html", context)
