"""The migration pages (managers; docs/migration.md): the list of migrations with the upload,
and what the import page shows and takes for a migration — the values found in the file
with what each becomes, the fallback owner and the disqualification reason. The import
page itself (`views.import_detail`) serves both kinds of import."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from leads.models import Stage
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.core.errors import ActionError
from smarketing.intake import imports, migration
from smarketing.intake.models import ImportJob, ImportKind
from smarketing.intake.values import SOURCE_LABELS
from smarketing.org import roles

MIGRATIONS_SHOWN = 20
REFUSED = "Only managers can migrate a team's history from another CRM. Ask a sales or marketing manager."


@login_required
def migrations(request):
    """Managers' migrations: upload a HubSpot or Salesforce export, then map and start it on
    the import page."""
    if not roles.can_migrate(request.user):
        return render(request, "core/refused.html", {"message": REFUSED}, status=403)
    error, status = "", 200
    if request.method == "POST":
        uploaded = request.FILES.get("file")
        if uploaded is None:
            error = "Choose the CSV or Excel (.xlsx) export to upload."
        else:
            try:
                job = imports.import_upload(actor=request.user, uploaded=uploaded, kind=ImportKind.MIGRATION)
            except ActionError as exc:
                error = exc.message
            else:
                return redirect("import-detail", job.pk)
        status = 400
    jobs = ImportJob.objects.filter(kind=ImportKind.MIGRATION).select_related("created_by")[:MIGRATIONS_SHOWN]
    return render(request, "intake/migrations.html", {"jobs": jobs, "error": error}, status=status)


# --- the import page of a migration ------------------------------------------------------------

KIND_TITLES = {
    "stage": "Lifecycle stage",
    "status": "Lead status",
    "deal_stage": "Deal / opportunity stage",
    "owner": "Owner",
    "source": "Source",
    "loss_reason": "Loss reason",
}


def _outcome_choices(with_no_change: bool = False) -> list[tuple[str, str]]:
    choices = [(Stage.LEAD, "Lead (with marketing)"), (Stage.MQL, "MQL"), (Stage.SQL, "SQL")]
    choices += [(Stage.CUSTOMER, "Customer"), (migration.LOST, "Lost"), (Stage.DISQUALIFIED, "Disqualified")]
    return [(migration.NO_CHANGE, "No change")] + choices if with_no_change else choices


def _targets() -> dict[str, list[tuple[str, str]]]:
    # Everyone, those who left too: a closed deal keeps the rep who had it (docs/migration.md).
    users = get_user_model().objects.order_by("-is_active", "first_name", "last_name", "username")
    return {
        "stage": _outcome_choices(),
        "status": _outcome_choices(with_no_change=True),
        "deal_stage": [
            (migration.WON, "Won"),
            (migration.LOST, "Lost"),
            (migration.OPEN, "Still open (SQL)"),
        ],
        "owner": [("", "— no one (the fallback owner, or the row is refused) —")]
        + [
            (str(u.pk), (u.get_full_name() or u.username) + ("" if u.is_active else " (left)")) for u in users
        ],
        "source": list(SOURCE_LABELS.items()),
        "loss_reason": [
            (str(r.pk), r.label)
            for r in Reason.objects.active().of_kind(ReasonKind.LOSS).order_by("position")
        ],
    }


def migration_page(job: ImportJob) -> dict:
    """What the import page shows of a migration being mapped."""
    found = migration.values_found(job)
    targets = _targets()
    sections = []
    for kind, values in found.items():
        rows = [
            {
                "value": f.value,
                "rows": f.rows,
                "label": f.label,
                "changed": f.changed,
                "chosen": _as_choice(f.maps_to),
            }
            for f in values
        ]
        sections.append({"kind": kind, "title": KIND_TITLES[kind], "rows": rows, "targets": targets[kind]})
    return {
        "value_sections": sections,
        "reps": [u for u in get_user_model().objects.filter(is_active=True) if roles.is_active_sales_rep(u)],
        "disqualification_reasons": Reason.objects.active().of_kind(ReasonKind.DISQUALIFICATION),
        "systems": job._meta.get_field("system").choices,
        "preview_values_rows": migration.PREVIEW_VALUE_ROWS,
    }


def _as_choice(value) -> str:
    return "" if value is None else str(value)


def migration_settings_from(job: ImportJob, post) -> dict:
    """`imports.import_configure`'s migration arguments from the import page's form: each
    value's choice kept where it differs from what it would map to by default (changes
    made earlier to values not shown stay)."""
    defaults = migration.MigrationContext(job)
    defaults.maps = {kind: {} for kind in migration.VALUE_KINDS}
    maps = {kind: dict(entries) for kind, entries in job.value_maps.items()}
    for kind in migration.VALUE_KINDS:
        index = 0
        while f"vv-{kind}-{index}" in post:
            value = post.get(f"vv-{kind}-{index}", "").strip()
            chosen = post.get(f"vm-{kind}-{index}", "")
            index += 1
            target = _from_choice(kind, chosen)
            default = migration.default_target(defaults, kind, value)
            entries = maps.setdefault(kind, {})
            if target in (None, "") and kind not in ("owner", "status"):
                entries.pop(value, None)  # left "not mapped": its rows are refused, as they say
            elif target == default:
                entries.pop(value, None)
            else:
                entries[value] = target
    return {
        "system": post.get("system") or None,
        "value_maps": {kind: entries for kind, entries in maps.items() if entries},
        "fallback_owner": post.get("fallback_owner", ""),
        "disqualification_reason": post.get("disqualification_reason", ""),
    }


def _from_choice(kind: str, chosen: str):
    if kind in ("owner", "loss_reason"):
        return int(chosen) if re.fullmatch(r"[0-9]{1,18}", chosen) else None
    return chosen
