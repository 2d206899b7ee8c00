# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DEBUG=false

# WeasyPrint (the patient copy PDF) renders with Pango and the system's fonts; nothing is fetched.
# pg_dump/pg_restore for `manage.py backup` and `restore` on PostgreSQL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings but no secrets or database.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 mesotrack \
    && mkdir -p /app/var/media && chown -R mesotrack /app/var

USER mesotrack
EXPOSE 8000
# The access log leaves out query strings and patient-link tokens (clinic/gunicorn_logging.py).
CMD ["gunicorn", "-c", "python:clinic.gunicorn_conf", "clinic.wsgi"]
