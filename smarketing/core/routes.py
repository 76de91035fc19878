"""How an id appears in an address: digits only, at most 18 of them.

Django's `<id:...>` takes any run of digits, so `/leads/99999999999999999999/` reaches a
query and fails in the database (a 500) instead of being an address that names nothing. An
id of at most 18 digits always fits the 64-bit columns; a longer one does not match, so the
answer is the ordinary 404. Pages write `<id:lead_id>` (smarketing/urls.py registers the
converter); API viewsets use `IdRouter`.
"""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

ID_PATTERN = "[0-9]{1,18}"


class IdConverter:
    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


class IdRouter(SimpleRouter):
    """A SimpleRouter whose detail addresses take an id as `IdConverter` does."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        name = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        value = getattr(viewset, "lookup_value_regex", ID_PATTERN)
        return f"(?P<{lookup_prefix}{name}>{value})"
