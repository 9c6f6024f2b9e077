"""Every page carries a Content-Security-Policy that allows nothing from elsewhere and nothing
inline (issue 13: there was none). The browser journeys (tests/browser/) run under it and fail on
any console error, a refused script or style included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.parametrize(
    "url",
    [reverse("admin:login"), reverse("home"), reverse("billing:calls"), "/admin/"],
)
def test_pages_carry_a_policy_of_this_origin_only(admin_client, url):
    response = admin_client.get(url)
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no other origin
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["form-action"] == "'self'"


def test_an_empty_setting_sends_no_header(client, settings):
    from console.security import ContentSecurityPolicyMiddleware

    settings.CONTENT_SECURITY_POLICY = ""
    middleware = ContentSecurityPolicyMiddleware(lambda request: client.get("/healthz"))
    assert "Content-Security-Policy" not in middleware(None)


def test_no_template_of_ours_has_an_inline_script_handler_or_style():
    """What the policy would refuse in a browser: inline <script>, on…= handlers, style=."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=\s*[\"']|\sstyle\s*=|<style")
    templates = [
        path
        for path in REPO.glob("**/templates/**/*.html")
        if ".venv" not in path.parts and "node_modules" not in path.parts
    ]
    assert templates
    found = [
        f"{path.relative_to(REPO)}: {match.group()}"
        for path in templates
        for match in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert settings.CONTENT_SECURITY_POLICY
