"""The agreement pages: how leads are scored (and, later, gated and routed).

Everyone may read the agreement (it is what marketing and sales agreed on); only managers
change it, through the scoring services, which audit every change and re-score leads.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from smarketing.api import STATUS_BY_CODE

from . import scoring
from .errors import LeadActionError
from .forms import ScoringDefinitionForm, ScoringRuleForm
from .models import AgreementChange, RuleKind, ScoringDefinition, ScoringRule
from .roles import can_edit_agreement

RULE_FIELDS = ("kind", "label", "field", "operator", "value", "engagement_type", "points", "is_active")


def _scoring_page(request, *, definition_form=None, rule_form=None, editing=None, error="", status=200):
    definition = ScoringDefinition.current()
    rules = list(ScoringRule.objects.all())
    if definition_form is None:
        definition_form = ScoringDefinitionForm(
            initial={
                "threshold": definition.threshold,
                "auto_qualify": definition.auto_qualify,
                "decay_half_life_days": definition.decay_half_life_days,
            }
        )
    if rule_form is None:
        rule_form = ScoringRuleForm(
            initial={name: getattr(editing, name) for name in RULE_FIELDS} if editing else {"is_active": True}
        )
    context = {
        "definition": definition,
        "fit_rules": [r for r in rules if r.kind == RuleKind.FIT],
        "engagement_rules": [r for r in rules if r.kind == RuleKind.ENGAGEMENT],
        "can_edit": can_edit_agreement(request.user),
        "definition_form": definition_form,
        "rule_form": rule_form,
        "editing": editing,
        "error": error,
        "progress": scoring.scoring_progress(),
        "changes": AgreementChange.objects.filter(area="scoring").select_related("actor")[:10],
    }
    return render(request, "leads/agreement_scoring.html", context, status=status)


@login_required
def agreement_scoring(request):
    editing = None
    if "edit" in request.GET:
        editing = (
            ScoringRule.objects.filter(pk=request.GET["edit"]).first()
            if request.GET["edit"].isdigit()
            else None
        )
    return _scoring_page(request, editing=editing)


@login_required
def scoring_progress(request):
    """The re-scoring progress fragment, polled by the page while leads are pending."""
    return render(request, "leads/_scoring_progress.html", {"progress": scoring.scoring_progress()})


def _refused(request, exc: LeadActionError, form, **page):
    for name, errors in exc.fields.items():
        if name in form.fields:
            for error in errors:
                form.add_error(name, error)
    error = "" if set(exc.fields) & set(form.fields) else exc.message
    return _scoring_page(request, error=error, status=STATUS_BY_CODE.get(exc.code, 400), **page)


@require_POST
@login_required
def scoring_definition_save(request):
    form = ScoringDefinitionForm(request.POST)
    if not can_edit_agreement(request.user):
        return _refused(
            request,
            LeadActionError(
                "Only a manager can change the scoring definition.", code=LeadActionError.FORBIDDEN
            ),
            form,
            definition_form=form,
        )
    if not form.is_valid():
        return _scoring_page(request, definition_form=form, status=400)
    try:
        scoring.scoring_definition_update(actor=request.user, **form.cleaned_data)
    except LeadActionError as exc:
        return _refused(request, exc, form, definition_form=form)
    messages.success(request, "Scoring settings saved. Leads are being re-scored in the background.")
    return redirect("agreement-scoring")


@require_POST
@login_required
def scoring_rule_save(request, rule_id: int | None = None):
    form = ScoringRuleForm(request.POST)
    editing = ScoringRule.objects.filter(pk=rule_id).first() if rule_id else None
    if not can_edit_agreement(request.user):
        return _refused(
            request,
            LeadActionError(
                "Only a manager can change the scoring definition.", code=LeadActionError.FORBIDDEN
            ),
            form,
            rule_form=form,
            editing=editing,
        )
    if not form.is_valid():
        return _scoring_page(request, rule_form=form, editing=editing, status=400)
    try:
        rule = scoring.scoring_rule_save(actor=request.user, rule_id=rule_id, **form.cleaned_data)
    except LeadActionError as exc:
        return _refused(request, exc, form, rule_form=form, editing=editing)
    messages.success(request, f"Rule “{rule.label}” saved. Leads are being re-scored in the background.")
    return redirect("agreement-scoring")


@require_POST
@login_required
def scoring_rule_delete(request, rule_id: int):
    try:
        scoring.scoring_rule_delete(actor=request.user, rule_id=rule_id)
    except LeadActionError as exc:
        messages.error(request, exc.message)
        return redirect("agreement-scoring")
    messages.success(request, "Rule removed. Leads are being re-scored in the background.")
    return redirect("agreement-scoring")
