"""Finding 8 of issue 23: the access log must not hold the secrets that travel in paths (a
contact link's token, the token of the link that stops follow-up messages)."""

from __future__ import annotations

import runpy
import secrets
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from app.core.http import redact_path

ROOT = Path(__file__).resolve().parents[2]
CONTACT = "Zq3xV_8kL0pT-4mNw9bYc2RdFh6JsAeGu1iOoPlKxEy"  # 43 characters, like new_secret_token()
STOP = "k9Xc2mQ_pLw8-rT4vB1nZa"                         # 22 characters, like a stop token


@pytest.mark.parametrize("path, expected", [
    (f"/contact/{CONTACT}", "/contact/<token>"),
    (f"/contact/{CONTACT}/code", "/contact/<token>/code"),
    (f"/contact/{CONTACT}/act/take-charge", "/contact/<token>/act/take-charge"),
    (f"/suivi/stop/{STOP}", "/suivi/stop/<token>"),
    ("/contact/short", "/contact/<token>"),
    (f"/some/future/route/{CONTACT}", "/some/future/route/<token>"),
    (f"/account/set-password/{CONTACT}", "/account/set-password/<token>"),
    (f"/structures/contact-address/{CONTACT}", "/structures/contact-address/<token>"),
    ("/orientations/0b8c1c7e-9d3f-4a59-8a35-2f0f7d1c2e44", "/orientations/0b8c1c7e-9d3f-4a59-8a35-2f0f7d1c2e44"),
    ("/suivi", "/suivi"),
    ("/static/app.css", "/static/app.css"),
])
def test_secret_segments_are_replaced(path, expected):
    assert redact_path(path) == expected


def _access_line(tmp_path, path: str) -> str:
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    log_file = tmp_path / "access.log"
    config.set("accesslog", str(log_file))
    config.set("access_log_format", settings["access_log_format"])
    logger = settings["logger_class"](config)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path,
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.5",
               "HTTP_REFERER": f"https://passerelle.test{path}"}
    response = SimpleNamespace(status="200 OK", headers=[], sent=12)
    request = SimpleNamespace(headers=[("REFERER", f"https://passerelle.test{path}")])
    logger.access(response, request, environ, timedelta(milliseconds=3))
    for handler in logger.access_log.handlers:
        handler.flush()
    return log_file.read_text()


@pytest.mark.parametrize("path", [f"/contact/{CONTACT}", f"/contact/{CONTACT}/orientation",
                                  f"/suivi/stop/{STOP}"])
def test_gunicorns_access_log_writes_the_route_not_the_token(tmp_path, path):
    line = _access_line(tmp_path, path)
    assert "GET" in line and "<token>" in line and "203.0.113.5" in line
    assert CONTACT not in line and STOP not in line


def test_every_route_with_a_token_is_redacted(app):
    """Whatever route carries a ``<token>``, now or later, its access-log line holds none."""
    rules = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert len(rules) >= 3
    for rule in rules:
        for token in (CONTACT, STOP, secrets.token_urlsafe(32)):
            values = {name: "x" for name in rule.arguments} | {"token": token}
            path = rule.build(values, append_unknown=False)[1]
            assert token not in redact_path(path), rule.rule
