"""System checks: settings read from the environment that the app could not work with are
refused when it starts (`manage.py check`, `runserver`, `migrate`), not on the first page."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from smarketing.core import formats


@register()
def formats_check(app_configs=None, **kwargs) -> list[Error]:
    """SMARKETING_CURRENCY is a currency Babel knows, SMARKETING_LOCALE a locale it knows."""
    errors = []
    currency = getattr(settings, "SMARKETING_CURRENCY", "")
    if problem := formats.currency_problem(currency):
        errors.append(
            Error(
                f"SMARKETING_CURRENCY: {problem}",
                hint="Set SMARKETING_CURRENCY to the organisation's currency, e.g. EUR.",
                id="core.E001",
            )
        )
    locale = getattr(settings, "SMARKETING_LOCALE", "")
    if problem := formats.locale_problem(locale):
        errors.append(
            Error(
                f"SMARKETING_LOCALE: {problem}",
                hint="Set SMARKETING_LOCALE to how money, numbers and dates should read, e.g. en or en-GB.",
                id="core.E002",
            )
        )
    return errors
