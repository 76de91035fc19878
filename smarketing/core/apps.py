from pathlib import Path

from django.apps import AppConfig
from django.conf import settings

from smarketing.core import checks  # noqa: F401 - registers the system checks (formats' settings)


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "smarketing.core"
    label = "core"
    verbose_name = "The shared kernel"

    def ready(self) -> None:
        embedded_folders_make()


def embedded_folders_make() -> None:
    """The folders the embedded default keeps its state in — the SQLite file's, the
    filesystem broker's, beat's schedule's — made when the apps load (importing settings
    only reads). Nothing is made for a PostgreSQL database or a Redis broker."""
    folders = [Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folders += [Path(database["NAME"]).parent, Path(database.get("TEST", {}).get("NAME") or ".").parent]
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    folders += [
        Path(options[key])
        for key in ("data_folder_in", "data_folder_out", "control_folder")
        if key in options
    ]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
