"""Two small helpers every page that calls a service uses: show a refusal on the form,
and run a one-click action then go back with a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.shortcuts import redirect

from smarketing.core.api import STATUS_BY_CODE
from smarketing.core.errors import ActionError


def refusal_status(exc: ActionError) -> int:
    """The status of a page showing a refusal: the API's, except that refused input is 400
    whether malformed or refused by a rule (the form is shown again with its errors)."""
    if exc.code in (ActionError.INVALID, ActionError.MALFORMED):
        return 400
    return STATUS_BY_CODE.get(exc.code, 400)


def show_refusal_at_fields(form, exc: ActionError) -> bool:
    """Put the service's message next to each field it names (keeping what the person
    typed). True when at least one field showed it, so the top need not repeat it."""
    shown = False
    for name, problems in exc.fields.items():
        if name in form.fields:
            if name not in form.errors:
                form.add_error(name, problems[0])
            shown = True
    return shown


def act_then_redirect(request, to: str, action: Callable[[], Any], success: str | Callable[[Any], str]):
    """Run a one-click service action (remove, revoke, …); say what happened — or why
    not — on the page it redirects to."""
    try:
        result = action()
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success(result) if callable(success) else success)
    return redirect(to)
