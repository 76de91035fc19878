"""Who may act on a lead: its owner rep, the rep's manager, marketing while it is a lead.
(Roles themselves live in `smarketing.org.roles`.)"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from leads.models import Lead, Stage
from smarketing.org.roles import Role, has_role, is_admin, is_marketing_side, is_sales_manager, manages

User = AbstractBaseUser | AnonymousUser


def acts_for_owner(user, lead: Lead) -> bool:
    """The assigned rep, the manager of the rep's team, or an admin."""
    if is_admin(user):
        return True
    if lead.owner_id is not None and lead.owner_id == user.pk:
        return True
    return lead.owner is not None and manages(user, lead.owner)


def acts_for_marketing(user, lead: Lead) -> bool:
    """Marketers, marketing managers and admins: marketing owns a lead until hand-off."""
    return is_marketing_side(user)


def may_disqualify(user, lead: Lead) -> bool:
    """Marketing while it is a lead; its rep (or their manager) once sales has it."""
    return is_marketing_side(user) if lead.stage == Stage.LEAD else acts_for_owner(user, lead)


def may_reopen(user, lead: Lead) -> bool:
    return is_marketing_side(user) or has_role(user, Role.MANAGER)


def may_reassign(user, lead: Lead) -> bool:
    """An admin, or the manager of the owner's sales team."""
    return is_admin(user) or (is_sales_manager(user) and lead.owner is not None and manages(user, lead.owner))


def may_merge(user, lead: Lead) -> bool:
    """A merge touches both leads: one sales owns (it has an owner) needs its rep, the
    rep's manager or an admin; one marketing owns, a marketer or a manager."""
    if lead.owner_id is not None:
        return acts_for_owner(user, lead)
    return is_marketing_side(user) or has_role(user, Role.MANAGER)


def can_edit_profile(user, lead: Lead) -> bool:
    if lead.stage in (Stage.LEAD, Stage.DISQUALIFIED):
        return is_marketing_side(user)
    return is_marketing_side(user) or acts_for_owner(user, lead)


# What an event's data says that is contact details or an amount (`sees_contact_details`).
_PRIVATE_DATA = ("amount", "other_email", "filled")
_PRIVATE_CHANGES = ("email", "phone")


def event_data_shown(data: dict, *, private: bool) -> dict:
    """An event's data as a viewer may read it: without amounts, emails and phones where
    their work does not need them (won, merged and updated events carry some)."""
    if not private:
        return data
    shown = {key: value for key, value in data.items() if key not in _PRIVATE_DATA}
    if isinstance(shown.get("changes"), dict):
        shown["changes"] = {k: v for k, v in shown["changes"].items() if k not in _PRIVATE_CHANGES}
    return shown
