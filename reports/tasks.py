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


@shared_task
def reports_rollups_catch_up() -> int:
    """Every half minute: refresh the rollup for the leads changed since (normally a handful;
    after a large import, all of them, in batches), so the dashboard rarely has to."""
    from . import rollups

    if not rollups.supported():
        return 0
    return rollups.catch_up() or 0
