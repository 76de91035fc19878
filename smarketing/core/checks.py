"""System checks: settings read from the environment that the app could not work with are
refused when it starts (`manage.py check`, `runserver`, `migrate`), not on the first page."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from smarketing.core import formats

# setting, its test (a problem in words or None), the hint, the check's id
FORMAT_SETTINGS = (
    (
        "SMARKETING_CURRENCY",
        formats.currency_problem,
        "Set SMARKETING_CURRENCY to the organisation's currency, e.g. EUR.",
        "core.E001",
    ),
    (
        "SMARKETING_LOCALE",
        formats.locale_problem,
        "Set SMARKETING_LOCALE to how money, numbers and dates should read, e.g. en or en-GB.",
        "core.E002",
    ),
)


@register()
def formats_check(app_configs=None, **kwargs) -> list[Error]:
    """SMARKETING_CURRENCY is a currency Babel knows, SMARKETING_LOCALE a locale it knows."""
    errors = []
    for name, problem_of, hint, check_id in FORMAT_SETTINGS:
        if problem := problem_of(getattr(settings, name, "")):
            errors.append(Error(f"{name}: {problem}", hint=hint, id=check_id))
    return errors
