"""API authentication: DRF's token authentication, with the user's roles in the same read.

DRF reads the token and its user in one query, and the first permission check then reads
the user's roles (groups) in a second. This reads all three in one query, whose SQL is
written once (smarketing.core.rows), and leaves the roles on the user for `smarketing.org.roles`, which
caches them for the request anyway. Same answers, same errors: an unknown token is
"Invalid token.", an inactive user's "User inactive or deleted.".
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from smarketing.core import rows
from smarketing.org.roles import roles_remember

_QUERIES: dict[str, tuple[str, rows.Reader]] = {}


def _query(connection) -> tuple[str, rows.Reader]:
    """The SQL and row reader of the token look-up on this kind of database: one row per
    role of the token's user (one with a NULL role when the user has none)."""
    found = _QUERIES.get(connection.vendor)
    if found is None:
        user_model = get_user_model()
        groups = user_model._meta.get_field("groups")
        q = connection.ops.quote_name
        user_id = q(user_model._meta.pk.column)
        select = [*rows.columns(Token, "t", connection), *rows.columns(user_model, "u", connection)]
        sql = (
            f"SELECT {', '.join(select)}, g.{q('name')} "  # noqa: S608 - names from the models
            f"FROM {q(Token._meta.db_table)} t "
            f"JOIN {q(user_model._meta.db_table)} u ON u.{user_id} = t.{q(Token._meta.get_field('user').column)} "
            f"LEFT JOIN {q(groups.m2m_db_table())} m ON m.{q(groups.m2m_column_name())} = u.{user_id} "
            f"LEFT JOIN {q(Group._meta.db_table)} g ON g.{q(Group._meta.pk.column)} = m.{q(groups.m2m_reverse_name())} "
            f"WHERE t.{q(Token._meta.pk.column)} = %s"
        )  # fmt: skip
        reader = rows.Reader([*rows.fields(Token), *rows.fields(user_model), None], connection)
        found = _QUERIES[connection.vendor] = (sql, reader)
    return found


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`: the token, its user and the user's roles in one read."""

    def authenticate_credentials(self, key):
        user_model = get_user_model()
        using = router.db_for_read(Token)
        connection = connections[using]
        sql, reader = _query(connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            found = cursor.fetchall()
        if not found:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        values = reader(found[0], connection)
        split = len(Token._meta.concrete_fields)
        token = rows.make(Token, values[:split], using)
        user = rows.make(user_model, values[split:-1], using)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token.user = user
        roles_remember(user, [row[-1] for row in found if row[-1] is not None])
        return user, token
