"""Who may do what. Roles are Django groups (created by migration 0002); ownership and
team boundaries are checked here, on the server, for every action."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from smarketing.org.models import TeamKind


class Role(models.TextChoices):
    MARKETER = "Marketer", "Marketer"
    SALES_REP = "Sales rep", "Sales rep"
    MANAGER = "Manager", "Manager"
    ADMIN = "Admin", "Admin"


User = AbstractBaseUser | AnonymousUser


def role_names(user) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_smarketing_roles", None)
    if cached is None:
        roles_remember(user, user.groups.values_list("name", flat=True))
        cached = user._smarketing_roles
    return cached


def roles_remember(user, group_names) -> None:
    """Keep the role names a read of the user brought along (the API's token look-up), so
    that `role_names` does not ask again during the request."""
    names = frozenset(group_names)
    if user.is_superuser:
        names |= {Role.ADMIN}
    user._smarketing_roles = names


def has_role(user, *roles: str) -> bool:
    return bool(role_names(user) & set(roles))


def is_admin(user) -> bool:
    return has_role(user, Role.ADMIN)


def team_of(user):
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    return membership.team if membership else None


def team_kind_of(user) -> str | None:
    team = team_of(user)
    return team.kind if team else None


def manages(manager, user) -> bool:
    """True when `manager` manages the team `user` belongs to (or is an admin)."""
    if manager is None or not manager.is_authenticated:
        return False
    if is_admin(manager):
        return True
    if user is None or not has_role(manager, Role.MANAGER):
        return False
    team = team_of(user)
    return team is not None and team.manager_id == manager.pk


def is_marketing_side(user) -> bool:
    """Marketers, marketing managers and admins act for marketing."""
    if is_admin(user) or has_role(user, Role.MARKETER):
        return True
    return has_role(user, Role.MANAGER) and team_kind_of(user) == TeamKind.MARKETING


def is_sales_manager(user) -> bool:
    return has_role(user, Role.MANAGER) and team_kind_of(user) == TeamKind.SALES


def is_active_sales_rep(user) -> bool:
    return user.is_active and has_role(user, Role.SALES_REP) and team_kind_of(user) == TeamKind.SALES


def can_edit_agreement(user) -> bool:
    """Managers (sales or marketing) and admins set scoring, the hand-off gate and routing."""
    return bool(user is not None and user.is_authenticated and has_role(user, Role.MANAGER, Role.ADMIN))


def can_import(user) -> bool:
    return is_marketing_side(user)


def can_migrate(user) -> bool:
    """Bringing a team's history from another CRM (stages, owners, back-dated events) is
    for managers, sales or marketing, and admins (docs/migration.md)."""
    return bool(user is not None and user.is_authenticated and has_role(user, Role.MANAGER, Role.ADMIN))


def has_product_role(user) -> bool:
    """A Marketer, Sales rep, Manager or Admin: someone whose work is the funnel (any
    other employee refers leads and reads where they are)."""
    return bool(role_names(user))


def sees_contact_details(user, lead) -> bool:
    """Contact details (email, phone) and amounts are shown where the work needs them:
    to marketing, sales and managers, and to an employee for the leads they referred.
    Everyone reads where a lead is (stage, owner, dates): the closed loop."""
    return has_product_role(user) or (getattr(user, "pk", None) is not None and lead.referrer_id == user.pk)


def may_manage_privacy(user) -> bool:
    """A person's data exported or erased, the retention policy (docs/privacy.md): managers
    of either side and admins."""
    return is_admin(user) or has_role(user, Role.MANAGER)
