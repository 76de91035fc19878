"""The one style for money, numbers and dates in templates (smarketing/core/formats.py):
`{{ lead.deal_amount|money }}` "€60,000", `{{ n|number }}` "12,500", `{{ r|percent }}`
"25.5 %", `{{ d|day }}` "Thu 03 Dec 2026", `{{ at|moment }}` "Thu 03 Dec 2026 14:30".
An empty value (None, "") shows as nothing, so `|default:"—"` still works after them."""

from __future__ import annotations

from django import template

from smarketing.core import formats

register = template.Library()


def _empty(value) -> bool:
    return value is None or value == ""


@register.filter
def money(amount, currency=None):
    return "" if _empty(amount) else formats.money(amount, currency or None)


@register.filter
def number(value, places=None):
    return "" if _empty(value) else formats.number(value, None if places is None else int(places))


@register.filter
def percent(ratio):
    return "" if _empty(ratio) else formats.percent(ratio)


@register.filter
def day(value):
    return "" if _empty(value) else formats.day(value)


@register.filter
def moment(value):
    return "" if _empty(value) else formats.moment(value)
