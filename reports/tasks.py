from celery import shared_task


@shared_task
def reports_freeze_weeks() -> int:
    """Hourly: freeze each finished week's dashboard figures (once each), for late data."""
    from .snapshots import freeze_finished_weeks

    return freeze_finished_weeks()


@shared_task
def reports_send_digest() -> int:
    """Hourly: send last week's digest once, from Monday 07:00 org time."""
    from .digest import send_weekly_digest

    return send_weekly_digest()
