"""The pages of agreement versions: the history, one version, any two side by side, and
the buttons of a proposed version (change note, confirm, withdraw). Everyone reads them;
the services decide who may write."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from smarketing.pages import act_then_redirect

from . import versions
from .models import AgreementVersion
from .roles import can_edit_agreement


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
        "leads/agreement_versions.html",
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
        "leads/agreement_version.html",
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
        value = request.GET.get(name, "")
        if not value.isdigit() or int(value) not in numbers:
            error = f"Choose two versions to compare (there are versions {min(numbers)} to {max(numbers)})."
        else:
            picked[name] = int(value)
    context = {"numbers": numbers, "error": error, **picked}
    if not error:
        old = _versions().get(number=picked["before"])
        new = _versions().get(number=picked["after"])
        rows = versions.diff(old.terms, new.terms)
        context.update(old=old, new=new, diff=rows, changed=versions.diff_count(rows))
    return render(request, "leads/agreement_compare.html", context, status=400 if error else 200)


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
