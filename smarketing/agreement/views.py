"""The pages of agreement versions: the history, one version, any two side by side, and
the buttons of a proposed version (change note, confirm, withdraw). Everyone reads them;
the services decide who may write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from smarketing.agreement import scoring, versions
from smarketing.agreement import services as agreement
from smarketing.agreement.forms import (
    HandoffGateForm,
    ReasonForm,
    RoutingRuleForm,
    ScoringDefinitionForm,
    ScoringRuleForm,
)
from smarketing.agreement.models import (
    AgreementChange,
    AgreementVersion,
    HandoffGate,
    Reason,
    ReasonKind,
    RoutingRule,
    RuleKind,
    ScoringDefinition,
    ScoringRule,
)
from smarketing.agreement.terms import agreement_terms
from smarketing.core.errors import ActionError
from smarketing.core.inputs import id_in, optional, whole_number_in
from smarketing.core.pages import act_then_redirect, refusal_status, show_refusal_at_fields
from smarketing.org.models import Membership, Source, TeamKind
from smarketing.org.roles import Role, can_edit_agreement, manages


def _versions():
    return AgreementVersion.objects.select_related(
        "proposed_by", "sales_confirmed_by", "marketing_confirmed_by", "closed_by"
    )


def proposal_context(user) -> dict:
    """What the agreement page shows of the proposed version, if there is one."""
    proposal = _versions().filter(status="proposed").first()
    if proposal is None:
        return {"proposal": None}
    previous, rows = versions.against_previous(proposal)
    return {
        "proposal": proposal,
        "proposal_previous": previous,
        "proposal_diff": rows,
        "proposal_waiting": versions.waiting_for(proposal),
        "my_side": versions.side_of(user),
    }


@login_required
def version_list(request):
    versions.version_in_force()
    rows = list(_versions().order_by("-number"))
    numbers = [version.number for version in rows]
    return render(
        request,
        "agreement/versions.html",
        {
            "versions": rows,
            "compare_before": numbers[1] if len(numbers) > 1 else None,
            "compare_after": numbers[0] if numbers else None,
            "can_edit": can_edit_agreement(request.user),
        },
    )


@login_required
def version_detail(request, number: int):
    versions.version_in_force()
    version = get_object_or_404(_versions(), number=number)
    previous, rows = versions.against_previous(version)
    return render(
        request,
        "agreement/version.html",
        {
            "version": version,
            "previous": previous,
            "diff": rows,
            "changed": versions.diff_count(rows),
            "waiting": versions.waiting_for(version),
            "my_side": versions.side_of(request.user),
            "can_edit": can_edit_agreement(request.user),
        },
    )


@login_required
def version_compare(request):
    """Any two versions side by side (`before`, `after`: version numbers)."""
    versions.version_in_force()
    numbers = list(AgreementVersion.objects.order_by("-number").values_list("number", flat=True))
    error = ""
    picked = {}
    for name in ("before", "after"):
        try:
            number = whole_number_in(request.GET.get(name), name=name)
        except ActionError:
            number = None
        if number not in numbers:
            error = f"Choose two versions to compare (there are versions {min(numbers)} to {max(numbers)})."
        else:
            picked[name] = number
    context = {"numbers": numbers, "error": error, **picked}
    if not error:
        old = _versions().get(number=picked["before"])
        new = _versions().get(number=picked["after"])
        rows = versions.diff(old.terms, new.terms)
        context.update(old=old, new=new, diff=rows, changed=versions.diff_count(rows))
    return render(request, "agreement/compare.html", context, status=400 if error else 200)


def _back(request, number: int) -> str:
    """Buttons on a version's own page come back to it; the agreement page's, to that."""
    return f"/agreement/versions/{number}/" if request.POST.get("back") == "version" else "/agreement/"


def _confirmed(version: AgreementVersion) -> str:
    if version.status == "in_force":
        return f"Version {version.number} is in force now: both sides confirmed it."
    waiting = " and ".join(versions.waiting_for(version))
    return f"You confirmed version {version.number}. It comes into force when {waiting} confirms it too."


@require_POST
@login_required
def version_note(request, number: int):
    return act_then_redirect(
        request,
        _back(request, number),
        lambda: versions.version_note_update(
            actor=request.user, number=number, note=request.POST.get("note", "")
        ),
        f"The change note of version {number} is saved.",
    )


@require_POST
@login_required
def version_confirm(request, number: int):
    return act_then_redirect(
        request,
        _back(request, number),
        lambda: versions.version_confirm(actor=request.user, number=number),
        _confirmed,
    )


@require_POST
@login_required
def version_withdraw(request, number: int):
    return act_then_redirect(
        request,
        _back(request, number),
        lambda: versions.version_withdraw(actor=request.user, number=number),
        f"Version {number} is withdrawn: none of its changes is made.",
    )


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
            initial={name: getattr(editing, name) for name in scoring.RULE_FIELDS if name != "position"}
            if editing
            else {"is_active": True}
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
        "changes": AgreementChange.objects.filter(area="scoring").select_related("actor")[:10],
    }
    return render(request, "agreement/scoring.html", context, status=status)


@login_required
def agreement_overview(request):
    """The agreement both teams work to, in plain words, from the live configuration:
    readable by everyone, each part linking to where managers change it."""

    terms = agreement_terms()
    changes = AgreementChange.objects.select_related("actor")[:10]
    in_force = versions.version_in_force()
    return render(
        request,
        "agreement/overview.html",
        {
            "terms": terms,
            "changes": changes,
            "can_edit": can_edit_agreement(request.user),
            "now": timezone.now(),
            "in_force": AgreementVersion.objects.select_related(
                "sales_confirmed_by", "marketing_confirmed_by"
            ).get(pk=in_force.pk),
            **proposal_context(request.user),
        },
    )


def _editing(request, model):
    """The row `?edit=<id>` names (its form is filled with it), or None."""
    try:
        row_id = optional(id_in, request.GET.get("edit"), name="edit")
    except ActionError:
        return None
    return model.objects.filter(pk=row_id).first() if row_id else None


@login_required
def agreement_scoring(request):
    return _scoring_page(request, editing=_editing(request, ScoringRule))


def _refused(request, exc: ActionError, form, **page):
    error = "" if show_refusal_at_fields(form, exc) else exc.message
    return _scoring_page(request, error=error, status=refusal_status(exc), **page)


@require_POST
@login_required
def scoring_definition_save(request):
    form = ScoringDefinitionForm(request.POST)
    if not can_edit_agreement(request.user):
        return _refused(
            request,
            ActionError("Only a manager can change the scoring definition.", code=ActionError.FORBIDDEN),
            form,
            definition_form=form,
        )
    if not form.is_valid():
        return _scoring_page(request, definition_form=form, status=400)
    try:
        version = versions.agreement_propose(
            actor=request.user, op="scoring_definition_update", **form.cleaned_data
        )
    except ActionError as exc:
        return _refused(request, exc, form, definition_form=form)
    messages.success(request, versions.proposed_message(version))
    return redirect("agreement-scoring")


@require_POST
@login_required
def scoring_rule_save(request, rule_id: int | None = None):
    form = ScoringRuleForm(request.POST)
    editing = ScoringRule.objects.filter(pk=rule_id).first() if rule_id else None
    if not can_edit_agreement(request.user):
        return _refused(
            request,
            ActionError("Only a manager can change the scoring definition.", code=ActionError.FORBIDDEN),
            form,
            rule_form=form,
            editing=editing,
        )
    if not form.is_valid():
        return _scoring_page(request, rule_form=form, editing=editing, status=400)
    try:
        version = versions.agreement_propose(
            actor=request.user, op="scoring_rule_save", rule_id=rule_id, **form.cleaned_data
        )
    except ActionError as exc:
        return _refused(request, exc, form, rule_form=form, editing=editing)
    messages.success(request, versions.proposed_message(version))
    return redirect("agreement-scoring")


@require_POST
@login_required
def scoring_rule_delete(request, rule_id: int):
    return act_then_redirect(
        request,
        "agreement-scoring",
        lambda: versions.agreement_propose(actor=request.user, op="scoring_rule_delete", rule_id=rule_id),
        versions.proposed_message,
    )


# --- hand-off gate, routing, inbound sources ----------------------------------------------------


def _changes(area: str):
    return AgreementChange.objects.filter(area=area).select_related("actor")[:10]


@login_required
def agreement_handoff(request):
    gate = HandoffGate.current()
    can_edit = can_edit_agreement(request.user)
    status, error = 200, ""
    if request.method == "POST":
        form = HandoffGateForm(request.POST)
        if not can_edit:
            status, error = 403, "Only a manager can change the hand-off gate."
        elif form.is_valid():
            try:
                version = versions.agreement_propose(
                    actor=request.user, op="handoff_gate_update", **form.cleaned_data
                )
            except ActionError as exc:
                status, error = refusal_status(exc), exc.message
            else:
                messages.success(request, versions.proposed_message(version))
                return redirect("agreement-handoff")
        else:
            status = 400
    else:
        form = HandoffGateForm(
            initial={"required_fields": gate.required_fields, "min_engagements": gate.min_engagements}
        )
    context = {
        "gate": gate,
        "labels": [agreement.GATE_FIELDS[f] for f in gate.required_fields if f in agreement.GATE_FIELDS],
        "form": form,
        "can_edit": can_edit,
        "error": error,
        "changes": _changes("handoff_gate"),
    }
    return render(request, "agreement/handoff.html", context, status=status)


def _reasons_page(request, *, form=None, editing=None, error="", status=200):
    if form is None:
        initial = {"is_active": True, "position": 0, "kind": request.GET.get("kind", ReasonKind.REJECTION)}
        if editing:
            initial = {name: getattr(editing, name) for name in agreement.REASON_FIELDS}
        form = ReasonForm(initial=initial)
    if editing:
        form.fields["kind"].disabled = True  # a reason keeps its kind
    reasons = list(Reason.objects.order_by("kind", "-is_active", "position", "label"))
    context = {
        "kinds": [
            (kind, label, [r for r in reasons if r.kind == kind]) for kind, label in ReasonKind.choices
        ],
        "form": form,
        "editing": editing,
        "can_edit": can_edit_agreement(request.user),
        "error": error,
        "changes": _changes("reasons"),
    }
    return render(request, "agreement/reasons.html", context, status=status)


@login_required
def agreement_reasons(request):
    return _reasons_page(request, editing=_editing(request, Reason))


@require_POST
@login_required
def reason_save(request, reason_id: int | None = None):
    editing = Reason.objects.filter(pk=reason_id).first() if reason_id else None
    form = ReasonForm(request.POST, initial={"kind": editing.kind} if editing else None)
    if editing:
        form.fields["kind"].disabled = True
    if not can_edit_agreement(request.user):
        return _reasons_page(
            request,
            form=form,
            editing=editing,
            error="Only a manager can change the agreed reasons.",
            status=403,
        )
    if not form.is_valid():
        return _reasons_page(request, form=form, editing=editing, status=400)
    values = dict(form.cleaned_data)
    if editing:
        values.pop("kind")
    try:
        version = versions.agreement_propose(
            actor=request.user, op="reason_save", reason_id=reason_id, **values
        )
    except ActionError as exc:
        error = "" if show_refusal_at_fields(form, exc) else exc.message
        return _reasons_page(request, form=form, editing=editing, error=error, status=refusal_status(exc))
    messages.success(request, versions.proposed_message(version))
    return redirect("agreement-reasons")


def _routing_page(request, *, form=None, editing=None, error="", status=200):
    if form is None:
        initial = {"is_active": True, "position": RoutingRule.objects.count()}
        if editing:
            initial = {name: getattr(editing, name) for name in agreement.ROUTING_RULE_FIELDS}
        form = RoutingRuleForm(initial=initial)
    members = (
        Membership.objects.filter(
            team__kind=TeamKind.SALES, user__groups__name=Role.SALES_REP, user__is_active=True
        )
        .select_related("user", "team")
        .order_by("team__name", "user__first_name")
    )
    context = {
        "rules": RoutingRule.objects.select_related("team"),
        "members": [(m, manages(request.user, m.user)) for m in members],
        "form": form,
        "editing": editing,
        "can_edit": can_edit_agreement(request.user),
        "error": error,
        "changes": _changes("routing"),
        "source_labels": dict(Source.choices),
    }
    return render(request, "agreement/routing.html", context, status=status)


@login_required
def agreement_routing(request):
    return _routing_page(request, editing=_editing(request, RoutingRule))


@require_POST
@login_required
def routing_rule_save(request, rule_id: int | None = None):
    form = RoutingRuleForm(request.POST)
    editing = RoutingRule.objects.filter(pk=rule_id).first() if rule_id else None
    if not form.is_valid():
        return _routing_page(request, form=form, editing=editing, status=400)
    try:
        rule = agreement.routing_rule_save(actor=request.user, rule_id=rule_id, **form.cleaned_data)
    except ActionError as exc:
        error = "" if show_refusal_at_fields(form, exc) else exc.message
        return _routing_page(request, form=form, editing=editing, error=error, status=refusal_status(exc))
    messages.success(request, f"Routing rule “{rule.name}” saved. It applies to the next hand-off.")
    return redirect("agreement-routing")


@require_POST
@login_required
def routing_rule_delete(request, rule_id: int):
    return act_then_redirect(
        request,
        "agreement-routing",
        lambda: agreement.routing_rule_delete(actor=request.user, rule_id=rule_id),
        "Routing rule removed.",
    )


@require_POST
@login_required
def membership_save(request, membership_id: int):
    try:
        weight = whole_number_in(request.POST.get("weight"), name="weight", maximum=10**6)
    except ActionError:
        weight = -1  # refused by membership_update, with its message
    try:
        agreement.membership_update(
            actor=request.user,
            membership_id=membership_id,
            weight=weight,
            is_away=request.POST.get("is_away") == "on",
        )
    except ActionError as exc:
        return _routing_page(request, error=exc.message, status=refusal_status(exc))
    messages.success(request, "Saved. Routing uses it from the next hand-off.")
    return redirect("agreement-routing")
