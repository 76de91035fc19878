"""Versions of the agreement: propose a change, both managers confirm, then it is in force.

A manager's change to the agreement (the MQL definition, the hand-off gate, the SLA
policies, the reasons, marketing's commitment) is not applied when it is made. It is added
to the proposed version — one is open at a time — as the service call that will make it
(`op` and its arguments). Proposing tries the change for real inside a savepoint that is
then rolled back: the service validates it (a bad value is refused with its own message and
nothing is stored) and the agreement's terms are read as they would be, for the page and
the diff. The version in force stays in force, and the product keeps enforcing it, until
the sales manager and the marketing manager have both confirmed; the second confirmation
applies every change of the version, in order, in one transaction.

Each lead records the version in force when it was handed off (`Lead.agreement_version`
and the hand-off event's data), so reports can split by version.
"""

from __future__ import annotations

import datetime as dt
import difflib
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from smarketing.agreement import hooks, scoring, services
from smarketing.agreement.changes import agreement_change_record, require_manager
from smarketing.agreement.models import AgreementChange, AgreementVersion, VersionStatus
from smarketing.agreement.terms import agreement_terms
from smarketing.core.errors import ActionError
from smarketing.notifications.models import NotificationKind
from smarketing.notifications.services import notify
from smarketing.org import roles
from smarketing.org.models import TeamKind

FIRST_NOTE = "The agreement as it stood when versions began."
MAX_CHANGES = 50  # per version: an agreement both sides read, not a change log


def _operations() -> dict[str, Callable[..., Any]]:
    """The services a version may call, by name: the agreement's own, and those of the
    parts other apps keep (`hooks.version_operations`: SLA policies, the commitment)."""
    operations: dict[str, Callable[..., Any]] = {
        "scoring_definition_update": scoring.scoring_definition_update,
        "scoring_rule_save": scoring.scoring_rule_save,
        "scoring_rule_delete": scoring.scoring_rule_delete,
        "handoff_gate_update": services.handoff_gate_update,
        "reason_save": services.reason_save,
    }
    for kept_elsewhere in hooks.version_operations():
        operations.update(kept_elsewhere)
    return operations


# --- arguments stored as JSON -------------------------------------------------------------------


def encode(value: Any) -> Any:
    """Service arguments as JSON: model instances by their key, decimals and dates as text."""
    if isinstance(value, models.Model):
        return {"$model": value._meta.label, "pk": value.pk}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$model" in value:
            instance = apps.get_model(value["$model"])._default_manager.filter(pk=value["pk"]).first()
            if instance is None:
                raise ActionError(
                    f"A {apps.get_model(value['$model'])._meta.verbose_name} this change refers to "
                    "no longer exists."
                )
            return instance
        if "$decimal" in value:
            return Decimal(value["$decimal"])
        if "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


# --- reading ------------------------------------------------------------------------------------


def version_in_force() -> AgreementVersion:
    """The version in force; the first use makes version 1 from the configuration as it is."""
    version = AgreementVersion.objects.filter(status=VersionStatus.IN_FORCE).first()
    if version is not None:
        return version
    try:
        with transaction.atomic():
            number = (AgreementVersion.objects.aggregate(n=models.Max("number"))["n"] or 0) + 1
            return AgreementVersion.objects.create(
                number=number,
                status=VersionStatus.IN_FORCE,
                note=FIRST_NOTE,
                terms=agreement_terms(),
                in_force_from=timezone.now(),
            )
    except IntegrityError:  # another request made it first
        return AgreementVersion.objects.get(status=VersionStatus.IN_FORCE)


def number_in_force() -> int:
    number = (
        AgreementVersion.objects.filter(status=VersionStatus.IN_FORCE)
        .values_list("number", flat=True)
        .first()
    )
    return number if number is not None else version_in_force().number


def version_proposed() -> AgreementVersion | None:
    return AgreementVersion.objects.filter(status=VersionStatus.PROPOSED).first()


def side_of(user) -> str | None:
    """Which side a manager confirms for: "sales", "marketing", or None (not a team manager)."""
    if user is None or not roles.has_role(user, roles.Role.MANAGER):
        return None
    kind = roles.team_kind_of(user)
    return {TeamKind.SALES: "sales", TeamKind.MARKETING: "marketing"}.get(kind)


