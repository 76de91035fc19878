# The production image: one image for web, worker and beat (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=smarketing.settings.production
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 smarketing && mkdir -p /app/var && chown smarketing /app/var
USER smarketing
EXPOSE 8000
CMD ["gunicorn", "smarketing.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
