"""The viewer's roles, for every template (menus show what a role may do; the server checks again)."""

from smarketing.org.roles import Role, can_import, role_names


def roles(request):
    """The viewer's roles, for navigation. Authorization itself is checked in views."""
    names = role_names(request.user)
    return {
        "viewer_roles": names,
        "is_marketer": Role.MARKETER in names,
        "is_rep": Role.SALES_REP in names,
        "is_manager": Role.MANAGER in names,
        "is_admin_role": Role.ADMIN in names,
        "may_import": bool(names) and can_import(request.user),
    }
