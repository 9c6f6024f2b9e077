"""factory-boy factories of the kernel's models, and pushes signed as the platform signs them.

One set of factories for the whole suite (issue 18), one module per floor: this one for
applications and platform calls; ``bindings.tests.factories`` for X numbers and bindings;
``billing.tests.factories`` for tariffs and CDRs. An application's APP_Secret is derived from its
APP_Key (:func:`secret_for`), so a test that signs a push, or registers the application on the
simulator, needs only the application.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import factory
from django.utils import timezone

from console.models import Application, PlatformCall
from privatenumber.auth import build_headers

FIXTURES = Path(__file__).resolve().parents[2] / "privatenumber" / "tests" / "fixtures" / "pushes"
FIXTURE_APP_KEY = "a1d1f50cad21415fbdd13d8f53d36d60"  # the appKey inside the fixtures
JSON_TYPE = "application/json;charset=UTF-8"


def secret_for(app_key: str) -> str:
    """The APP_Secret of a test application."""
    return f"secret-of-{app_key}"


class ApplicationFactory(factory.django.DjangoModelFactory):
    """An AXB application whose platform is nowhere (port 9: any call fails at once)."""

    class Meta:
        model = Application
        django_get_or_create = ("app_key",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Application {n}")
    mode = "AXB"
    app_key = factory.Sequence(lambda n: f"testKey{n:025d}")
    base_url = "http://127.0.0.1:9"
    extension_length = factory.LazyAttribute(lambda o: 4 if o.mode == "AXE" else None)

    @factory.post_generation
    def secret(obj, create, extracted, **kwargs):
        obj.set_secret(extracted or secret_for(obj.app_key))
        if create:
            obj.save(update_fields=["app_secret_encrypted"])


class PlatformCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformCall

    application = factory.SubFactory(ApplicationFactory)
    interface = "axb_bind"
    method = "POST"
    http_status = 200
    result_code = "0"
    latency_ms = 12


def load_fixture(name: str, app_key: str | None = None) -> dict[str, Any]:
    """A documented push, its appKeys replaced by ``app_key``."""
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    if app_key:
        data = json.loads(json.dumps(data).replace(FIXTURE_APP_KEY, app_key))
    return copy.deepcopy(data)


def signed(
    application: Application,
    scheme: str = "AKSK",
    *,
    secret: str | None = None,
    created: datetime | None = None,
) -> dict[str, str]:
    """The auth headers the platform sends with a push of ``application``."""
    return build_headers(
        application.app_key,
        secret or secret_for(application.app_key),
        scheme,
        created=created or timezone.now(),
    )


def post_push(client, endpoint: str, body: bytes | dict, application: Application, **signing):
    """POST a push to ``/hooks/<endpoint>`` signed like the platform does."""
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False).encode()
    return client.post(
        f"/hooks/{endpoint}",
        data=body,
        content_type=JSON_TYPE,
        headers=signed(application, **signing),
    )
