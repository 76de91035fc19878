"""Test settings: the base settings with fast hashing and captured email.

Which database and broker the tests use still comes from the environment, so the same
suite runs on the embedded default and, in CI, on PostgreSQL + Redis + a real worker.
"""

from smarketing.settings.base import *  # noqa: F403
from smarketing.settings.base import env

SECRET_KEY = "tests-only-not-a-secret"  # noqa: S105 - the test settings
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run queued tasks in-process; the integration tests start a real worker
# with CELERY_TASK_ALWAYS_EAGER=false against the same database.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Serve static files from the app folders (no collectstatic in tests).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# No persistent connections in tests: threads (live server, races) must not keep a
# connection open past their work, or the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
