"""A developer's machine and the embedded default (`python3 scripts/dev.py run`): the
base settings with a development secret key. Nothing else differs: with no variable set
this is SQLite in ./var and Celery on kombu's filesystem transport, no server needed."""

from smarketing.settings.base import *  # noqa: F403
from smarketing.settings.base import env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-dev-key-change-me-in-production-0123456789")

# Static files straight from the app folders (no collectstatic, no hashing or compression on
# first run: that is seconds, the manifest build minutes); production.py keeps the manifest.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
