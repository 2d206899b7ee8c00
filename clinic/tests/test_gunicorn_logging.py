"""Gunicorn's access log, formatted by our configuration, for the requests that carry patient
data in their URL: a search and a patient's link."""

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from clinic import gunicorn_conf
from clinic.gunicorn_logging import AccessLogger


@pytest.fixture
def access_log(caplog):
    cfg = Config()
    for name in ("accesslog", "access_log_format", "logger_class"):
        cfg.set(name, getattr(gunicorn_conf, name))
    logger = cfg.logger_class(cfg)
    assert isinstance(logger, AccessLogger)

    def log(method, raw_uri, *, referer=""):
        path, _, query = raw_uri.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "RAW_URI": raw_uri,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "10.0.0.7",
            "HTTP_REFERER": referer,
        }
        request = SimpleNamespace(headers=[("REFERER", referer), ("HOST", "clinic.example")])
        response = SimpleNamespace(status="200 OK", sent=1234, headers=[])
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="gunicorn.access"):
            logger.access(response, request, environ, timedelta(milliseconds=42))
        return caplog.records[-1].getMessage()

    return log


def test_a_search_is_logged_without_its_query(access_log):
    line = access_log("GET", "/patients/?q=Nora+Quinn&phone=07700900123")
    assert '"GET /patients/" 200 1234 42ms' in line
    assert "Nora" not in line and "07700900123" not in line and "q=" not in line


def test_a_patient_link_is_logged_without_its_token(access_log):
    line = access_log(
        "POST", "/r/AbC123xyz-token/confirm/", referer="https://clinic.example/r/AbC123xyz-token/"
    )
    assert '"POST /r/<token>/confirm/" 200' in line
    assert "AbC123xyz" not in line


def test_a_password_reset_link_is_logged_without_its_token(access_log):
    line = access_log("GET", "/accounts/reset/MQ/c4x9-3a8f1b2c/")
    assert '"GET /accounts/reset/<uid>/<token>/"' in line
    assert "c4x9" not in line