def waiting_for(version: AgreementVersion) -> list[str]:
    """The sides that have still to confirm a proposed version."""
    if version.status != VersionStatus.PROPOSED:
        return []
    return [side for side in ("sales", "marketing") if getattr(version, f"{side}_confirmed_by_id") is None]


def previous_of(version: AgreementVersion) -> AgreementVersion | None:
    """What a version is compared with: the version in force before it (for a proposal, the
    one in force now)."""
    return (
        AgreementVersion.objects.filter(
            number__lt=version.number, status__in=[VersionStatus.IN_FORCE, VersionStatus.SUPERSEDED]
        )
        .order_by("-number")
        .first()
    )


def against_previous(version: AgreementVersion) -> tuple[AgreementVersion | None, list[dict]]:
    """The version before `version` (see `previous_of`) and the diff from it to `version`."""
    previous = previous_of(version)
    return previous, diff(previous.terms if previous else {}, version.terms)


def proposed_message(version: AgreementVersion) -> str:
    """What a page says after a manager proposed a change."""
    return (
        f"Proposed in version {version.number} of the agreement: {version.changes[-1]['summary']}. "
        "The version in force applies until the sales and the marketing manager have both confirmed it."
    )


# --- the difference between two versions ------------------------------------------------------------


def sections(terms: dict) -> list[tuple[str, list[str]]]:
    """The agreement's terms as titled lists of sentences: what a diff compares."""
    if not terms:
        return []
    mql = terms.get("mql_definition", {})
    reasons = terms.get("reasons", {})
    return [
        (
            "The MQL definition",
            [mql.get("words", "")] + [f"{rule['label']}: {rule['words']}" for rule in mql.get("rules", [])],
        ),
        ("Sales' side: the SLA policies", [policy["words"] for policy in terms.get("sla_policies", [])]),
        ("Marketing's side: the weekly commitment", [c["words"] for c in terms.get("commitments", [])]),
        ("Reasons for rejecting an MQL", list(reasons.get("rejection", []))),
        ("Reasons for losing an SQL", list(reasons.get("loss", []))),
        ("Reasons for disqualifying", list(reasons.get("disqualification", []))),
    ]


def diff(before: dict, after: dict) -> list[dict]:
    """Side by side, section by section: rows of (before, after) with what changed.

    `kind` is "same", "changed", "added" or "removed"; `changed` counts the rows that differ."""
    result = []
    old = dict(sections(before))
    for title, new_lines in sections(after):
        old_lines = old.get(title, [])
        rows = []
        matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
        for tag, a1, a2, b1, b2 in matcher.get_opcodes():
            if tag == "equal":
                rows += [{"kind": "same", "before": line, "after": line} for line in old_lines[a1:a2]]
                continue
            left, right = old_lines[a1:a2], new_lines[b1:b2]
            for index in range(max(len(left), len(right))):
                was = left[index] if index < len(left) else None
                now = right[index] if index < len(right) else None
                kind = (
                    "changed"
                    if was is not None and now is not None
                    else "added"
                    if was is None
                    else "removed"
                )
                rows.append({"kind": kind, "before": was, "after": now})
        result.append(
            {"title": title, "rows": rows, "changed": sum(1 for row in rows if row["kind"] != "same")}
        )
    return result


def diff_count(rows: list[dict]) -> int:
    return sum(section["changed"] for section in rows)


# --- proposing -----------------------------------------------------------------------------------


class _RollBack(Exception):
    pass


def _apply(changes: list[dict]) -> list[list[str]]:
    """Make the changes for real (the caller's transaction decides whether they stay);
    returns, per change, the audit summaries its service wrote."""
    operations = _operations()
    users = get_user_model()._default_manager.in_bulk({change["by"] for change in changes})
    summaries = []
    for change in changes:
        start = AgreementChange.objects.aggregate(n=models.Max("id"))["n"] or 0
        operation = operations[change["op"]]
        operation(actor=users.get(change["by"]), **decode(change["args"]))
        summaries.append(
            list(
                AgreementChange.objects.filter(pk__gt=start, actor_id=change["by"])
                .order_by("id")
                .values_list("summary", flat=True)
            )
        )
    return summaries


