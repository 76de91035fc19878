from urllib.parse import urlencode

from django import template

register = template.Library()


@register.filter
def field_label(form, name: str) -> str:
    field = form.fields.get(name)
    return field.label if field is not None and field.label else name.replace("_", " ").capitalize()


@register.filter
def urlencode_dict(params: dict) -> str:
    return urlencode(params)
