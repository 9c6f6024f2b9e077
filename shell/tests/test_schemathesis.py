"""A property-based run against the OpenAPI document (schemathesis): requests generated from the
schema, valid and invalid, with a key holding every scope, never get a 500 or an answer that
breaks the document."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from bindings.models import XNumber
from console import apikeys
from console.choices import ApiScope
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]
EXAMPLES = 40  # per operation


@pytest.fixture
def keep_connection():
    """As Django's test client does: a request must not close the test's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_no_request_gets_a_500_or_an_answer_outside_the_document(settings, keep_connection):
    # given: a key with every scope on an application with a pool; no worker (never wait)
    settings.API_CREATE_MAX_WAIT = 0
    settings.API_RATE_PER_MINUTE = 10**6
    application = ApplicationFactory(mode="AXB")
    XNumber.objects.bulk_create(
        XNumber(application=application, number=f"+8617000{i:06d}", city_code="0755")
        for i in range(20)
    )
    # and a row behind each read endpoint: a call with its recording, an SMS, a statement
    from datetime import date

    from billing import services as billing_services
    from billing.models import SmsRecord
    from recordings.tests.factories import make_recording

    make_recording(application, talk=20)
    SmsRecord.objects.create(
        application=application,
        sms_identifier="sms-1",
        notification_mode="Notify",
        calling="+8613700001234",
        called="+8613800000021",
        virtual_number="+8617000000001",
        event="Text SMS",
        time_stamp=timezone.now(),
        content="hello",
    )
    billing_services.refresh_statement(application, date(2026, 3, 1))
    _key, token = apikeys.create_key(
        "schemathesis", applications=[application], scopes=ApiScope.values
    )
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = get_wsgi_application()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    # when / then: each operation, valid and invalid requests alike
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, response_schema_conformance],
            )
            statuses.append(response.status_code)

        check()
    # the run was real: many requests, answered with successes and refusals alike
    assert len(statuses) > 3 * len(operations)
    assert 200 in statuses
    assert {400, 404} <= set(statuses)
