"""The production settings with one change for the API benchmark: the URLconf adds the
floor view (bench.floor). Used only by the gunicorn that `bench.api` starts."""

from smarketing.settings.local import *  # noqa: F403

ROOT_URLCONF = "bench.floor"
