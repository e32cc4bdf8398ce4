"""Deny by default: every route declares its access; anonymous users get nothing protected;
roles get only their pages."""

from __future__ import annotations

import re

import pytest

from app.core.access import declared_access
from app.core.permissions import PUBLIC
from tests.helpers import login

PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.second_factor", "auth.set_language",
                    "auth.oidc_login", "auth.oidc_callback",
                    "api_auth.issue_token", "api-docs.openapi_json", "contact.open_link",
                    "contact.send_code", "contact.orientation", "contact.accept_charter",
                    "contact.act", "followup.status", "followup.stop",
                    # one-time links e-mailed to an account's own address, to a structure's
                    # new contact address (review finding 4)
                    "auth.set_password", "directory.confirm_contact",
                    # the accessibility statement RGAA asks for
                    "home.accessibility",
                    # a structure's contact link recording appointments; the person's link of
                    # their appointment reminders (issue 20)
                    "appointments.contact_record", "appointments.contact_attendance",
                    "appointments.contact_end_after_missed", "appointments.person_page"}


def _sample_url(rule) -> str:
    url = rule.rule
    url = re.sub(r"<uuid:[a-z_]+>", "00000000-0000-4000-8000-000000000000", url)
    url = re.sub(r"<path:[a-z_]+>", "css/passerelle.css", url)
    url = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "x", url)
    return url


def test_every_route_declares_its_access(app):
    undeclared = [r.endpoint for r in app.url_map.iter_rules()
                  if declared_access(app, r.endpoint) is None]
    assert not undeclared, f"routes without an access declaration: {undeclared}"


def test_public_routes_are_exactly_the_expected_few(app):
    public = {r.endpoint for r in app.url_map.iter_rules()
              if declared_access(app, r.endpoint) == PUBLIC}
    assert public == PUBLIC_ENDPOINTS


def test_anonymous_users_are_turned_away_everywhere(app, client):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _sample_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = client.open(url, method=method)
            if url.startswith("/api/"):
                assert answer.status_code == 401, (method, url, answer.status_code)
                assert answer.get_json()["error"]["code"] == "unauthenticated"
            elif method == "GET":
                assert answer.status_code == 302, (method, url)
                assert answer.headers["Location"].startswith("/login")
            else:
                # POST without a session: CSRF refuses first, or the guard redirects.
                assert answer.status_code in (302, 400), (method, url, answer.status_code)


ADMIN_PAGES = ["/admin/sites", "/admin/sites/new", "/admin/structures", "/admin/structures/new",
               "/admin/users", "/admin/users/new", "/admin/charter"]


@pytest.mark.parametrize("role", ["accueil", "partenaire", "referent_parcours", "coordinateur"])
def test_admin_pages_are_refused_to_other_roles(client, build, role):
    login(client, build.user(role))
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url


def test_admin_reaches_admin_pages(client, build):
    login(client, build.user("admin"))
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 200, url


def test_unknown_page_is_an_html_404(client, build):
    login(client, build.user("accueil"))
    answer = client.get("/admin/sites/00000000-0000-4000-8000-000000000000")
    assert answer.status_code == 403  # role first
    answer = client.get("/no/such/page")
    assert answer.status_code == 404 and "<html" in answer.get_data(as_text=True)
