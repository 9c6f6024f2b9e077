"""A property-based run against the OpenAPI document (schemathesis): requests generated from the
schema, valid and invalid, with a key holding every scope, never get a 500 or an answer that
breaks the document."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from console import apikeys
from console.choices import ApiScope
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def api_schema(db, settings):
    settings.API_CREATE_MAX_WAIT = 0  # no worker here: never wait for one
    settings.API_RATE_PER_MINUTE = 10**6
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = get_wsgi_application()
    return schema


@pytest.fixture
def token(db):
    application = ApplicationFactory(mode="AXB")
    _key, token = apikeys.create_key(
        "schemathesis", applications=[application], scopes=ApiScope.values
    )
    return token


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_request_gets_a_500_or_an_answer_outside_the_document(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
