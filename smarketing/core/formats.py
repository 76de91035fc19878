"""How a person reads money, numbers and dates: one style, in one place (decisions.md,
"Screens"). Templates use it through `{% load formats %}` (`|money`, `|number`,
`|percent`, `|day`, `|moment`); messages and notifications call these functions.

- **Money** in the organisation's currency (`SMARKETING_CURRENCY`), with its symbol and
  grouping: "€60,000", and the cents only when there are some: "€60,000.50".
- **Numbers** grouped: "12,500"; **percentages** "25.5 %" (one decimal, none when it is 0).
- **A day** "Thu 03 Dec 2026"; **a moment** "Thu 03 Dec 2026 14:30", in the current time
  zone (the viewer's team's, set by `ViewerTimeZoneMiddleware`; else the organisation's).

Names and separators come from the locale (`SMARKETING_LOCALE`, default LANGUAGE_CODE);
every function takes `locale=` so that a person's own language can be passed later.
CSV files and the API stay machine-readable (plain decimals, ISO dates): not from here.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, get_group_symbol, list_currencies
from django.conf import settings
from django.utils import timezone

DAY = "EEE dd MMM y"  # Thu 03 Dec 2026 (flatpickr's "D d M Y", strftime's "%a %d %b %Y")
MOMENT = "EEE dd MMM y HH:mm"  # Thu 03 Dec 2026 14:30


def locale_code() -> str:
    return getattr(settings, "SMARKETING_LOCALE", "") or settings.LANGUAGE_CODE


def currency_code() -> str:
    return getattr(settings, "SMARKETING_CURRENCY", "") or "EUR"


@lru_cache(maxsize=32)
def parse_locale(code: str) -> Locale:
    """A locale from "en", "en-GB" or "en_GB"; UnknownLocaleError or ValueError when unknown."""
    return Locale.parse(code.replace("-", "_"))


def locale_problem(code: str) -> str | None:
    try:
        parse_locale(code)
    except (UnknownLocaleError, ValueError, TypeError):
        return f"{code!r} is not a locale Babel knows (e.g. 'en', 'en-GB', 'de-DE')."
    return None


def currency_problem(code: str) -> str | None:
    if code not in list_currencies():
        return f"{code!r} is not an ISO 4217 currency code (e.g. 'EUR', 'USD', 'GBP'), in capitals."
    return None


def _locale(locale: str | Locale | None) -> Locale:
    if isinstance(locale, Locale):
        return locale
    return parse_locale(locale or locale_code())


def _decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def money(amount, currency: str | None = None, locale: str | Locale | None = None) -> str:
    """Money: "€60,000" or "€60,000.50", the currency's symbol and the locale's grouping; cents
    only when the amount has some (never rounded away: "€0.05")."""
    loc = _locale(locale)
    value = _decimal(amount)
    currency = currency or currency_code()
    pattern = loc.currency_formats["standard"]
    if value == value.to_integral_value():
        pattern = copy.copy(pattern)
        pattern.frac_prec = (0, 0)
        return pattern.apply(value, loc, currency=currency, currency_digits=False)
    return pattern.apply(value, loc, currency=currency)


@lru_cache(maxsize=32)
def _thousands(loc: Locale) -> str | None:
    """The locale's group separator when it groups by threes (most do; not Hindi's lakhs)."""
    if loc.decimal_formats[None].grouping != (3, 3):
        return None
    return get_group_symbol(loc)


def number(value, places: int | None = None, locale: str | Locale | None = None) -> str:
    """A number grouped: "12,500"; with `places`, that many decimals ("12,500.0" for places=1); else up to
    three, as many as the number has."""
    loc = _locale(locale)
    if places is None and type(value) is int and (group := _thousands(loc)) is not None:
        return f"{value:,}".replace(",", group)  # fast: a dashboard has thousands of cells
    if places is None:
        return format_decimal(_decimal(value), locale=loc)
    return format_decimal(_decimal(value), format="#,##0." + "0" * places if places else "#,##0", locale=loc)


def percent(ratio, locale: str | Locale | None = None) -> str:
    """A ratio as a percentage: 0.255 → "25.5 %", 0.5 → "50 %" (one decimal at most)."""
    return f"{format_decimal(round(_decimal(ratio) * 100, 1), format='#,##0.#', locale=_locale(locale))} %"


def day(value: dt.date | dt.datetime, locale: str | Locale | None = None) -> str:
    """A day: "Thu 03 Dec 2026"; a moment's day in the current time zone."""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    return format_date(value, DAY, locale=_locale(locale))


def moment(value: dt.datetime, locale: str | Locale | None = None) -> str:
    """A moment: "Thu 03 Dec 2026 14:30" in the current time zone (the viewer's)."""
    if not isinstance(value, dt.datetime):
        return day(value, locale)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_datetime(value, MOMENT, tzinfo=value.tzinfo, locale=_locale(locale))
