"""Changing the agreement: who may, and the audit line every change writes.

Every part of the agreement — scoring, the hand-off gate, reasons, routing, SLA policies,
team calendars, marketing's commitment, versions themselves — is changed by a service of
the app that keeps it, and each of those services checks its actor and records the change
here: `require_manager` and `agreement_change_record` are the one place for both.
"""

from __future__ import annotations

from typing import Any

from smarketing.agreement.models import AgreementChange
from smarketing.core.errors import ActionError
from smarketing.org import roles


def require_manager(actor, what: str) -> None:
    """Managers (sales or marketing) and admins change the agreement; anyone else is told."""
    if not roles.can_edit_agreement(actor):
        raise ActionError(f"Only a manager can change {what}.", code=ActionError.FORBIDDEN)


def agreement_change_record(
    *, area: str, actor, summary: str, before: Any = None, after: Any = None
) -> AgreementChange:
    """The audit line of one change to the agreement: which part (`area`), who, when, in
    words, and the values before and after (JSON; None where there were none)."""
    return AgreementChange.objects.create(
        area=area, summary=summary[:300], actor=actor, before=before, after=after
    )