def _trial(changes: list[dict]) -> tuple[dict, list[list[str]]]:
    """The terms the agreement would have with the changes made, and what each change did:
    applied inside a savepoint that is always rolled back (queued re-scores with it)."""
    outcome: dict[str, Any] = {}
    try:
        with transaction.atomic():
            outcome["summaries"] = _apply(changes)
            outcome["terms"] = agreement_terms()
            raise _RollBack
    except _RollBack:
        pass
    return outcome["terms"], outcome["summaries"]


def _audit(actor, summary: str, version: AgreementVersion) -> None:
    agreement_change_record(area="agreement", actor=actor, summary=summary, after={"version": version.number})


@transaction.atomic
def agreement_propose(*, actor, op: str, **args: Any) -> AgreementVersion:
    """Add a change to the proposed version (opening one when none is): it is checked and
    described now, and applied when both managers have confirmed the version."""
    require_manager(actor, "the agreement")
    if op not in _operations():
        raise ActionError(f"“{op}” is not a change the agreement knows.")
    in_force = version_in_force()
    version = AgreementVersion.objects.select_for_update().filter(status=VersionStatus.PROPOSED).first()
    opening = version is None
    if opening:
        live = agreement_terms()
        if live != in_force.terms:  # changed outside the agreement (a campaign renamed, say)
            AgreementVersion.objects.filter(pk=in_force.pk).update(terms=live)
            in_force.terms = live
        number = (AgreementVersion.objects.aggregate(n=models.Max("number"))["n"] or 0) + 1
        version = AgreementVersion(number=number, status=VersionStatus.PROPOSED, proposed_by=actor)
    earlier = list(version.changes)
    if len(earlier) >= MAX_CHANGES:
        raise ActionError(
            f"Version {version.number} holds {MAX_CHANGES} changes already: have it confirmed, "
            "or withdraw it, before proposing more.",
            code=ActionError.CONFLICT,
        )
    change = {"op": op, "args": encode(args), "by": actor.pk, "at": timezone.now().isoformat()}
    terms, summaries = _trial([*earlier, change])  # a bad value is refused here, nothing stored
    change["summary"] = "; ".join(summaries[-1])
    if not change["summary"]:
        raise ActionError("That is what the proposal says already: nothing changed.")
    change["by_name"] = actor.get_full_name() or actor.get_username()
    version.changes = [*earlier, change]
    version.terms = terms
    _confirmations_clear(version)
    try:
        with transaction.atomic():
            version.save()
    except IntegrityError as exc:
        raise ActionError(
            "Another manager opened a proposed version at the same moment: reload and try again.",
            code=ActionError.CONFLICT,
        ) from exc
    _audit(actor, f"Proposed in version {version.number}: {change['summary']}", version)
    _notify_waiting(version, actor)
    return version


@transaction.atomic
def version_note_update(*, actor, number: int, note: str) -> AgreementVersion:
    require_manager(actor, "the agreement")
    version = _locked_proposal(number)
    note = (note or "").strip()
    if not note:
        raise ActionError("Say why the agreement changes: the note can't be empty.", field="note")
    if len(note) > 2000:
        raise ActionError("Keep the change note under 2000 characters.", field="note")
    if note == version.note:
        return version
    version.note = note
    cleared = _confirmations_clear(version)
    version.save()
    if cleared:
        _audit(actor, f"Changed the note of version {number}: {', '.join(cleared)} to confirm again", version)
        _notify_waiting(version, actor, again=True)
    return version


def _confirmations_clear(version: AgreementVersion) -> list[str]:
    """What a side confirmed has changed (a change added, the note rewritten): it confirms
    again. Returns the sides whose confirmation was cleared."""
    cleared = [side for side in ("sales", "marketing") if getattr(version, f"{side}_confirmed_by_id")]
    for side in cleared:
        setattr(version, f"{side}_confirmed_by", None)
        setattr(version, f"{side}_confirmed_at", None)
    return cleared


def _locked_proposal(number: int) -> AgreementVersion:
    version = AgreementVersion.objects.select_for_update().filter(number=number).first()
    if version is None:
        raise ActionError(f"There is no version {number}.", code=ActionError.NOT_FOUND)
    if version.status != VersionStatus.PROPOSED:
        raise ActionError(
            f"Version {number} is {version.get_status_display().lower()}: only a proposed version "
            "can be changed, confirmed or withdrawn.",
            code=ActionError.CONFLICT,
        )
    return version


