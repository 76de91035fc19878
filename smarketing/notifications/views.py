"""The in-app inbox page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from smarketing.core.errors import ActionError
from smarketing.notifications import services

# --- inbox and my hand-offs ---------------------------------------------------------------------------


@login_required
def inbox(request):
    rows = request.user.notifications.select_related("lead").order_by("-created_at", "-id")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page})


@login_required
@require_POST
def inbox_read(request, notification_id: int | None = None):
    try:
        if notification_id is None:
            count = services.notifications_mark_all_read(user=request.user)
            messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
        else:
            services.notification_mark_read(user=request.user, notification_id=notification_id)
    except ActionError as exc:
        raise Http404(exc.message) from None
    return redirect("inbox")
