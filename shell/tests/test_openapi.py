"""The OpenAPI document is generated without a warning, valid, and served with its pages offline."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command


def test_the_document_is_generated_valid_and_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn: an undocumented field or an ambiguous type fails CI here
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    document = yaml.safe_load(out.read_text())
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert {"/api/v1/bindings/", "/api/v1/bindings/{id}/", "/api/v1/bindings/{id}/end/"} <= set(
        paths
    )
    # the read endpoints of calls, SMS, statements, the pool and recordings
    assert {
        "/api/v1/calls/",
        "/api/v1/sms/",
        "/api/v1/sms/{id}/",
        "/api/v1/statements/",
        "/api/v1/statements/{id}/",
        "/api/v1/pools/",
        "/api/v1/numbers/",
        "/api/v1/numbers/{id}/",
        "/api/v1/recordings/",
        "/api/v1/recordings/{id}/",
        "/api/v1/recordings/{id}/audio/",
    } <= set(paths)
    audio = paths["/api/v1/recordings/{id}/audio/"]["get"]
    assert "security" not in audio  # the signed URL is the key
    assert paths["/api/v1/recordings/{id}/"]["get"]["security"] == [{"apiKey": []}]
    assert "audio/wav" in audio["responses"]["206"]["content"]
    assert "Idempotency-Key" in {
        p["name"] for p in paths["/api/v1/bindings/"]["post"]["parameters"]
    }
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.embedded
def test_the_document_and_its_pages_are_served_from_here(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/bindings/" in schema.content
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        # offline: every asset from this console, nothing from a CDN or Google Fonts
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        assert all(s.startswith("/") for s in sources), sources
        assert "<script>" not in html  # no inline script: the CSP forbids it
        assert "script-src 'self';" in page["Content-Security-Policy"]
    setup = client.get("/api/docs/?script=")
    assert setup.status_code == 200
    assert b"SwaggerUIBundle" in setup.content