@transaction.atomic
def version_confirm(*, actor, number: int) -> AgreementVersion:
    """The sales or the marketing manager confirms a proposed version for their side; the
    second confirmation puts it in force."""
    side = side_of(actor)
    if side is None:
        raise ActionError(
            "Only the sales manager and the marketing manager confirm the agreement.",
            code=ActionError.FORBIDDEN,
        )
    version = _locked_proposal(number)
    if not version.note.strip():
        raise ActionError(
            f"Version {number} has no change note yet: say why the agreement changes before confirming.",
            field="note",
        )
    confirmed_by = getattr(version, f"{side}_confirmed_by")
    if confirmed_by is not None:
        raise ActionError(
            f"{side.capitalize()} confirmed version {number} already ({confirmed_by.get_full_name() or confirmed_by}).",
            code=ActionError.CONFLICT,
        )
    now = timezone.now()
    setattr(version, f"{side}_confirmed_by", actor)
    setattr(version, f"{side}_confirmed_at", now)
    _audit(actor, f"Confirmed version {number} for {side}", version)
    if waiting_for(version):
        version.save()
        _notify_waiting(version, actor)
        return version
    try:
        _apply(version.changes)
    except ActionError as exc:
        raise ActionError(
            f"Version {number} can't be applied any more: {exc.message} Withdraw it and propose the change again.",
            code=ActionError.CONFLICT,
        ) from exc
    in_force = AgreementVersion.objects.select_for_update().filter(status=VersionStatus.IN_FORCE).first()
    if in_force is not None:
        AgreementVersion.objects.filter(pk=in_force.pk).update(
            status=VersionStatus.SUPERSEDED, in_force_until=now
        )
    version.status = VersionStatus.IN_FORCE
    version.in_force_from = now
    version.terms = agreement_terms()
    version.save()
    _audit(actor, f"Version {number} is in force, confirmed by sales and marketing", version)
    _notify_in_force(version)
    return version


@transaction.atomic
def version_withdraw(*, actor, number: int) -> AgreementVersion:
    require_manager(actor, "the agreement")
    version = _locked_proposal(number)
    version.status = VersionStatus.WITHDRAWN
    version.closed_by = actor
    version.in_force_until = None
    version.save()
    _audit(actor, f"Withdrew version {number}", version)
    return version


# --- telling people -------------------------------------------------------------------------------


def _url(version: AgreementVersion) -> str:
    from django.conf import settings

    return f"{settings.SMARKETING_BASE_URL}/agreement/versions/{version.number}/"


def _managers():
    return (
        get_user_model()._default_manager.filter(is_active=True, groups__name=roles.Role.MANAGER).distinct()
    )


def _notify_waiting(version: AgreementVersion, actor, *, again: bool = False) -> None:
    waiting = waiting_for(version)
    key = f"agreement-{version.number}-{len(version.changes)}"  # once per person and change set
    if again:  # a side that had confirmed is asked again: the note they confirmed changed
        key += f"-note-{zlib.crc32(version.note.encode()):08x}"
    for manager in _managers().exclude(pk=actor.pk):
        if side_of(manager) in waiting:
            notify(
                recipient=manager,
                kind=NotificationKind.AGREEMENT,
                lead=None,
                dedupe_key=key,
                subject=f"Version {version.number} of the agreement waits for your confirmation",
                body=(
                    f"{actor.get_full_name() or actor} changed the proposed version {version.number}: "
                    + "; ".join(change["summary"] for change in version.changes)
                    + f". Until you confirm it, the version in force stays in force.\n{_url(version)}"
                ),
            )


def _notify_in_force(version: AgreementVersion) -> None:
    people = (
        get_user_model()
        ._default_manager.filter(
            is_active=True,
            groups__name__in=[roles.Role.MANAGER, roles.Role.MARKETER, roles.Role.SALES_REP],
        )
        .distinct()
    )
    for person in people:
        notify(
            recipient=person,
            kind=NotificationKind.AGREEMENT,
            lead=None,
            dedupe_key=f"agreement-{version.number}-in-force",
            subject=f"The agreement changed: version {version.number} is in force",
            body=(
                f"{version.note}\n"
                + "\n".join(f"- {change['summary']}" for change in version.changes)
                + f"\n{_url(version)}"
            ),
        )
