"""Gunicorn settings for the Docker image and compose: `gunicorn -c python:clinic.gunicorn_conf
clinic.wsgi`. https://docs.gunicorn.org/en/stable/settings.html"""

import os

from clinic.gunicorn_logging import ACCESS_LOG_FORMAT

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
accesslog = "-"
access_log_format = ACCESS_LOG_FORMAT
logger_class = "clinic.gunicorn_logging.AccessLogger"
# Large uploads (photos) are limited by Django; this keeps slow clients from holding workers.
timeout = 60
