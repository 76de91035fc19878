"""Template tags every page uses: durations, relative times, dictionary look-ups, selects."""

from __future__ import annotations

import datetime as dt

from django import forms, template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


def span(delta: dt.timedelta) -> str:
    """'2 d 3 h', '2 h 10 m', '35 m', '20 s'."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} m"
    if minutes:
        return f"{minutes} m"
    return f"{secs} s"


@register.filter
def ago(moment):
    if not moment:
        return ""
    return f"{span(timezone.now() - moment)} ago"


@register.filter
def get_item(mapping, key):
    """`{{ labels|get_item:code }}`: a dict lookup with a variable key."""
    return mapping.get(key, key) if hasattr(mapping, "get") else key


@register.simple_tag
def checklist(field, label: str, anything: str) -> str:
    """A multiple choice as checkboxes in a drop-down (<details>): chosen with a plain click,
    no modifier key, on a phone too. The summary names what is chosen, or `anything`."""
    chosen = {str(v) for v in (field.value() or [])}
    choices = [(str(value), str(text)) for value, text in field.field.choices if str(value) != ""]
    picked = [text for value, text in choices if value in chosen]
    boxes = "".join(
        f'<label class="check"><input type="checkbox" name="{escape(field.html_name)}" value="{escape(value)}"'
        f"{' checked' if value in chosen else ''}> {escape(text)}</label>"
        for value, text in choices
    )
    summary = escape(", ".join(picked) if picked else anything)
    if field.errors:  # each box says it is in error, and where the message is (as `select` does)
        invalid = f' aria-invalid="true" aria-describedby="{escape(field.auto_id)}_error"'
        boxes = boxes.replace('type="checkbox"', f'type="checkbox"{invalid}')
    return mark_safe(  # noqa: S308 - every value above is escaped
        f'<fieldset class="field checklist"><legend>{escape(label)}</legend>'
        f'<details><summary>{summary}</summary><div class="checks">{boxes}</div></details></fieldset>'
    )


@register.simple_tag
def select(field) -> str:
    """A bound form field's <select> (single or multiple), as its widget would render it
    (id, name, the chosen options selected), without a template per option. A widget
    with its own render() (e.g. a yes/no that maps its value first) renders itself."""
    widget = field.field.widget
    if type(widget).render is not forms.Widget.render:
        return str(field)
    attrs = field.build_widget_attrs({})
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)
    attrs = "".join(
        f" {name}" if value is True else f' {name}="{escape(value)}"'
        for name, value in context["widget"]["attrs"].items()
        if value is not False and value is not None
    )
    html = [f'<select name="{escape(field.html_name)}"{attrs}>']
    for group, options, _ in context["widget"]["optgroups"]:
        if group:
            html.append(f'<optgroup label="{escape(group)}">')
        for option in options:
            selected = " selected" if option["selected"] else ""
            html.append(
                f'<option value="{escape(option["value"])}"{selected}>{escape(option["label"])}</option>'
            )
        if group:
            html.append("</optgroup>")
    html.append("</select>")
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped
